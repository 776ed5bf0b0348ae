"""BatchNormalization and LayerNormalization layers: values against the formulas written in
NumPy, the training/inference switch and Keras 3's moving-statistics update, frozen layers,
gradients of whole models by central differences on both backends, weights, summaries,
configs and save/load, and bad arguments naming the layer."""
import numpy as np
import pytest

import nerve
from nerve import layers

BACKENDS = ["cpp", "numpy"]


def batch_moments(x, axis):
    axes = tuple(a for a in range(x.ndim) if a != axis % x.ndim)
    return x.mean(axis=axes), x.var(axis=axes)


def along(v, axis, ndim):
    shape = [1] * ndim
    shape[axis % ndim] = -1
    return v.reshape(shape)


def bn_formula(x, mean, variance, gamma, beta, axis, epsilon=1e-3):
    n = x.ndim
    return ((x - along(mean, axis, n)) / np.sqrt(along(variance, axis, n) + epsilon)
            * along(gamma, axis, n) + along(beta, axis, n))


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("shape, axis", [((16, 5), -1), ((4, 3, 6), -1), ((4, 3, 6), 1),
                                         ((2, 5, 4, 3), -1), ((2, 3, 5, 4), 1)])
def test_batch_norm_training_and_inference(shape, axis, backend):
    rng = np.random.default_rng(len(shape) + axis)
    x = rng.normal(2.0, 3.0, shape)
    layer = layers.BatchNormalization(axis=axis, momentum=0.9, dtype="float64")
    inputs = nerve.Input(shape=shape[1:], dtype="float64")
    model = nerve.Model(inputs, layer(inputs))
    channels = shape[axis]
    gamma, beta = rng.uniform(0.5, 1.5, channels), rng.uniform(-1, 1, channels)
    moving_mean, moving_variance = rng.uniform(-1, 1, channels), rng.uniform(0.5, 2, channels)
    model.set_weights([gamma, beta, moving_mean, moving_variance])
    with nerve.use_backend(backend):
        np.testing.assert_allclose(model.predict(x, batch_size=len(x), verbose=0),
                                   bn_formula(x, moving_mean, moving_variance, gamma, beta, axis),
                                   rtol=1e-10, atol=1e-10)
        trained = model(x, training=True)
    mean, variance = batch_moments(x, axis)
    np.testing.assert_allclose(trained, bn_formula(x, mean, variance, gamma, beta, axis),
                               rtol=1e-10, atol=1e-10)
    # Keras 3: moving = moving * momentum + batch * (1 - momentum), batch variance biased.
    np.testing.assert_allclose(layer.moving_mean, moving_mean * 0.9 + mean * 0.1, rtol=1e-12)
    np.testing.assert_allclose(layer.moving_variance, moving_variance * 0.9 + variance * 0.1,
                               rtol=1e-12)


@pytest.mark.parametrize("backend", BACKENDS)
def test_fit_updates_moving_statistics_after_each_step(backend):
    rng = np.random.default_rng(1)
    x = rng.normal(1.0, 2.0, (24, 3)).astype(np.float32)
    y = rng.normal(size=(24, 3)).astype(np.float32)
    nerve.utils.set_random_seed(3)
    bn = layers.BatchNormalization()
    model = nerve.Sequential([nerve.Input(shape=(3,)), bn])
    model.compile(optimizer=nerve.optimizers.SGD(0.1), loss="mse")
    expected_mean, expected_variance = np.zeros(3), np.ones(3)
    gamma, beta = np.ones(3), np.zeros(3)
    with nerve.use_backend(backend):
        model.fit(x, y, batch_size=8, epochs=1, shuffle=False, verbose=0)
    for start in range(0, 24, 8):
        batch = x[start:start + 8].astype(np.float64)
        mean, variance = batch.mean(0), batch.var(0)
        expected_mean = expected_mean * 0.99 + mean * 0.01
        expected_variance = expected_variance * 0.99 + variance * 0.01
        # the gradient step the batch statistics feed (mse through training-mode BN)
        xhat = (batch - mean) / np.sqrt(variance + 1e-3)
        grad = 2 * (xhat * gamma + beta - y[start:start + 8]) / batch.size
        gamma, beta = gamma - 0.1 * (grad * xhat).sum(0), beta - 0.1 * grad.sum(0)
    np.testing.assert_allclose(bn.moving_mean, expected_mean, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(bn.moving_variance, expected_variance, rtol=1e-5)
    np.testing.assert_allclose(bn.gamma, gamma, rtol=1e-4)
    np.testing.assert_allclose(bn.beta, beta, rtol=1e-4, atol=1e-6)
    before = bn.moving_mean.copy()
    model.evaluate(x, y, verbose=0)
    model.predict(x, verbose=0)
    np.testing.assert_array_equal(bn.moving_mean, before)  # inference leaves them alone


def test_frozen_batch_norm_runs_in_inference_mode_in_fit():
    rng = np.random.default_rng(2)
    x = rng.normal(5.0, 2.0, (16, 4)).astype(np.float32)
    y = rng.normal(size=(16, 1)).astype(np.float32)
    bn = layers.BatchNormalization(trainable=False)
    model = nerve.Sequential([nerve.Input(shape=(4,)), layers.Dense(4), bn, layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    frozen = [w.copy() for w in bn.get_weights()]
    model.fit(x, y, epochs=2, batch_size=4, verbose=0)
    for before, after in zip(frozen, bn.get_weights()):
        np.testing.assert_array_equal(before, after)
    assert len(bn.trainable_weights) == 0 and len(bn.non_trainable_weights) == 4
    hidden = model.layers[0](x)
    np.testing.assert_allclose(bn(hidden, training=True), bn(hidden, training=False), rtol=1e-6)


def model_gradients(model, x, t):
    """The weights' gradients of the mse of model(x, training=True) from a train step."""
    model.compile(optimizer=nerve.optimizers.SGD(learning_rate=0.0), loss="mse")
    model.train_on_batch(x, t)
    return [np.array(v._grad) for v in model.weights if v.trainable]


def numerical_gradients(model, x, t, eps=1e-6):
    def loss():
        return float(np.mean((model(x, training=True) - t) ** 2))
    grads = []
    for variable in [v for v in model.weights if v.trainable]:
        grad, flat = np.zeros(variable.shape), variable.value.reshape(-1)
        for i in range(flat.size):
            original = flat[i]
            flat[i] = original + eps
            up = loss()
            flat[i] = original - eps
            down = loss()
            flat[i] = original
            grad.reshape(-1)[i] = (up - down) / (2 * eps)
        grads.append(grad)
    return grads


class ToRank3(nerve.layers.Layer):
    """(batch, 12) -> (batch, 3, 4), so that the gradient reaches the Dense before the norm."""

    def call(self, x):
        return nerve.ops.reshape(x, (-1, 3, 4))


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("make", [
    lambda: layers.BatchNormalization(dtype="float64"),
    lambda: layers.BatchNormalization(axis=1, center=False, dtype="float64"),
    lambda: layers.BatchNormalization(trainable=False, dtype="float64"),
    lambda: layers.LayerNormalization(dtype="float64"),
    lambda: layers.LayerNormalization(axis=[-2, -1], scale=False, dtype="float64"),
], ids=["bn", "bn-axis1-nocenter", "bn-frozen", "ln", "ln-two-axes"])
def test_gradients_through_models_match_central_differences(make, backend):
    rng = np.random.default_rng(4)
    inputs = nerve.Input(shape=(12,), dtype="float64")
    hidden = ToRank3(dtype="float64")(layers.Dense(12, dtype="float64")(inputs))
    norm = make()
    outputs = layers.Dense(2, dtype="float64")(layers.Flatten(dtype="float64")(norm(hidden)))
    model = nerve.Model(inputs, outputs)
    model.set_weights([w + rng.uniform(-0.3, 0.3, w.shape) for w in model.get_weights()])
    x, t = rng.normal(size=(5, 12)), rng.normal(size=(5, 2))
    moving = [w.numpy() for w in norm.non_trainable_weights]
    with nerve.use_backend(backend):
        analytic = model_gradients(model, x, t)
        for variable, value in zip(norm.non_trainable_weights, moving):
            variable.assign(value)  # the numerical pass sees the same moving statistics
        numeric = numerical_gradients(model, x, t)
    assert len(analytic) == len(numeric) > 2
    for a, n in zip(analytic, numeric):
        np.testing.assert_allclose(a, n, rtol=1e-5, atol=1e-8)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("axis", [-1, [1, 2], 2])
def test_layer_norm_values(axis, backend):
    rng = np.random.default_rng(5)
    x = rng.normal(3.0, 2.0, (6, 4, 5)).astype(np.float32)
    layer = layers.LayerNormalization(axis=axis)
    with nerve.use_backend(backend):
        y = layer(x)
    axes = (1, 2) if axis == [1, 2] else (2,)
    mean, var = x.mean(axis=axes, keepdims=True), x.var(axis=axes, keepdims=True)
    np.testing.assert_allclose(y, (x - mean) / np.sqrt(var + 1e-3), rtol=1e-4, atol=1e-5)
    assert layer.gamma.shape == ((4, 5) if axis == [1, 2] else (5,))


def test_weights_summary_and_parameter_counts():
    model = nerve.Sequential([nerve.Input(shape=(6, 6, 8)), layers.BatchNormalization(),
                              layers.Flatten(), layers.LayerNormalization(),
                              layers.Dense(2)])
    bn, _, ln, _ = model.layers
    assert [w.name for w in bn.weights] == ["gamma", "beta", "moving_mean", "moving_variance"]
    assert [w.trainable for w in bn.weights] == [True, True, False, False]
    assert bn.count_params() == 4 * 8 and ln.count_params() == 2 * 288
    assert [w.shape for w in ln.weights] == [(288,), (288,)]
    text = []
    model.summary(print_fn=text.append)
    text = "\n".join(text)
    assert f"{bn.name} (BatchNormalization)" in text and "(None, 6, 6, 8)" in text
    assert "Non-trainable params: 16" in text
    assert layers.BatchNormalization(center=False, scale=False)(
        np.ones((2, 3), np.float32)).shape == (2, 3)


def test_config_and_save_load_round_trip(tmp_path):
    rng = np.random.default_rng(6)
    model = nerve.Sequential([
        nerve.Input(shape=(4, 3)),
        layers.BatchNormalization(axis=1, momentum=0.8, epsilon=1e-2, center=False,
                                  gamma_regularizer="l2"),
        layers.LayerNormalization(axis=[-2, -1], epsilon=1e-4), layers.Flatten(),
        layers.Dense(1)])
    model.compile(optimizer="adam", loss="mse")
    x, y = rng.normal(size=(20, 4, 3)), rng.normal(size=(20, 1))
    model.fit(x, y, epochs=2, verbose=0)
    path = tmp_path / "norm.nerve"
    model.save(path)
    loaded = nerve.models.load_model(path)
    bn, ln = loaded.layers[:2]
    assert (bn.axis, bn.momentum, bn.epsilon, bn.center) == (1, 0.8, 0.01, False)
    assert ln.axis == [-2, -1] and ln.epsilon == 1e-4
    for a, b in zip(model.get_weights(), loaded.get_weights()):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
    clone = layers.BatchNormalization.from_config(model.layers[0].get_config())
    assert clone.get_config() == {**model.layers[0].get_config(), "name": clone.name}


@pytest.mark.parametrize("make, error, fragment", [
    (lambda: layers.BatchNormalization(epsilon=0), ValueError, "epsilon: expected a finite"),
    (lambda: layers.BatchNormalization(momentum=1.5), ValueError, "momentum"),
    (lambda: layers.BatchNormalization(axis="x"), TypeError, "axis: expected an int"),
    (lambda: layers.BatchNormalization(synchronized=True), ValueError, "synchronized"),
    (lambda: layers.LayerNormalization(rms_scaling=True), ValueError, "rms_scaling"),
    (lambda: layers.LayerNormalization(axis=1.5), TypeError, "axis"),
    (lambda: layers.BatchNormalization(axis=3)(nerve.Input(shape=(4, 2))), ValueError,
     "batch_normalization"),
    (lambda: layers.BatchNormalization(axis=0)(nerve.Input(shape=(4,))), ValueError,
     "batch axis"),
    (lambda: layers.LayerNormalization(axis=1)(nerve.Input(shape=(4, 2))), ValueError,
     "last axes"),
    (lambda: layers.BatchNormalization()(nerve.Input(shape=(3,), dtype="int32")), TypeError,
     "expected float tensors, received a int32 tensor"),
])
def test_bad_arguments_name_the_problem(make, error, fragment):
    with pytest.raises(error, match=fragment):
        make()


def test_built_layer_refuses_other_channel_counts():
    bn = layers.BatchNormalization()
    bn(nerve.Input(shape=(4,)))
    with pytest.raises(ValueError, match="normalizes 4 channels"):
        bn(nerve.Input(shape=(5,)))
    ln = layers.LayerNormalization()
    ln(nerve.Input(shape=(4,)))
    with pytest.raises(ValueError, match=r"normalizes axes of shape \(4,\)"):
        ln(nerve.Input(shape=(5,)))
