"""A user's layers, losses, metrics and constraints, against the built-in equivalents: the
same numbers, on both backends, and the fused plan a user's Dense compiles to."""
import numpy as np
import pytest

import nerve
from nerve import layers, ops

BACKENDS = ["cpp", "numpy"]


class Linear(layers.Layer):
    def __init__(self, units, activation=None, **kwargs):
        super().__init__(**kwargs)
        self.units, self.activation = units, activation

    def build(self, input_shape):
        self.kernel = self.add_weight(shape=(input_shape[-1], self.units), name="kernel")
        self.bias = self.add_weight(shape=(self.units,), initializer="zeros", name="bias")

    def call(self, x):
        y = ops.matmul(x, self.kernel) + self.bias
        return getattr(ops, self.activation)(y) if self.activation else y


def data(rows=48, features=5, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((rows, features)).astype(np.float32)
    y = np.eye(3, dtype=np.float32)[(x[:, 0] > 0).astype(int) + (x[:, 1] > 1)]
    return x, y


def twin_models(loss_a, loss_b, custom_layer):
    """Two models with the same initial weights: built-in Dense layers, and the same with
    the hidden layer (when custom_layer) written as a Linear."""
    def make(custom):
        hidden = Linear(8, "relu") if custom else layers.Dense(8, activation="relu")
        inputs = nerve.Input(shape=(5,))
        return nerve.Model(inputs, layers.Dense(3, activation="softmax")(hidden(inputs)))
    a, b = make(False), make(custom_layer)
    b.set_weights(a.get_weights())
    a.compile(optimizer=nerve.optimizers.Adam(0.01), loss=loss_a)
    b.compile(optimizer=nerve.optimizers.Adam(0.01), loss=loss_b)
    return a, b


def crossentropy(y_true, y_pred):
    return -ops.sum(y_true * ops.log(ops.clip(y_pred, 1e-7, 1 - 1e-7)), axis=-1)


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_custom_dense_trains_as_the_built_in_one_on_the_same_fused_kernels(backend):
    x, y = data()
    with nerve.use_backend(backend):
        built_in, custom = twin_models("categorical_crossentropy", "categorical_crossentropy",
                                       True)
        history_a = built_in.fit(x, y, batch_size=16, epochs=3, verbose=0,
                                 shuffle=False).history
        history_b = custom.fit(x, y, batch_size=16, epochs=3, verbose=0, shuffle=False).history
        plan = nerve.graph.plan.Plan(custom, nerve.get_backend(), 16, "train")
    for a, b in zip(built_in.get_weights(), custom.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(history_a["loss"], history_b["loss"], rtol=1e-5)
    names = [getattr(f, "__name__", "") for f, _ in plan.forward + plan.backward]
    assert names == ["dense_forward"] * 2 + ["dense_backward"] * 2


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_loss_function_trains_as_the_built_in_loss(backend):
    x, y = data(seed=1)
    with nerve.use_backend(backend):
        built_in, custom = twin_models("categorical_crossentropy", crossentropy, False)
        weights = np.linspace(0.5, 1.5, len(x)).astype(np.float32)
        built_in.fit(x, y, batch_size=12, epochs=2, verbose=0, sample_weight=weights,
                     shuffle=False)
        custom.fit(x, y, batch_size=12, epochs=2, verbose=0, sample_weight=weights,
                     shuffle=False)
        assert custom.evaluate(x, y, verbose=0) == pytest.approx(
            built_in.evaluate(x, y, verbose=0), rel=1e-5)
    for a, b in zip(built_in.get_weights(), custom.get_weights()):
        np.testing.assert_allclose(a, b, rtol=2e-5, atol=2e-6)


class Absolute(nerve.losses.Loss):
    def call(self, y_true, y_pred):
        return ops.mean(ops.abs(y_true - y_pred), axis=-1)


def test_a_loss_subclass_and_the_built_in_loss_agree_on_arrays_and_in_training():
    x, y = data(seed=2)
    built_in, custom = twin_models("mae", Absolute(), False)
    assert Absolute()(y, built_in.predict(x, verbose=0)) == pytest.approx(
        nerve.losses.MeanAbsoluteError()(y, built_in.predict(x, verbose=0)), rel=1e-6)
    built_in.fit(x, y, batch_size=16, epochs=2, verbose=0, shuffle=False)
    custom.fit(x, y, batch_size=16, epochs=2, verbose=0, shuffle=False)
    for a, b in zip(built_in.get_weights(), custom.get_weights()):
        np.testing.assert_allclose(a, b, rtol=2e-5, atol=2e-6)


class Hits(nerve.metrics.Metric):
    def __init__(self, name="hits", **kwargs):
        super().__init__(name=name, **kwargs)
        self.hits = self.add_weight(name="hits")
        self.seen = self.add_weight(name="seen")

    def update_state(self, y_true, y_pred, sample_weight=None):
        same = ops.equal(ops.argmax(y_true, axis=-1), ops.argmax(y_pred, axis=-1))
        self.hits.assign_add(ops.sum(ops.cast(same, "float32")))
        self.seen.assign_add(float(len(y_true)))

    def result(self):
        return self.hits / self.seen


def agreement(y_true, y_pred):
    return ops.cast(ops.equal(ops.argmax(y_true, -1), ops.argmax(y_pred, -1)), "float32")


def test_metric_functions_and_subclasses_equal_the_built_in_accuracy():
    x, y = data(seed=3)
    model, _ = twin_models("categorical_crossentropy", "categorical_crossentropy", False)
    model.compile(optimizer="adam", loss="categorical_crossentropy",
                  metrics=["accuracy", agreement, Hits()])
    history = model.fit(x, y, batch_size=10, epochs=2, verbose=0, shuffle=False).history
    assert history["agreement"] == pytest.approx(history["accuracy"])
    assert history["hits"] == pytest.approx(history["accuracy"])


def test_a_constraint_projects_the_weight_after_each_step():
    class Positive(layers.Layer):
        def build(self, input_shape):
            self.w = self.add_weight(shape=(input_shape[-1], 1), constraint="non_neg")

        def call(self, x):
            return ops.matmul(x, self.w)

    x, y = data(seed=4)
    inputs = nerve.Input(shape=(5,))
    model = nerve.Model(inputs, Positive()(inputs))
    model.compile(optimizer=nerve.optimizers.SGD(1.0), loss="mse")
    model.fit(x, -np.abs(y[:, :1]) * 10, epochs=2, verbose=0)
    assert (model.weights[0].numpy() >= 0).all() and (model.weights[0].numpy() == 0).any()


def test_symbolic_tensors_explain_what_to_use_instead_of_numpy():
    class UsesNumpy(layers.Layer):
        def __init__(self, function, **kwargs):
            super().__init__(**kwargs)
            self.function = function

        def call(self, x):
            return getattr(np, self.function)(x)

    inputs = nerve.Input(shape=(3,))
    for function in ("tanh", "mean", "exp"):
        with pytest.raises(TypeError, match=f"np.{function} cannot compute on a symbolic "
                                            f"tensor.*use nerve.ops.{function}"):
            UsesNumpy(function)(inputs)
    assert (np.ones(3, np.float32) + inputs).shape == (None, 3)  # operators trace
    with pytest.raises(ValueError, match=r"ops.add: cannot apply to shapes \(None, 3\), "
                                         r"\(None, 4\)"):
        ops.add(inputs, nerve.Input(shape=(4,)))
    with pytest.raises(ValueError, match="add_loss"):
        layers.Layer().add_loss(1.0)


def test_a_functional_graph_of_raw_ops_trains_but_refuses_a_config():
    x, y = data(seed=5)
    inputs = nerve.Input(shape=(5,))
    hidden = ops.tanh(layers.Dense(4)(inputs)) * 2.0
    model = nerve.Model(inputs, layers.Dense(3, activation="softmax")(hidden))
    model.compile(optimizer="adam", loss="categorical_crossentropy")
    losses = model.fit(x, y, epochs=5, verbose=0).history["loss"]
    assert losses[-1] < losses[0]
    with pytest.raises(NotImplementedError, match="tanh"):
        model.get_config()


class Centre(layers.Layer):
    """Subtracts a running mean that it updates, in training, before reading it."""

    def build(self, input_shape):
        self.mean = self.add_weight(shape=(input_shape[-1],), initializer="zeros",
                                    trainable=False, name="mean")

    def call(self, x, training=None):
        if training:
            self.mean.assign(0.5 * self.mean + 0.5 * ops.mean(x, axis=0))
        return x - self.mean


@pytest.mark.parametrize("backend", BACKENDS)
def test_state_assigned_in_call_is_read_in_order_and_kept(backend):
    x, y = data(seed=6)
    with nerve.use_backend(backend):
        layer = Centre()
        np.testing.assert_allclose(layer(x[:8], training=True), x[:8] - 0.5 * x[:8].mean(0),
                                   rtol=1e-6, atol=1e-7)
        np.testing.assert_allclose(layer(x[:8]), x[:8] - 0.5 * x[:8].mean(0), rtol=1e-6,
                                   atol=1e-7)  # inference reads the state, leaves it
        model = nerve.Sequential([nerve.Input(shape=(5,)), Centre(), layers.Dense(3)])
        model.compile(optimizer="sgd", loss="mse")
        model.fit(x, y, batch_size=16, epochs=1, shuffle=False, verbose=0)
    expected = np.zeros(5)
    for start in range(0, len(x), 16):
        expected = 0.5 * expected + 0.5 * x[start:start + 16].mean(0)
    np.testing.assert_allclose(model.layers[0].mean.numpy(), expected, rtol=1e-6)
    assert not model.layers[0].trainable_weights
