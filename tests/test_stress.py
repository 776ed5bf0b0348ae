"""Numerical stress through the model API: logits of +-1e4 into every loss and the softmax /
sigmoid outputs, all-zero and constant inputs, single-class labels and huge learning rates.
Values stay finite wherever the math is finite, and agree with the NumPy reference backend;
a run that really diverges warns once, shows it in its logs and is stopped by TerminateOnNaN."""
import contextlib
import io
import math

import numpy as np
import pytest

import nerve
from nerve import callbacks as cbs
from nerve import losses

BIG = 1e4
# Logits of every sign and size, one row per sample: rows are confidently right, confidently
# wrong, undecided or saturated in several units at once.
LOGITS = np.array([[BIG, -BIG, 0.0, -BIG],
                   [-BIG, BIG, -BIG, -BIG],
                   [-BIG, -BIG, -BIG, -BIG],
                   [BIG, BIG, BIG, BIG],
                   [0.0, 0.0, 0.0, 0.0],
                   [30.0, -BIG, 100.0, -100.0]], np.float32)

# (loss, output activation, units): the fused logits paths, from_logits, probability outputs
# into losses that are not fused, and regression losses on raw +-1e4 outputs.
CASES = [
    ("binary_crossentropy", "sigmoid", 1),
    ("binary_crossentropy", "sigmoid", 4),
    (losses.BinaryCrossentropy(from_logits=True), "linear", 4),
    ("categorical_crossentropy", "softmax", 4),
    (losses.CategoricalCrossentropy(from_logits=True), "linear", 4),
    ("sparse_categorical_crossentropy", "softmax", 4),
    (losses.SparseCategoricalCrossentropy(from_logits=True), "linear", 4),
    ("mse", "sigmoid", 4),
    ("mae", "softmax", 4),
    ("mse", "linear", 4),
    ("mae", "linear", 4),
    ("huber", "linear", 4),
]


def case_id(case):
    loss, activation, units = case
    name = loss if isinstance(loss, str) else loss.name + "_from_logits"
    return f"{name}-{activation}-{units}"


def loss_kind(loss):
    return loss if isinstance(loss, str) else loss.kind


def saturated_model(loss, activation, units, learning_rate=1e-3):
    """A one-layer model whose outputs, on the identity matrix as input, are LOGITS exactly."""
    rows = len(LOGITS)
    model = nerve.models.Sequential([nerve.layers.Dense(units, input_dim=rows,
                                                        activation=activation)])
    model.compile(loss=loss, optimizer=nerve.optimizers.SGD(learning_rate=learning_rate))
    model.set_weights([LOGITS[:, :units].copy(), np.zeros(units, np.float32)])
    return model, np.eye(rows, dtype=np.float32)


def wrong_targets(loss, units):
    """Targets against the logits' opinion where it has one: the largest losses possible."""
    logits = LOGITS[:, :units]
    kind = loss_kind(loss)
    if "sparse" in kind:
        return np.argmin(logits, axis=1)
    if kind.startswith("categorical"):
        return np.eye(units, dtype=np.float32)[np.argmin(logits, axis=1)]
    if "binary" in kind:
        return (logits <= 0).astype(np.float32)
    return -np.sign(logits).astype(np.float32) * 3.0


def on_both_backends(function):
    """function() on the C++ backend, then on the NumPy reference."""
    results = [function()]
    with nerve.use_backend("numpy"):
        results.append(function())
    return results


def assert_all_finite(arrays, what):
    for index, array in enumerate(arrays):
        assert np.isfinite(array).all(), f"{what}: array {index} is not finite: {array}"


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_huge_logits_give_finite_losses_and_outputs_matching_the_reference(case):
    model, x = saturated_model(*case)
    y = wrong_targets(case[0], case[2])
    cpp, reference = on_both_backends(lambda: (model.evaluate(x, y, verbose=0),
                                               model.predict(x, verbose=0)))
    assert math.isfinite(cpp[0]), f"loss {cpp[0]}"
    assert cpp[0] == pytest.approx(reference[0], rel=1e-5)
    assert_all_finite([cpp[1]], "predictions")
    np.testing.assert_allclose(cpp[1], reference[1], rtol=1e-6, atol=1e-6)
    if case[1] in ("sigmoid", "softmax"):
        assert cpp[1].min() >= 0.0 and cpp[1].max() <= 1.0


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_a_training_step_on_huge_logits_stays_finite_and_matches_the_reference(case):
    def step():
        model, x = saturated_model(*case)
        loss = model.train_on_batch(x, wrong_targets(case[0], case[2]))
        return loss, model.get_weights()

    (loss, weights), (reference_loss, reference_weights) = on_both_backends(step)
    assert math.isfinite(loss) and loss == pytest.approx(reference_loss, rel=1e-5)
    assert_all_finite(weights, "weights after one step")
    for got, want in zip(weights, reference_weights):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-3)  # atol: on 1e4 weights


# --- degenerate data -----------------------------------------------------------------------

def trained(x, y, loss, units, activation, metrics=(), epochs=30):
    nerve.utils.set_random_seed(0)
    model = nerve.models.Sequential([nerve.layers.Dense(8, input_dim=x.shape[1],
                                                        activation="relu"),
                                     nerve.layers.Dense(units, activation=activation)])
    model.compile(loss=loss, optimizer=nerve.optimizers.Adam(0.05), metrics=list(metrics))
    history = model.fit(x, y, epochs=epochs, batch_size=16, verbose=0)
    return model, history.history


def assert_history_finite(history):
    for name, values in history.items():
        assert all(math.isfinite(v) for v in values), f"{name}: {values}"


def test_all_zero_inputs_learn_a_constant_target_through_the_bias():
    x = np.zeros((64, 5), np.float32)
    model, history = trained(x, np.full(64, 3.0, np.float32), "mse", 1, "linear")
    assert_history_finite(history)
    assert history["loss"][-1] < 0.01 * history["loss"][0]
    np.testing.assert_allclose(model.predict(x[:2], verbose=0), 3.0, rtol=0.05)


def test_constant_inputs_with_single_class_binary_labels():
    x = np.full((64, 5), 7.0, np.float32)
    model, history = trained(x, np.ones(64, np.float32), "binary_crossentropy", 1, "sigmoid",
                             metrics=["accuracy", "auc", "precision", "recall"])
    assert_history_finite(history)
    assert history["accuracy"][-1] == 1.0 and history["loss"][-1] < history["loss"][0]
    # One class only: no ROC curve, so AUC is 0 (as Keras) rather than NaN.
    assert history["auc"][-1] == 0.0
    results = model.evaluate(x, np.zeros(64, np.float32), verbose=0)
    assert all(math.isfinite(v) for v in results)


def test_single_class_sparse_labels():
    x = np.random.default_rng(0).standard_normal((64, 5)).astype(np.float32)
    model, history = trained(x, np.zeros(64, np.int64), "sparse_categorical_crossentropy", 3,
                             "softmax", metrics=["accuracy"])
    assert_history_finite(history)
    assert history["accuracy"][-1] == 1.0
    assert model.predict(x, verbose=0)[:, 0].min() > 0.9


# --- huge learning rates -------------------------------------------------------------------

def sgd_model(units, activation, loss, learning_rate=1e6, hidden=False):
    nerve.utils.set_random_seed(0)
    layers = [nerve.layers.Dense(16, input_dim=8, activation="relu")] if hidden else []
    layers.append(nerve.layers.Dense(units, input_dim=8, activation=activation))
    model = nerve.models.Sequential(layers)
    model.compile(loss=loss, optimizer=nerve.optimizers.SGD(learning_rate=learning_rate),
                  metrics=["accuracy"] if loss != "mse" else [])
    return model


def features():
    rng = np.random.default_rng(0)
    return rng.standard_normal((64, 8)).astype(np.float32)


@pytest.mark.parametrize("loss, units, labels", [
    ("binary_crossentropy", 1, lambda x: (x[:, 0] > 0).astype(np.float32)),
    ("sparse_categorical_crossentropy", 3, lambda x: np.argmax(x[:, :3], axis=1)),
])
def test_huge_learning_rate_keeps_bounded_gradient_losses_finite(loss, units, labels):
    # Cross-entropy on logits has gradients in [-1, 1]: weights grow by at most lr per step,
    # so a linear model stays far from float32 overflow however large the rate.
    x = features()
    model = sgd_model(units, "sigmoid" if units == 1 else "softmax", loss)
    history = model.fit(x, labels(x), epochs=5, batch_size=16, verbose=0).history
    assert_history_finite(history)
    assert_all_finite(model.get_weights(), "weights")


def diverging_fit(callbacks=(), epochs=5):
    """MSE with SGD at lr=1e6: the weights grow geometrically and overflow within an epoch."""
    x = features()
    model = sgd_model(1, "linear", "mse", hidden=True)
    history = model.fit(x, x[:, :1] * 2.0, epochs=epochs, batch_size=16, verbose=0,
                        callbacks=list(callbacks))
    return model, history.history


def test_a_diverging_run_without_callbacks_warns_once_and_shows_in_its_logs():
    # As in Keras, fit itself carries on, but says once, clearly, what happened and what to do.
    with pytest.warns(RuntimeWarning, match="TerminateOnNaN") as warned:
        model, history = diverging_fit()
    assert len([w for w in warned if "training loss became" in str(w.message)]) == 1
    assert len(history["loss"]) == 5
    assert not math.isfinite(history["loss"][0])
    assert not all(np.isfinite(w).all() for w in model.get_weights())


def test_terminate_on_nan_stops_a_diverging_run_at_the_first_bad_batch():
    stream = io.StringIO()
    with contextlib.redirect_stdout(stream):
        model, history = diverging_fit([cbs.TerminateOnNaN()])
    steps_per_epoch = 4
    assert len(history["loss"]) == 1 and model.optimizer.iterations < steps_per_epoch
    assert stream.getvalue().startswith("Epoch 1, batch ")
    assert "invalid loss" in stream.getvalue()
    with pytest.raises(RuntimeError, match="invalid loss"):
        diverging_fit([cbs.TerminateOnNaN(raise_error=True)])
