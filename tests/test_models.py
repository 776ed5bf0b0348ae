"""Sequential's Keras API: construction, weights, config, summary, compile identifiers,
evaluate/predict conventions, and bad input that must leave the model unchanged."""
import json
import warnings

import numpy as np
import pytest

import nerve
from nerve import Dense, Sequential, activations, initializers, layers, losses, metrics
from nerve import optimizers, regularizers


def pima_like(rows=120, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(rows, 8))
    return x, (x[:, 0] + 0.5 * x[:, 1] > 0).astype(np.float64)


def small_model(compile=True, **compile_args):
    model = Sequential([Dense(10, input_dim=8, activation="relu"),
                        Dense(1, activation="sigmoid")])
    if compile:
        model.compile(**{"loss": "binary_crossentropy", "optimizer": "adam",
                         "metrics": ["accuracy"], **compile_args})
    return model


# ---- construction ------------------------------------------------------------------------------

def test_three_ways_to_give_the_input_and_keras_weight_layout():
    models = [Sequential([Dense(10, input_dim=8), Dense(1)]),
              Sequential([Dense(10, input_shape=(8,)), Dense(1)]),
              Sequential([layers.Input(shape=(8,)), Dense(10), Dense(1)])]
    for model in models:
        assert model.built and model.input_shape == (None, 8) and model.output_shape == (None, 1)
        shapes = [w.shape for w in model.get_weights()]
        assert shapes == [(8, 10), (10,), (10, 1), (1,)]
        assert all(w.dtype == np.float32 for w in model.get_weights())
        assert [type(l).__name__ for l in model.layers] == ["Dense", "Dense"]
        assert model.count_params() == 101


def test_lazy_build_on_first_data_and_add_after_build():
    model = Sequential()
    model.add(Dense(4, activation="tanh"))
    assert not model.built and model.get_weights() == []
    out = model.predict(np.ones((3, 6)), verbose=0)
    assert model.built and out.shape == (3, 4) and out.dtype == np.float32
    kernel = model.layers[0].get_weights()[0]
    model.add(Dense(2))
    assert model.output_shape == (None, 2)
    np.testing.assert_array_equal(model.layers[0].kernel, kernel)  # kept when rebuilt
    assert model.predict(np.ones((1, 6)), verbose=0).shape == (1, 2)


def test_layer_names_are_unique_per_process():
    a, b = Dense(1), Dense(1)
    assert a.name.startswith("dense") and b.name != a.name
    with pytest.raises(ValueError, match="unique"):
        Sequential([Dense(1, name="same"), Dense(1, name="same")])
    with pytest.raises(ValueError, match="Unrecognized keyword"):
        Dense(3, activaton="relu")


def test_layers_are_views_of_one_flat_buffer():
    model = small_model()
    kernel = model.layers[0].kernel
    assert kernel.base is not None and kernel.base is model.layers[1].bias.base
    before = model.get_weights()
    model.fit(*pima_like(), epochs=1, verbose=0)
    assert not np.array_equal(model.layers[0].kernel, before[0])


def test_set_weights_validates_everything_first():
    model = small_model(compile=False)
    before = model.get_weights()
    bad = [np.ones((8, 10)), np.ones(10), np.ones((10, 2)), np.ones(1)]
    with pytest.raises(ValueError, match=r"weights\[2\]"):
        model.set_weights(bad)
    with pytest.raises(ValueError, match="4 arrays"):
        model.set_weights(before[:3])
    for a, b in zip(model.get_weights(), before):
        np.testing.assert_array_equal(a, b)
    model.set_weights([w + 1 for w in before])
    np.testing.assert_array_equal(model.layers[1].bias, before[3] + 1)


def test_frozen_layer_keeps_its_weights():
    model = small_model(compile=False)
    model.layers[0].trainable = False
    model.compile(loss="binary_crossentropy", optimizer="adam")
    frozen = model.layers[0].get_weights()
    model.fit(*pima_like(), epochs=2, verbose=0)
    for a, b in zip(model.layers[0].get_weights(), frozen):
        np.testing.assert_array_equal(a, b)
    assert len(model.trainable_weights) == 2 and len(model.non_trainable_weights) == 2


# ---- config, summary ---------------------------------------------------------------------------

def test_config_round_trip_is_json_and_rebuilds_the_same_model():
    model = Sequential([layers.Input(shape=(4, 2)), layers.Flatten(),
                        Dense(5, activation="leaky_relu", kernel_initializer="he_normal",
                              kernel_regularizer=regularizers.L2(1e-3)),
                        layers.Dropout(0.25, seed=1), layers.Activation("gelu"),
                        Dense(3, activation="softmax", use_bias=False)], name="net")
    model.compile(optimizer=optimizers.Adam(learning_rate=optimizers.schedules.ExponentialDecay(
        0.01, 100, 0.9)), loss="categorical_crossentropy", metrics=["accuracy", "auc"])
    config = json.loads(json.dumps(model.get_config()))
    clone = Sequential.from_config(config)
    assert clone.name == "net" and clone.built and clone.get_config() == model.get_config()
    clone.set_weights(model.get_weights())
    x = np.random.default_rng(0).normal(size=(7, 4, 2))
    np.testing.assert_array_equal(clone.predict(x, verbose=0), model.predict(x, verbose=0))
    compile_config = json.loads(json.dumps(model.get_compile_config()))
    clone.compile_from_config(compile_config)
    assert clone.get_compile_config() == model.get_compile_config()
    assert isinstance(clone.optimizer.learning_rate, optimizers.schedules.ExponentialDecay)
    assert model.get_build_config() == {"input_shape": [None, 4, 2]}


def test_optimizer_state_round_trip_and_validation():
    x, y = pima_like()
    model = small_model()
    model.fit(x, y, epochs=1, verbose=0)
    state = model.optimizer.get_state()
    assert int(state[0]) == model.optimizer.iterations == 4 and len(state) == 3
    fresh = small_model()
    assert len(fresh.optimizer.get_state()) == 3  # slots exist right after compile + build
    fresh.optimizer.set_state(state)
    assert fresh.optimizer.iterations == 4
    np.testing.assert_array_equal(fresh.optimizer.get_state()[1], state[1])
    with pytest.raises(ValueError):
        fresh.optimizer.set_state(state[:2])
    with pytest.raises(ValueError):
        fresh.optimizer.set_state([state[0], state[1], np.zeros(3)])


def test_summary_layout():
    lines = []
    small_model(compile=False).summary(print_fn=lines.append)
    text = "\n".join(lines)
    assert lines[0].startswith('Model: "sequential')
    assert "Layer (type)" in lines[2] and "Output Shape" in lines[2] and "Param #" in lines[2]
    assert any("dense" in l and "(Dense)" in l and "(None, 10)" in l and l.rstrip("│ ").endswith("90")
               for l in lines)
    assert " Total params: 101 (404.00 B)" in text
    assert " Trainable params: 101 (404.00 B)" in text
    assert " Non-trainable params: 0 (0.00 B)" in text
    unbuilt = []
    Sequential([Dense(3)]).summary(print_fn=unbuilt.append)
    assert any("?" in l and "0 (unbuilt)" in l for l in unbuilt)


# ---- identifiers -------------------------------------------------------------------------------

def test_keras_identifiers_and_unknown_names():
    assert isinstance(optimizers.get("adam"), optimizers.Adam)
    assert isinstance(optimizers.get("RMSprop"), optimizers.RMSprop)
    assert isinstance(losses.get("mse"), losses.MeanSquaredError)
    assert isinstance(initializers.get("he_uniform"), initializers.HeUniform)
    assert isinstance(regularizers.get("l1_l2"), regularizers.L1L2)
    assert activations.get("swish") is activations.silu
    assert isinstance(metrics.get("precision"), metrics.Precision)
    for getter, name in [(optimizers.get, "adamm"), (losses.get, "msee"),
                         (initializers.get, "glorot"), (regularizers.get, "l3"),
                         (activations.get, "rellu"), (metrics.get, "acuracy")]:
        with pytest.raises(ValueError, match="valid:") as info:
            getter(name)
        assert name in str(info.value)
    with pytest.raises(ValueError, match="valid"):
        small_model(compile=False).compile(loss="binary_crossentropy", metrics=["acuracy"])


def test_optimizer_defaults_and_legacy_lr():
    adam = optimizers.Adam()
    assert (adam.learning_rate, adam.beta_1, adam.beta_2, adam.epsilon) == (0.001, 0.9, 0.999, 1e-7)
    assert optimizers.SGD().learning_rate == 0.01
    rms = optimizers.RMSprop()
    assert (rms.learning_rate, rms.rho, rms.epsilon) == (0.001, 0.9, 1e-7)
    assert optimizers.Adagrad().initial_accumulator_value == 0.1
    assert optimizers.AdamW().weight_decay == 0.004
    with pytest.warns(DeprecationWarning):
        assert optimizers.SGD(lr=0.5).learning_rate == 0.5
    model = small_model(compile=False)
    model.compile(loss="mse")
    assert isinstance(model.optimizer, optimizers.RMSprop)
    model.optimizer.learning_rate = 0.1
    assert model.optimizer.learning_rate == 0.1


def test_schedules():
    s = optimizers.schedules
    assert s.ExponentialDecay(1.0, 10, 0.5)(10) == pytest.approx(0.5)
    assert s.ExponentialDecay(1.0, 10, 0.5, staircase=True)(15) == pytest.approx(0.5)
    assert s.InverseTimeDecay(1.0, 1, 1.0)(3) == pytest.approx(0.25)
    assert [s.PiecewiseConstantDecay([2, 4], [1.0, 0.5, 0.1])(t) for t in (0, 2, 3, 5)] == \
        [1.0, 1.0, 0.5, 0.1]
    assert s.CosineDecay(1.0, 10)(5) == pytest.approx(0.5)
    from nerve.optimizers.schedules import CosineDecay  # noqa: F401  importable like Keras


def test_accuracy_resolution():
    bce, cce, scce, mse = (losses.get(n) for n in ("binary_crossentropy",
                                                   "categorical_crossentropy",
                                                   "sparse_categorical_crossentropy", "mse"))
    assert isinstance(metrics.resolve("accuracy", bce, 1), metrics.BinaryAccuracy)
    assert isinstance(metrics.resolve("accuracy", bce, 3), metrics.BinaryAccuracy)
    assert isinstance(metrics.resolve("acc", mse, 1), metrics.BinaryAccuracy)
    assert isinstance(metrics.resolve("accuracy", cce, 3), metrics.CategoricalAccuracy)
    assert isinstance(metrics.resolve("accuracy", scce, 3), metrics.SparseCategoricalAccuracy)
    assert metrics.resolve("acc", cce, 3).name == "acc"


def test_metric_values():
    y = np.array([1, 0, 1, 1, 0.0])
    p = np.array([0.9, 0.6, 0.4, 0.8, 0.1])
    assert metrics.BinaryAccuracy()(y, p) == pytest.approx(0.6)
    assert metrics.Precision()(y, p) == pytest.approx(2 / 3)
    assert metrics.Recall()(y, p) == pytest.approx(2 / 3)
    assert metrics.AUC()(y, p) == pytest.approx(5 / 6)
    assert metrics.MeanAbsoluteError()(y, p) == pytest.approx(np.abs(y - p).mean())
    assert metrics.SparseCategoricalAccuracy()([2, 0], [[0, 0, 1], [0, 1, 0]]) == 0.5


# ---- evaluate / predict conventions ------------------------------------------------------------

def test_evaluate_and_predict_conventions():
    x, y = pima_like()
    model = small_model(metrics=None)
    loss = model.evaluate(x, y, verbose=0)
    assert isinstance(loss, float)
    model = small_model(metrics=["accuracy", "mae"])
    values = model.evaluate(x, y, verbose=0)
    assert isinstance(values, list) and len(values) == 3
    as_dict = model.evaluate(x, y, verbose=0, return_dict=True)
    assert set(as_dict) == {"loss", "accuracy", "mae"}
    assert as_dict["loss"] == pytest.approx(values[0])
    assert model.metrics_names == ["loss", "accuracy", "mae"]
    predictions = model.predict(x, verbose=0)
    assert predictions.shape == (len(x), 1) and predictions.dtype == np.float32
    assert model.predict(x[:1], verbose=0).shape == (1, 1)
    np.testing.assert_allclose(model.predict(x, batch_size=7, verbose=0), predictions, rtol=1e-6)
    np.testing.assert_allclose(model.predict_on_batch(x), predictions, rtol=1e-6)
    # evaluate's loss equals the loss of the predictions
    expected = losses.BinaryCrossentropy()(y, predictions)
    assert values[0] == pytest.approx(expected, rel=1e-4)


def test_on_batch_methods():
    x, y = pima_like()
    model = small_model()
    loss, accuracy = model.train_on_batch(x[:16], y[:16])
    assert np.isfinite(loss) and 0 <= accuracy <= 1
    assert model.optimizer.iterations == 1
    result = model.test_on_batch(x[:16], y[:16], return_dict=True)
    assert set(result) == {"loss", "accuracy"}


# ---- bad input ---------------------------------------------------------------------------------

BAD_FIT = [
    (dict(x=np.ones((10, 8)), y=np.ones(9)), ValueError, "same number of samples"),
    (dict(x=np.ones((10, 7)), y=np.ones(10)), ValueError, r"\(8,\)"),
    (dict(x=np.ones(8), y=np.ones(1)), ValueError, "reshape"),
    (dict(x=np.full((10, 8), np.nan), y=np.ones(10)), ValueError, "finite"),
    (dict(x=np.ones((10, 8)), y=np.full(10, np.inf)), ValueError, "finite"),
    (dict(x=np.array([["a"] * 8] * 10), y=np.ones(10)), TypeError, "x: expected numbers"),
    (dict(x=np.ones((10, 8)), y=np.ones((10, 2))), ValueError, r"y: expected shape \(10, 1\)"),
    (dict(x=np.ones((10, 8)), y=np.ones(10), sample_weight=np.ones(3)), ValueError, "sample_weight"),
    (dict(x=np.ones((10, 8)), y=np.ones(10), batch_size=0), ValueError, "batch_size"),
    (dict(x=np.ones((10, 8)), y=np.ones(10), validation_split=1.5), ValueError, "validation_split"),
    (dict(x=np.ones((10, 8)), y=np.ones(10), class_weight={0: 1.0}), ValueError, "class_weight"),
    (dict(x=np.ones((10, 8)), y=np.ones(10), validation_data=(np.ones((2, 3)), np.ones(2))),
     ValueError, "validation_data x"),
]


@pytest.mark.parametrize("arguments,error,message", BAD_FIT,
                         ids=[m for _, _, m in BAD_FIT])
def test_bad_fit_input_changes_nothing(arguments, error, message):
    model = small_model()
    before = model.get_weights()
    with pytest.raises(error, match=message):
        model.fit(verbose=0, **arguments)
    assert model.optimizer.iterations == 0
    for a, b in zip(model.get_weights(), before):
        np.testing.assert_array_equal(a, b)
    x, y = pima_like(20)
    model.fit(x, y, epochs=1, verbose=0)  # the next valid call works
    assert model.optimizer.iterations == 1


def test_label_checks_for_each_loss():
    x = np.ones((4, 3))
    sparse = Sequential([Dense(3, input_dim=3, activation="softmax")])
    sparse.compile(loss="sparse_categorical_crossentropy")
    with pytest.raises(ValueError, match=r"labels in \[0, 3\)"):
        sparse.fit(x, [0, 1, 2, 3], verbose=0)
    with pytest.raises(ValueError, match="integer class labels"):
        sparse.fit(x, [0, 1, 2, 0.5], verbose=0)
    sparse.fit(x, np.array([[0], [1], [2], [0]]), verbose=0)  # (n, 1) labels are fine
    onehot = Sequential([Dense(3, input_dim=3, activation="softmax")])
    onehot.compile(loss="categorical_crossentropy")
    with pytest.raises(ValueError, match="sparse_categorical_crossentropy"):
        onehot.fit(x, [0, 1, 2, 0], verbose=0)
    with pytest.raises(ValueError, match=r"\(4, 3\)"):
        onehot.fit(x, np.eye(4), verbose=0)
    ints_and_lists = Sequential([Dense(1, input_dim=3, activation="sigmoid")])
    ints_and_lists.compile(loss="binary_crossentropy")
    ints_and_lists.fit([[1, 2, 3]] * 4, [True, False, True, False], verbose=0)


def test_bad_predict_input_and_unusable_models():
    model = small_model()
    with pytest.raises(ValueError, match="reshape"):
        model.predict(np.ones(8), verbose=0)
    with pytest.raises(ValueError, match=r"\(8,\)"):
        model.predict(np.ones((2, 9)), verbose=0)
    with pytest.raises(TypeError):
        model.predict(np.array([None] * 16).reshape(2, 8), verbose=0)
    assert model.predict(np.ones((2, 8)), verbose=0).shape == (2, 1)
    with pytest.raises(ValueError, match="no layers"):
        Sequential().predict(np.ones((1, 2)), verbose=0)
    with pytest.raises(ValueError, match="compile"):
        small_model(compile=False).fit(np.ones((2, 8)), np.ones(2), verbose=0)
    with pytest.raises(ValueError, match="Flatten"):
        Sequential([Dense(2)]).predict(np.ones((2, 3, 4)), verbose=0)


def test_step_activation_predicts_but_does_not_train():
    model = Sequential([Dense(2, input_dim=2, activation="step", kernel_initializer="ones")])
    model.compile(loss="mse", optimizer="sgd")
    np.testing.assert_array_equal(model.predict(np.array([[1.0, 1.0], [-1.0, -2.0]]), verbose=0),
                                  [[1, 1], [0, 0]])
    with pytest.raises(ValueError, match="step"):
        model.fit(np.ones((2, 2)), np.ones((2, 2)), verbose=0)


def test_float64_models():
    nerve.utils.set_floatx("float64")
    try:
        model = small_model()
    finally:
        nerve.utils.set_floatx("float32")
    x, y = pima_like()
    model.fit(x, y, epochs=1, verbose=0)
    assert model.get_weights()[0].dtype == np.float64
    assert model.predict(x, verbose=0).dtype == np.float64
    layer = Dense(2, dtype="float64")
    assert layer.dtype == "float64"
    with pytest.raises(ValueError, match="dtype"):
        Sequential([Dense(2, input_dim=2), layer])


def test_fit_warns_nothing_and_returns_history():
    x, y = pima_like()
    model = small_model()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        history = model.fit(x, y, epochs=3, validation_split=0.25, verbose=0)
    assert history is model.history
    assert set(history.history) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert len(history.history["loss"]) == 3
