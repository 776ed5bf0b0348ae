"""Keras-parity extras: Adam's amsgrad, Dropout's noise_shape, label smoothing, the penalties in
evaluate's loss and weighted_metrics; each against the NumPy reference backend or numbers
computed by hand from Keras's formulas."""
import numpy as np
import pytest

import nerve
from nerve import layers, losses, optimizers, saving


def dense_model(units=1, activation=None, seed=0, **dense):
    nerve.utils.set_random_seed(seed)
    return nerve.Sequential([layers.Input(shape=(3,)), layers.Dense(4, activation="tanh", **dense),
                             layers.Dense(units, activation=activation)])


def regression_data(rows=40, seed=1):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(rows, 3)).astype(np.float32)
    return x, (x @ np.array([[1.0], [-2.0], [0.5]]) + 0.3).astype(np.float32)


# ---- Adam / AdamW amsgrad ---------------------------------------------------------------------

@pytest.mark.parametrize("cls", [optimizers.Adam, optimizers.AdamW])
def test_amsgrad_config_round_trip(cls):
    optimizer = cls(learning_rate=0.01, amsgrad=True)
    config = optimizer.get_config()
    assert config["amsgrad"] is True
    again = cls.from_config(config)
    assert again.amsgrad and again._slot_names()[-1] == "velocity_hat"
    assert optimizers.get(optimizers.serialize(optimizer)).amsgrad
    assert cls().get_config()["amsgrad"] is False


def test_amsgrad_argument_is_checked():
    with pytest.raises(TypeError, match="amsgrad: expected True or False, received 'yes'"):
        optimizers.Adam(amsgrad="yes")


@pytest.mark.parametrize("cls", [optimizers.Adam, optimizers.AdamW])
def test_amsgrad_training_matches_reference_and_differs_from_adam(cls):
    x, y = regression_data()
    results = {}
    for backend in ("cpp", "numpy"):
        for amsgrad in (False, True):
            model = dense_model()
            model.compile(optimizer=cls(learning_rate=0.05, beta_2=0.9, amsgrad=amsgrad),
                          loss="mse")
            with nerve.use_backend(backend):
                model.fit(x, y, batch_size=8, epochs=3, shuffle=False, verbose=0)
            results[backend, amsgrad] = model.get_weights()
    for amsgrad in (False, True):
        for a, b in zip(results["cpp", amsgrad], results["numpy", amsgrad]):
            np.testing.assert_allclose(a, b, rtol=2e-4, atol=2e-5)
    assert not np.allclose(results["cpp", True][0], results["cpp", False][0])


def test_amsgrad_state_has_velocity_hat_and_survives_saving(tmp_path):
    x, y = regression_data()
    model = dense_model()
    model.compile(optimizer=optimizers.Adam(learning_rate=0.05, amsgrad=True), loss="mse")
    model.fit(x, y, batch_size=8, epochs=2, verbose=0)
    state = model.optimizer.get_state()
    assert len(state) == 4  # iterations, momentum, velocity, velocity_hat
    velocity, velocity_hat = state[2], state[3]
    assert (velocity_hat >= velocity).all() and (velocity_hat > velocity).any()
    saving.save_model(model, tmp_path / "m.nerve")
    loaded = saving.load_model(tmp_path / "m.nerve")
    assert loaded.optimizer.amsgrad
    for a, b in zip(loaded.optimizer.get_state(), state):
        np.testing.assert_array_equal(a, b)
    # Training on continues identically from the restored v_hat.
    model.fit(x, y, batch_size=8, epochs=1, shuffle=False, verbose=0)
    loaded.fit(x, y, batch_size=8, epochs=1, shuffle=False, verbose=0)
    for a, b in zip(loaded.get_weights(), model.get_weights()):
        np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError, match="expected 4 arrays"):
        loaded.optimizer.set_state(state[:3])


# ---- Dropout noise_shape ----------------------------------------------------------------------

def dropout_model(noise_shape, shape=(5, 6), seed=3):
    return nerve.Sequential([layers.Input(shape=shape),
                             layers.Dropout(0.5, noise_shape=noise_shape, seed=seed)])


@pytest.mark.parametrize("backend", ["cpp", "numpy"])
def test_noise_shape_shares_the_mask_over_axes_of_size_one(backend):
    x = np.arange(1, 8 * 5 * 6 + 1, dtype=np.float32).reshape(8, 5, 6)
    with nerve.use_backend(backend):
        y = np.asarray(dropout_model((None, 1, 6))(x, training=True))
    kept = y != 0
    np.testing.assert_array_equal(y[kept], 2 * x[kept])  # scaled by 1 / (1 - rate)
    # One mask per sample and feature, the same at every timestep.
    assert (kept == kept[:, :1, :]).all()
    assert 0 < kept[:, 0, :].mean() < 1 and not (kept[0, 0] == kept[1:, 0]).all()


def test_noise_shape_with_a_batch_entry_of_one_drops_the_same_everywhere_in_the_batch():
    x = np.ones((16, 5, 6), np.float32)
    y = np.asarray(dropout_model((1, None, None))(x, training=True))
    assert (y == y[:1]).all() and set(np.unique(y)) == {0.0, 2.0}


def test_noise_shape_gradient_uses_the_broadcast_mask():
    # d sum(Dense(Dropout(x))) / d kernel = sum over rows of the dropped, scaled inputs.
    nerve.utils.set_random_seed(0)
    model = nerve.Sequential([layers.Input(shape=(6,)),
                              layers.Dropout(0.5, noise_shape=(1, None), seed=11),
                              layers.Dense(1, use_bias=False, kernel_initializer="zeros")])
    model.compile(optimizer=optimizers.SGD(learning_rate=1.0), loss="mae")
    x = np.ones((4, 6), np.float32)
    model.fit(x, np.full((4, 1), 10.0, np.float32), batch_size=4, verbose=0)
    kernel = model.get_weights()[0][:, 0]
    # mae's gradient is -1/rows per row here; each feature kept in every row or in none.
    assert set(np.round(kernel, 6)) <= {0.0, 2.0} and 0 < (kernel != 0).sum() < 6


def test_noise_shape_config_and_checks():
    layer = layers.Dropout(0.2, noise_shape=[None, 1, 4])
    assert layer.get_config()["noise_shape"] == (None, 1, 4)
    assert layers.Dropout.from_config(layer.get_config()).noise_shape == (None, 1, 4)
    with pytest.raises(ValueError, match="noise_shape: expected a tuple of ints >= 1"):
        layers.Dropout(0.2, noise_shape=(None, 0))
    with pytest.raises(ValueError, match=r"noise_shape: expected 3 entries"):
        dropout_model((None, 6))
    with pytest.raises(ValueError, match=r"noise_shape: each entry must be None, 1 or"):
        dropout_model((None, 2, 6))
    assert dropout_model((None, 1, 6)).predict(np.ones((2, 5, 6)), verbose=0).shape == (2, 5, 6)


# ---- regularization penalties in evaluate's loss ----------------------------------------------

def regularized_model():
    model = dense_model(kernel_regularizer=nerve.regularizers.L2(0.05),
                        bias_regularizer=nerve.regularizers.L1(0.02))
    model.compile(optimizer="sgd", loss="mse", metrics=["mse"])
    return model


def hand_penalty(model):
    kernel, bias = model.layers[0].get_weights()
    return 0.05 * float((kernel.astype(np.float64) ** 2).sum()) + 0.02 * float(
        np.abs(bias.astype(np.float64)).sum())


@pytest.mark.parametrize("backend", ["cpp", "numpy"])
def test_evaluate_adds_the_penalty_to_the_loss(backend):
    x, y = regression_data()
    model = regularized_model()
    with nerve.use_backend(backend):
        model.fit(x, y, epochs=2, verbose=0)
        loss, mse = model.evaluate(x, y, batch_size=7, verbose=0)
        single = model.test_on_batch(x, y)
    assert loss == pytest.approx(mse + hand_penalty(model), rel=1e-6)
    assert hand_penalty(model) > 0.01 and single[0] == pytest.approx(loss, rel=1e-6)


def test_val_loss_includes_the_penalty_as_the_training_loss_does():
    x, y = regression_data()
    model = regularized_model()
    history = model.fit(x, y, epochs=1, batch_size=40, validation_data=(x, y), verbose=0).history
    assert history["val_loss"][0] == pytest.approx(history["val_mse"][0] + hand_penalty(model),
                                                   rel=1e-6)
    # One full batch: the training loss was taken at the weights before the step.
    assert history["loss"][0] > history["mse"][0]


# ---- label smoothing ------------------------------------------------------------------------

def test_binary_label_smoothing_is_keras_formula():
    y = np.array([[1.0], [0.0], [1.0], [0.0]])
    p = np.array([[0.9], [0.2], [0.4], [0.7]])
    smooth = y * 0.8 + 0.5 * 0.2
    expected = -np.mean(smooth * np.log(p) + (1 - smooth) * np.log(1 - p))
    loss = losses.BinaryCrossentropy(label_smoothing=0.2)
    for backend in ("cpp", "numpy"):
        with nerve.use_backend(backend):
            assert loss(y, p) == pytest.approx(expected, rel=1e-12)
    logits = np.log(p / (1 - p))
    assert losses.BinaryCrossentropy(from_logits=True, label_smoothing=0.2)(y, logits) == \
        pytest.approx(expected, rel=1e-9)


def test_categorical_label_smoothing_spreads_over_the_classes():
    y = np.eye(3)[[0, 2, 1]]
    p = np.array([[0.7, 0.2, 0.1], [0.1, 0.3, 0.6], [0.25, 0.5, 0.25]])
    smooth = y * 0.9 + 0.1 / 3
    expected = -np.mean((smooth * np.log(p)).sum(axis=1))
    assert losses.CategoricalCrossentropy(label_smoothing=0.1)(y, p) == pytest.approx(
        expected, rel=1e-12)
    assert losses.CategoricalCrossentropy()(y, p) == pytest.approx(
        -np.mean((y * np.log(p)).sum(axis=1)), rel=1e-12)


def test_label_smoothing_config_and_checks():
    loss = losses.CategoricalCrossentropy(from_logits=True, label_smoothing=0.3)
    assert loss.get_config() == {"name": "categorical_crossentropy", "from_logits": True,
                                 "label_smoothing": 0.3}
    again = losses.get(losses.serialize(loss))
    assert again.label_smoothing == 0.3 and again.from_logits
    with pytest.raises(ValueError, match=r"label_smoothing: expected a number in \[0, 1\], "
                                         r"received 1.5"):
        losses.BinaryCrossentropy(label_smoothing=1.5)


def classification_data(rows=48, classes=3, seed=2):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(rows, 3)).astype(np.float32)
    labels = (x[:, 0] > 0).astype(int) + (x[:, 1] > 0.5).astype(int)
    return x, np.eye(classes, dtype=np.float32)[labels]


@pytest.mark.parametrize("generator", [False, True])
def test_a_model_trains_on_smoothed_targets_but_scores_the_given_labels(generator):
    x, y = classification_data()
    smoothed_model = dense_model(units=3, activation="softmax", seed=4)
    smoothed_model.compile(optimizer="adam", metrics=["accuracy"],
                           loss=losses.CategoricalCrossentropy(label_smoothing=0.2))
    plain = dense_model(units=3, activation="softmax", seed=4)
    plain.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
    data = (iter([(x[s:s + 16], y[s:s + 16]) for s in range(0, 48, 16)] * 2),) if generator \
        else (x, y)
    history = smoothed_model.fit(*data, batch_size=16, epochs=2, steps_per_epoch=3,
                                 shuffle=False, verbose=0).history
    reference = plain.fit(x, y * 0.8 + 0.2 / 3, batch_size=16, epochs=2, shuffle=False,
                          verbose=0).history
    np.testing.assert_allclose(history["loss"], reference["loss"], rtol=1e-6)
    for a, b in zip(smoothed_model.get_weights(), plain.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-7)
    loss, accuracy = smoothed_model.evaluate(x, y, verbose=0)
    predicted = smoothed_model.predict(x, verbose=0)
    assert accuracy == pytest.approx(np.mean(predicted.argmax(1) == y.argmax(1)))
    assert loss == pytest.approx(losses.CategoricalCrossentropy(label_smoothing=0.2)(
        y, predicted), rel=1e-5)


@pytest.mark.parametrize("generator", [False, True])
def test_metrics_see_the_given_labels_not_the_smoothed_ones(generator):
    # Smoothed binary labels are 0.9 / 0.1: binary accuracy against them would be 0.
    x, y = regression_data(rows=64)
    y = (y > 0.3).astype(np.float32)
    model = dense_model(activation="sigmoid")
    model.compile(optimizer="adam", metrics=["accuracy"],
                  loss=losses.BinaryCrossentropy(label_smoothing=0.2))
    data = (iter([(x[s:s + 16], y[s:s + 16]) for s in range(0, 64, 16)] * 3),) if generator \
        else (x, y)
    history = model.fit(*data, batch_size=16, steps_per_epoch=4, epochs=3, verbose=0).history
    assert min(history["accuracy"]) > 0.4
    _, accuracy = model.evaluate(x, y, verbose=0)
    assert accuracy == pytest.approx(np.mean((model.predict(x, verbose=0) > 0.5) == y))
    assert model.train_on_batch(x, y)[1] > 0.4


# ---- weighted_metrics -------------------------------------------------------------------------

def weighted_data(rows=40, seed=3):
    x, y = regression_data(rows, seed)
    weights = np.random.default_rng(seed).uniform(0.1, 3.0, rows).astype(np.float32)
    return x, y, weights


def test_weighted_metrics_get_the_sample_weights_and_metrics_do_not():
    x, y, w = weighted_data()
    model = dense_model()
    model.compile(optimizer="sgd", loss="mse", metrics=["mae", "mae"],
                  weighted_metrics=["mae", "mse", "mae"])
    names = ["mae", "mae_1", "weighted_mae", "mse", "weighted_mae_1"]  # Keras's naming
    assert model.metrics_names == ["loss"] + names
    for backend in ("cpp", "numpy"):
        with nerve.use_backend(backend):
            logs = model.evaluate(x, y, sample_weight=w, batch_size=7, return_dict=True,
                                  verbose=0)
            values = model.evaluate(x, y, sample_weight=w, verbose=0)
        error = (model.predict(x, verbose=0) - y)[:, 0].astype(np.float64)
        plain, weighted = np.abs(error).mean(), np.dot(w, np.abs(error)) / w.sum()
        assert sorted(logs) == sorted(["loss"] + names)
        assert logs["mae"] == logs["mae_1"] == pytest.approx(plain, rel=1e-5)
        assert logs["weighted_mae"] == logs["weighted_mae_1"] == pytest.approx(weighted, rel=1e-5)
        assert logs["mse"] == pytest.approx(np.dot(w, error ** 2) / w.sum(), rel=1e-5)
        assert logs["loss"] == pytest.approx(np.dot(w, error ** 2) / len(w), rel=1e-5)
        assert values == pytest.approx([logs[n] for n in ["loss"] + names], rel=1e-6)


def test_weighted_accuracy_takes_the_class_weights():
    x, y, _ = weighted_data(seed=4)  # classes predicted 70% and 90% right
    y = (y > 0.3).astype(np.float32)
    model = dense_model(activation="sigmoid")
    model.compile(optimizer="sgd", loss="binary_crossentropy", metrics=["accuracy"],
                  weighted_metrics=["accuracy"])
    hits = ((model.predict(x, verbose=0) > 0.5) == y)[:, 0]
    class_weight = {0: 1.0, 1: 9.0}
    w = np.where(y[:, 0] > 0.5, 9.0, 1.0)
    logs = model.train_on_batch(x, y, class_weight=class_weight, return_dict=True)
    assert logs["accuracy"] == pytest.approx(hits.mean())
    assert logs["weighted_accuracy"] == pytest.approx(np.dot(w, hits) / w.sum())
    assert logs["weighted_accuracy"] != pytest.approx(logs["accuracy"])


def test_weighted_metrics_per_output_are_named_after_the_outputs():
    a = layers.Input(shape=(3,), name="a")
    hidden = layers.Dense(4)(a)
    model = nerve.Model(a, {"p": layers.Dense(1, name="p")(hidden),
                            "r": layers.Dense(2, name="r")(hidden)})
    model.compile(optimizer="sgd", loss="mse", metrics={"p": ["mae"]},
                  weighted_metrics={"p": ["mae"], "r": ["mse"]})
    x, y, w = weighted_data()
    targets = {"p": y, "r": np.hstack([y, -y])}
    logs = model.evaluate(x, targets, sample_weight=w, return_dict=True, verbose=0)
    assert set(logs) == {"loss", "p_loss", "r_loss", "p_mae", "p_weighted_mae", "r_mse"}
    out = model.predict(x, verbose=0)
    error = np.abs(out["p"] - y)[:, 0]
    assert logs["p_weighted_mae"] == pytest.approx(np.dot(w, error) / w.sum(), rel=1e-5)
    assert logs["p_mae"] == pytest.approx(error.mean(), rel=1e-5)


def test_weighted_metrics_on_generators_match_arrays():
    x, y, w = weighted_data(rows=300)
    models = []
    for _ in range(2):
        model = dense_model()
        model.compile(optimizer="adam", loss="mse", metrics=["mae"], weighted_metrics=["mae"])
        models.append(model)
    reference = models[0].fit(x, y, sample_weight=w, batch_size=16, epochs=2, shuffle=False,
                              verbose=0).history
    # Batches with and without weights: the unweighted ones count with weight 1.
    stream = [(x[s:s + 16], y[s:s + 16], w[s:s + 16]) for s in range(0, 300, 16)] * 2
    history = models[1].fit(iter(stream), steps_per_epoch=19, epochs=2, verbose=0).history
    # Equal up to rounding: the window feeds the metrics in other chunks than arrays do.
    assert history == {k: pytest.approx(v, rel=1e-12) for k, v in reference.items()}
    assert "weighted_mae" in history
    mixed = [(b[0], b[1]) if i % 2 else b for i, b in enumerate(stream[:19])]
    expected_w = np.concatenate([b[2] if len(b) == 3 else np.ones(len(b[0])) for b in mixed])
    logs = models[1].evaluate(iter(mixed), return_dict=True, verbose=0)
    expected = models[1].evaluate(x, y, sample_weight=expected_w, batch_size=16,
                                  return_dict=True, verbose=0)
    assert logs == pytest.approx(expected, rel=1e-9)


def test_weighted_metrics_in_the_compile_config_and_checked_at_compile(tmp_path):
    model = dense_model()
    model.compile(optimizer="adam", loss="mse", weighted_metrics=["mae"])
    assert model.get_compile_config()["weighted_metrics"] == ["mae"]
    model.save(tmp_path / "m.nerve")
    loaded = nerve.models.load_model(tmp_path / "m.nerve")
    assert loaded.metrics_names == ["loss", "mae"]
    with pytest.raises(ValueError, match="Unknown metric 'nope'"):
        model.compile(loss="mse", weighted_metrics=["nope"])
    with pytest.raises(TypeError, match="weighted_metrics: expected a list"):
        model.compile(loss="mse", weighted_metrics="mae")
    assert model.get_compile_config()["weighted_metrics"] == ["mae"]  # left as it was
