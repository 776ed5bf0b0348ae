"""The same model, from the same weights, trained on the C++ and the NumPy backends must end
with the same weights (within float tolerance) for every optimizer, loss and activation."""
import numpy as np
import pytest

import nerve
from nerve import Dense, Sequential, layers, optimizers

ACTIVATIONS = ["linear", "relu", "leaky_relu", "elu", "selu", "sigmoid", "hard_sigmoid", "tanh",
               "softplus", "softsign", "silu", "swish", "gelu", "exponential", "softmax"]
OPTIMIZERS = [
    lambda: optimizers.SGD(0.05),
    lambda: optimizers.SGD(0.05, momentum=0.9, nesterov=True),
    lambda: optimizers.Adam(0.01),
    lambda: optimizers.AdamW(0.01, weight_decay=0.1),
    lambda: optimizers.RMSprop(0.01),
    lambda: optimizers.RMSprop(0.01, momentum=0.5, centered=True),
    lambda: optimizers.Adagrad(0.05),
    lambda: optimizers.Adam(0.01, clipnorm=0.1),
    lambda: optimizers.SGD(0.05, global_clipnorm=0.1),
    lambda: optimizers.SGD(0.05, clipvalue=0.01),
]
# (loss, output units, output activation, target maker)
LOSSES = [
    ("binary_crossentropy", 1, "sigmoid", lambda r, n: (r.random((n, 1)) > 0.5)),
    ("binary_crossentropy", 3, "sigmoid", lambda r, n: (r.random((n, 3)) > 0.5)),
    (nerve.losses.BinaryCrossentropy(from_logits=True), 1, None, lambda r, n: r.random(n) > 0.5),
    ("categorical_crossentropy", 4, "softmax", lambda r, n: np.eye(4)[r.integers(0, 4, n)]),
    (nerve.losses.CategoricalCrossentropy(from_logits=True), 4, None,
     lambda r, n: np.eye(4)[r.integers(0, 4, n)]),
    ("sparse_categorical_crossentropy", 4, "softmax", lambda r, n: r.integers(0, 4, n)),
    (nerve.losses.SparseCategoricalCrossentropy(from_logits=True), 4, None,
     lambda r, n: r.integers(0, 4, n)),
    ("categorical_crossentropy", 4, "softplus", lambda r, n: np.eye(4)[r.integers(0, 4, n)]),
    ("mse", 2, None, lambda r, n: r.normal(size=(n, 2))),
    ("mae", 2, "tanh", lambda r, n: r.normal(size=(n, 2))),
    ("huber", 2, None, lambda r, n: 3 * r.normal(size=(n, 2))),
]
TOLERANCE = {"float32": dict(rtol=2e-4, atol=2e-5), "float64": dict(rtol=1e-9, atol=1e-11)}


def train_on(backend, make_model, x, y, optimizer, steps=5, dtype="float32"):
    nerve.utils.set_floatx(dtype)
    try:
        nerve.utils.set_random_seed(7)
        model = make_model()
        model.compile(optimizer=optimizer(), loss=model.test_loss)
        with nerve.use_backend(backend):
            model.fit(x, y, batch_size=8, epochs=steps, shuffle=False, verbose=0)
        return model.get_weights()
    finally:
        nerve.utils.set_floatx("float32")


def assert_backends_agree(make_model, x, y, optimizer=lambda: optimizers.Adam(0.01),
                          dtype="float32"):
    cpp = train_on("cpp", make_model, x, y, optimizer, dtype=dtype)
    ref = train_on("numpy", make_model, x, y, optimizer, dtype=dtype)
    for a, b in zip(cpp, ref):
        assert a.dtype == np.dtype(dtype)
        np.testing.assert_allclose(a, b, **TOLERANCE[dtype])


def model_maker(hidden="relu", units=1, output=None, loss="mse", extra=lambda: ()):
    def make():
        model = Sequential([layers.Input(shape=(5,)), Dense(6, activation=hidden), *extra(),
                            Dense(units, activation=output)])
        model.test_loss = loss
        return model
    return make


def data(rng, n=20, target=lambda r, n: r.normal(size=(n, 1))):
    return rng.normal(size=(n, 5)), target(rng, n)


@pytest.mark.parametrize("optimizer", OPTIMIZERS, ids=lambda f: repr(f()))
def test_every_optimizer(optimizer):
    x, y = data(np.random.default_rng(0))
    assert_backends_agree(model_maker(), x, y, optimizer)


@pytest.mark.parametrize("loss,units,output,target", LOSSES,
                         ids=[f"{l if isinstance(l, str) else repr(l)}-{u}-{a}"
                              for l, u, a, _ in LOSSES])
def test_every_loss(loss, units, output, target):
    x, y = data(np.random.default_rng(1), target=target)
    assert_backends_agree(model_maker("tanh", units, output, loss), x, y)


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_every_activation(activation):
    x, y = data(np.random.default_rng(2))
    assert_backends_agree(model_maker(activation), x, y)


@pytest.mark.parametrize("activation", ["relu", "softmax", "gelu"])
def test_activation_layer_and_regularizers_and_dropout(activation):
    def extra():
        return (layers.Activation(activation), layers.Dropout(0.3, seed=3),
                Dense(4, kernel_regularizer=nerve.regularizers.L1L2(0.01, 0.01),
                      bias_regularizer=nerve.regularizers.L2(0.1)))
    x, y = data(np.random.default_rng(3))
    assert_backends_agree(model_maker("linear", extra=extra), x, y)


@pytest.mark.parametrize("optimizer", [OPTIMIZERS[1], OPTIMIZERS[3], OPTIMIZERS[5]])
def test_float64_models(optimizer):
    x, y = data(np.random.default_rng(4))
    assert_backends_agree(model_maker("elu", 3, "softmax", "sparse_categorical_crossentropy"),
                          x, np.random.default_rng(5).integers(0, 3, len(x)), optimizer,
                          dtype="float64")


def test_backend_is_read_at_each_call(monkeypatch):
    calls = []
    original = nerve.reference.dense_forward
    monkeypatch.setattr(nerve.reference, "dense_forward",
                        lambda *a, **k: calls.append(1) or original(*a, **k))
    model = model_maker()()
    x = np.ones((3, 5))
    fast = model.predict(x, verbose=0)
    assert not calls
    nerve.set_backend("numpy")
    try:
        reference = model.predict(x, verbose=0)
    finally:
        nerve.set_backend("cpp")
    assert calls
    np.testing.assert_allclose(fast, reference, rtol=1e-5, atol=1e-6)
    with nerve.use_backend("numpy"):
        np.testing.assert_array_equal(model.predict(x, verbose=0), reference)
