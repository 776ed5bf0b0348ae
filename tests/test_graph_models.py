"""The graph core: functional, nested and subclassed models, the merge layers (values, and
gradients against finite differences), both backends, multi-output training, the Model and
Variable API, saving, and the plan's buffer reuse."""
import contextlib
import json
import zipfile

import numpy as np
import pytest

import nerve
from nerve import layers, optimizers
from nerve.backend import get_backend
from nerve.graph.plan import _root


@pytest.fixture(autouse=True)
def seeded():
    nerve.utils.set_random_seed(1)  # initial weights and dropout masks independent of order


@contextlib.contextmanager
def float64_numpy():
    nerve.utils.set_floatx("float64")
    try:
        with nerve.use_backend("numpy"):
            yield
    finally:
        nerve.utils.set_floatx("float32")


def rng(seed=0):
    return np.random.default_rng(seed)


def f32(*shapes, seed=0):
    g = rng(seed)
    return [g.normal(size=s).astype(np.float32) for s in shapes]


def changed(before, after):
    return all(not np.array_equal(u, v) for u, v in zip(before, after))


def weight_gradient_check(model, xs, y, batch, lr=0.5, eps=1e-6):
    """One SGD(lr) step moves each weight by -lr x the central-difference gradient of the loss
    that evaluate() reports (run in float64 on the numpy backend)."""
    model.compile(optimizer=optimizers.SGD(learning_rate=lr), loss="mse")

    def loss():
        return model.evaluate(xs, y, batch_size=batch, verbose=0, return_dict=True)["loss"]
    numeric = []
    for variable in model.weights:
        view, grad = np.asarray(variable), np.zeros(variable.shape)  # a view: writes through
        for index in np.ndindex(*variable.shape):
            keep = view[index]
            view[index] = keep + eps
            up = loss()
            view[index] = keep - eps
            grad[index] = (up - loss()) / (2 * eps)
            view[index] = keep
        numeric.append(grad)
    before = model.get_weights()
    model.train_on_batch(xs, y)
    for variable, old, new, grad in zip(model.weights, before, model.get_weights(), numeric):
        assert np.abs(grad).max() > 0, variable.path
        np.testing.assert_allclose((old - new) / lr, grad, rtol=1e-5, atol=1e-8,
                                   err_msg=variable.path)


def test_input_model_and_shape_errors_at_the_call():
    x = nerve.Input(shape=(4,))
    assert isinstance(x, nerve.graph.SymbolicTensor) and x.shape == (None, 4)
    assert x.dtype == "float32" and nerve.layers.Input((2, 3), dtype="float64").dtype == "float64"
    out = layers.Dense(2)(x)
    assert out.shape == (None, 2)
    assert isinstance(nerve.Model(x, out), nerve.Functional)
    assert isinstance(nerve.models.Model(inputs=x, outputs=out), nerve.Functional)
    with pytest.raises(ValueError, match=r"bad_add.*\(None, 4\).*\(None, 3\)"):
        layers.Add(name="bad_add")([x, nerve.Input(shape=(3,))])
    dense = layers.Dense(2, name="eight")
    dense(nerve.Input(shape=(8,)))
    with pytest.raises(ValueError, match=r"eight.*8.*6"):
        dense(nerve.Input(shape=(6,)))
    with pytest.raises(ValueError, match=r"cat.*\(None, 4, 2\).*\(None, 3, 3\)"):
        layers.Concatenate(axis=1, name="cat")([nerve.Input((4, 2)), nerve.Input((3, 3))])


def two_in_two_out(named=True):
    a, b = nerve.Input(shape=(4,), name="a"), nerve.Input(shape=(3,), name="b")
    merged = layers.concatenate([layers.Dense(5)(a), layers.Dense(5)(b)])
    p = layers.Dense(1, activation="sigmoid", name="p")(merged)
    r = layers.Dense(2, name="r")(merged)
    return nerve.Model({"a": a, "b": b}, {"p": p, "r": r}) if named else nerve.Model([a, b], [p, r])


def test_multiple_inputs_and_outputs_as_lists_and_dicts(tmp_path):
    g = rng()
    xa, xb, yp, yr = g.normal(size=(24, 4)), g.normal(size=(24, 3)), g.random((24, 1)) > .5, \
        g.normal(size=(24, 2))
    listed = two_in_two_out(named=False)
    listed.compile("adam", loss=["binary_crossentropy", "mse"])
    listed.fit([xa, xb], [yp, yr], epochs=2, batch_size=8, verbose=0)
    out = listed.predict([xa, xb], verbose=0)
    assert isinstance(out, list) and [o.shape for o in out] == [(24, 1), (24, 2)]
    assert len(listed.evaluate([xa, xb], [yp, yr], verbose=0)) == 3
    named = two_in_two_out()
    named.compile("adam", loss={"p": "binary_crossentropy", "r": "mse"}, metrics={"p": ["mae"]})
    before = named.get_weights()
    named.fit({"a": xa, "b": xb}, {"p": yp, "r": yr}, epochs=2, batch_size=8, verbose=0)
    assert changed(before, named.get_weights())
    out = named.predict({"b": xb, "a": xa}, verbose=0)
    assert set(out) == {"p", "r"} and out["r"].shape == (24, 2)
    np.testing.assert_array_equal(out["p"], named.predict([xa, xb], verbose=0)["p"])
    logs = named.evaluate({"a": xa, "b": xb}, {"p": yp, "r": yr}, verbose=0, return_dict=True)
    assert set(logs) == {"loss", "p_loss", "r_loss", "p_mae"}
    named.save(tmp_path / "multi.nerve")  # and the functional multi-input model round-trips
    loaded = nerve.models.load_model(tmp_path / "multi.nerve")
    assert isinstance(loaded, nerve.Functional)
    again = loaded.predict([xa, xb], verbose=0)
    assert set(again) == {"p", "r"} and all(np.array_equal(again[k], out[k]) for k in out)
    assert loaded.evaluate([xa, xb], [yp, yr], return_dict=True, verbose=0) == logs


def test_shared_layer_nested_model_and_custom_layer():
    a, b = nerve.Input(shape=(4,)), nerve.Input(shape=(4,))
    shared = layers.Dense(3, name="shared_dense")
    model = nerve.Model([a, b], layers.add([shared(a), shared(b)]))
    assert [w.path for w in model.weights] == ["shared_dense/kernel", "shared_dense/bias"]
    xa, xb = f32((5, 4), (5, 4))
    np.testing.assert_allclose(model.predict([xa, xb], verbose=0), (xa + xb) @ shared.kernel
                               + 2 * shared.bias, rtol=1e-5, atol=1e-6)
    inner_in = nerve.Input(shape=(4,))
    inner = nerve.Model(inner_in, layers.Dense(3, activation="tanh")(inner_in))
    x = nerve.Input(shape=(4,))
    model = nerve.Model(x, layers.Dense(1)(layers.add([inner(x), inner(x)])))
    assert inner in model.layers and model.weights[:2] == inner.weights
    assert len(model.weights) == 4
    before = inner.get_weights()
    model.compile("adam", loss="mse")
    model.fit(xa, xb[:, :1], epochs=3, verbose=0)
    assert changed(before, inner.get_weights())
    top = model.layers[-1]
    np.testing.assert_allclose(model.predict(xb, verbose=0), 2 * inner.predict(xb, verbose=0)
                               @ top.kernel + top.bias, rtol=1e-5, atol=1e-6)
    block = Block(4, name="block")  # a user's Layer composed of two Dense layers
    out = block(x)
    assert out.shape == (None, 4)
    model = nerve.Model(x, layers.Dense(1)(block(out)))  # called twice: shared weights
    assert model.weights[:4] == block.weights and len(model.weights) == 6
    before = block.get_weights()
    model.compile("adam", loss="mse")
    model.fit(xa, xb[:, :1], epochs=2, verbose=0)
    assert changed(before, block.get_weights())
    inner, outer = block.inner, block.outer
    np.testing.assert_allclose(block(xb), xb + np.maximum(xb @ inner.kernel + inner.bias, 0)
                               @ outer.kernel + outer.bias, rtol=1e-5, atol=1e-6)


MERGES = [(layers.Add, layers.add, lambda xs: sum(xs)),
          (layers.Subtract, layers.subtract, lambda xs: xs[0] - xs[1]),
          (layers.Multiply, layers.multiply, lambda xs: np.prod(np.broadcast_arrays(*xs), 0)),
          (layers.Average, layers.average, lambda xs: sum(xs) / len(xs)),
          (layers.Maximum, layers.maximum, lambda xs: np.max(np.broadcast_arrays(*xs), 0)),
          (layers.Minimum, layers.minimum, lambda xs: np.min(np.broadcast_arrays(*xs), 0))]


@pytest.mark.filterwarnings("error::DeprecationWarning")
@pytest.mark.parametrize("make, functional, reference", MERGES,
                         ids=[m[0].__name__ for m in MERGES])
def test_elementwise_merge_values(make, functional, reference):
    a, b, column, c = f32((5, 4), (5, 4), (5, 1), (5, 4))
    for xs in ([a, b], [a, column], [column, a]) + (() if make is layers.Subtract else
                                                    ([a, b, c], [a, column, c])):
        np.testing.assert_allclose(make()(xs), reference(xs), rtol=1e-6, atol=1e-7)
    x, col = nerve.Input(shape=(4,)), nerve.Input(shape=(1,))
    out = functional([x, col])
    assert out.shape == (None, 4) and type(out.node.operation) is make
    np.testing.assert_allclose(nerve.Model([x, col], out).predict([a, column], verbose=0),
                               reference([a, column]), rtol=1e-6, atol=1e-7)


def test_concatenate_and_dot_values():
    a, b, u, v, m, n = f32((3, 2, 4), (3, 2, 5), (6, 4), (6, 4), (3, 2, 4), (3, 4, 5))
    close = lambda got, want: np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)  # noqa
    close(layers.Concatenate()([a, b]), np.concatenate([a, b], -1))
    close(layers.concatenate([a, a], axis=1), np.concatenate([a, a], 1))
    assert layers.concatenate([nerve.Input((2, 4)), nerve.Input((3, 4))], axis=1).shape == \
        (None, 5, 4)
    close(layers.Dot(axes=1)([u, v]), (u * v).sum(1, keepdims=True))
    cosine = (u * v).sum(1) / np.linalg.norm(u, axis=1) / np.linalg.norm(v, axis=1)
    close(layers.dot([u, v], axes=1, normalize=True)[:, 0], cosine)
    close(layers.Dot(axes=(2, 1))([m, n]), np.einsum("bij,bjk->bik", m, n))
    close(layers.Dot(axes=1)([m, m]), np.einsum("bij,bik->bjk", m, m))


GRADIENT_MERGES = {  # name: (merge of [left (None, 4), right (None, k)], k)
    "add": (layers.add, 4), "add_broadcast": (layers.add, 1),
    "subtract": (layers.subtract, 4), "subtract_broadcast": (lambda xs: layers.subtract(
        xs[::-1]), 1), "multiply": (layers.multiply, 4), "multiply_broadcast": (lambda xs:
        layers.Multiply()(xs), 1), "average": (layers.average, 1), "maximum": (layers.maximum, 4),
    "minimum": (layers.minimum, 1), "concatenate": (layers.concatenate, 2),
    "dot": (lambda xs: layers.Dot(axes=1)(xs), 4),
    "cosine": (lambda xs: layers.dot(xs, axes=-1, normalize=True), 4)}


@pytest.mark.filterwarnings("error::DeprecationWarning")
@pytest.mark.parametrize("name", GRADIENT_MERGES)
def test_merge_gradients_match_finite_differences(name):
    merge, second = GRADIENT_MERGES[name]
    with float64_numpy():
        nerve.utils.set_random_seed(3)
        a, b = nerve.Input(shape=(3,)), nerve.Input(shape=(2,))
        left = layers.Dense(4, activation="tanh")(a)
        right = layers.Dense(second, activation="tanh")(b)
        model = nerve.Model([a, b], layers.Dense(1)(merge([left, right])))
        g = rng(4)
        weight_gradient_check(model, [g.normal(size=(6, 3)), g.normal(size=(6, 2))],
                              g.normal(size=(6, 1)), 6)


def test_branching_shared_and_nested_gradients_accumulate():
    """A tensor read by several layers (or twice by one), a layer called twice, a nested model
    and a custom layer called twice, an output also read inside: gradients are summed."""
    with float64_numpy():
        nerve.utils.set_random_seed(5)
        inner_in = nerve.Input(shape=(4,))
        inner = nerve.Model(inner_in, layers.Dense(4, activation="tanh")(inner_in))
        x = nerve.Input(shape=(3,))
        stem = layers.Dense(4, activation="tanh", name="stem")(x)
        shared, block = layers.Dense(4, activation="tanh"), Block(4)
        left = shared(layers.Dense(4, activation="sigmoid")(stem))
        right = shared(inner(stem))
        both = layers.concatenate([layers.add([left, right, stem]), layers.multiply([left, stem]),
                                   layers.multiply([right, right]), block(block(inner(left))),
                                   layers.maximum([left, left, stem])])  # ties share
        side = layers.Dense(1)(right)
        model = nerve.Model(x, [layers.Dense(1)(layers.concatenate([both, side])), side])
        assert len(model.weights) == 2 * 8  # each Dense once
        g = rng(6)
        weight_gradient_check(model, g.normal(size=(5, 3)), [g.normal(size=(5, 1))] * 2, 5)


def residual_model():
    x = nerve.Input(shape=(5,))
    h = layers.Dense(8, activation="relu")(x)
    h = layers.add([h, layers.Dense(8, activation="tanh")(h)])
    h = layers.concatenate([h, layers.Dense(3)(x)])
    return nerve.Model(x, layers.Dense(1)(h))


def train_with(backend, make, x, y):
    nerve.utils.set_random_seed(11)
    model = make()
    model.compile(optimizers.Adam(0.01), loss="mse")
    with nerve.use_backend(backend):
        model.fit(x, y, batch_size=8, epochs=4, shuffle=False, verbose=0)
    return model.get_weights()


def test_residual_functional_model_agrees_on_both_backends():
    g = rng(2)
    x, y = g.normal(size=(24, 5)), g.normal(size=(24, 1))
    cpp, ref = train_with("cpp", residual_model, x, y), train_with("numpy", residual_model, x, y)
    assert len(cpp) == 8 and changed(cpp, train_with("cpp", residual_model, x, 2 * y))
    for a, b in zip(cpp, ref):
        np.testing.assert_allclose(a, b, rtol=2e-4, atol=2e-5)


@pytest.mark.parametrize("backend", ["cpp", "numpy"])
def test_functional_chain_trains_bitwise_like_sequential(backend):
    def chain():
        return [layers.Dense(6, activation="relu"), layers.Dense(4, activation="tanh"),
                layers.Dense(1, activation="sigmoid")]

    def functional():
        x = h = nerve.Input(shape=(5,))
        for layer in chain():
            h = layer(h)
        return nerve.Model(x, h)
    g = rng(3)
    x, y = g.normal(size=(30, 5)), g.random((30, 1)) > 0.5
    a = train_with(backend, lambda: nerve.Sequential([nerve.Input(shape=(5,))] + chain()), x, y)
    b = train_with(backend, functional, x, y)
    assert len(a) == len(b) == 6 and all(np.array_equal(u, v) for u, v in zip(a, b))


class Tower(nerve.Model):
    def __init__(self, units=8, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.first = layers.Dense(units, activation="relu", name="first")
        self.blocks = [layers.Dense(units, activation="tanh"), layers.Dense(units)]
        self.heads = {"out": layers.Dense(1, name="head")}
        self.drop = layers.Dropout(0.5)

    def call(self, inputs, training=None):
        h = self.first(inputs)
        for block in self.blocks:
            h = block(h)
        if training:
            h = self.drop(h)
        return self.heads["out"](h)

    def get_config(self):
        return {**super().get_config(), "units": self.units}


@nerve.saving.register_keras_serializable(package="test")
class RegisteredTower(Tower):
    pass


class Block(layers.Layer):
    def __init__(self, units, **kwargs):
        super().__init__(**kwargs)
        self.inner, self.outer = layers.Dense(units, activation="relu"), layers.Dense(units)

    def call(self, inputs):
        return layers.add([inputs, self.outer(self.inner(inputs))])


def test_subclassed_model_tracks_layers_trains_and_calls_eagerly():
    model = Tower()
    model.compile("adam", loss="mse")
    x, y = f32((40, 3), (40, 1))
    start = model.evaluate(x, y, verbose=0)
    model.fit(x, y, epochs=10, batch_size=8, verbose=0)
    assert model.evaluate(x, y, verbose=0) < start
    assert model.layers == [model.first, *model.blocks, model.heads["out"], model.drop]
    paths = [w.path for w in model.weights]
    assert len(paths) == 8 and paths[:2] == ["first/kernel", "first/bias"]
    assert paths[-1] == "head/bias"
    out = model(x[:4])
    assert isinstance(out, np.ndarray) and out.shape == (4, 1)
    np.testing.assert_array_equal(out, model(x[:4]))  # no dropout unless training
    np.testing.assert_allclose(out, model.predict(x[:4], verbose=0), rtol=1e-6)
    assert not np.allclose(model(x[:4], training=True), out)


@pytest.mark.parametrize("cls", [RegisteredTower, Tower], ids=["registered", "custom_objects"])
def test_subclassed_model_saves_and_loads(tmp_path, cls):
    model = cls(units=5)
    model.compile("adam", loss="mse")
    x, y = f32((16, 3), (16, 1))
    model.fit(x, y, epochs=2, verbose=0)
    assert model.get_config()["units"] == 5
    model.save(tmp_path / "tower.nerve")
    custom = None if cls is RegisteredTower else {"Tower": Tower}
    loaded = nerve.models.load_model(tmp_path / "tower.nerve", custom_objects=custom)
    assert type(loaded) is cls and loaded.units == 5
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
    loaded.fit(x, y, epochs=1, verbose=0)  # compiled, as it was saved
    if cls is Tower:
        with pytest.raises(ValueError, match="Tower"):
            nerve.models.load_model(tmp_path / "tower.nerve")


def summary_text(model):
    lines = []
    model.summary(print_fn=lines.append)
    return lines


def branching_model():
    x = nerve.Input(shape=(4,), name="features")
    stem = layers.Dense(6, activation="relu", name="stem")(x)
    left = layers.Dense(3, name="left")(stem)
    right = layers.Dropout(0.5, name="drop")(layers.Dense(3, name="right")(stem))
    return nerve.Model(x, layers.Dense(1, name="top")(layers.add([left, right], name="join")))


def test_get_layer_json_connectivity_eager_calls_and_summary():
    model = branching_model()
    assert model.get_layer("stem") is model.get_layer(index=1)
    assert model.get_layer(index=-1).name == "top"
    for kwargs in ({"name": "nope"}, {"index": 99}, {}, {"name": "stem", "index": 1}):
        with pytest.raises(ValueError, match="get_layer"):
            model.get_layer(**kwargs)
    stem, join, drop = (model.get_layer(n) for n in ("stem", "join", "drop"))
    assert model.inputs[0].shape == (None, 4) and model.outputs[0].shape == (None, 1)
    assert stem.input is model.inputs[0] and model.get_layer("top").output is model.outputs[0]
    assert join.output_shape == (None, 3)
    assert join.input == [model.get_layer("left").output, drop.output]
    clone = nerve.models.model_from_json(model.to_json())
    assert isinstance(clone, nerve.Functional) and clone.get_config() == model.get_config()
    assert [layer.name for layer in clone.layers] == [layer.name for layer in model.layers]
    clone.set_weights(model.get_weights())
    x, = f32((7, 4))
    np.testing.assert_array_equal(clone.predict(x, verbose=0), model.predict(x, verbose=0))
    out = model(x)
    assert isinstance(out, np.ndarray)
    np.testing.assert_array_equal(out, model(x))  # training=False by default: no dropout
    assert not np.array_equal(model(x, training=True), out)
    np.testing.assert_array_equal(drop(x), x)
    assert not np.array_equal(drop(x, training=True), x)
    np.testing.assert_allclose(stem(x), np.maximum(x @ stem.kernel + stem.bias, 0), rtol=1e-6)
    lines = summary_text(model)
    assert "Connected to" in lines[2] and any("features[0][0]" in line for line in lines)
    assert any("join (Add)" in line and "left[0][0]," in line for line in lines)
    assert sum("stem[0][0]" in line for line in lines) == 2
    lines = summary_text(nerve.Sequential([nerve.Input(shape=(4,)), layers.Dense(2)]))
    assert "Connected to" not in "\n".join(lines) and "[0][0]" not in "\n".join(lines)
    lines = summary_text(Tower())  # a subclassed model not built yet
    assert any("first (Dense)" in line and "unbuilt" in line for line in lines)


def test_weights_are_variables():
    model = branching_model()
    kernel = model.weights[0]
    assert isinstance(kernel, nerve.Variable) and kernel.trainable
    assert kernel.name == "kernel" and kernel.path == "stem/kernel"
    assert kernel.shape == (4, 6) and kernel.dtype == "float32"
    assert not np.shares_memory(kernel.numpy(), kernel.value)
    assert np.shares_memory(np.asarray(kernel), kernel.value)
    np.testing.assert_array_equal(np.asarray(kernel), kernel.numpy())
    model.compile("adam", loss="mse")  # a Variable taken before compile stays live
    x, y = f32((20, 4), (20, 1))
    first = kernel.numpy()
    model.fit(x, y, epochs=2, verbose=0)
    assert not np.array_equal(first, kernel.numpy())
    assert all(isinstance(w, np.ndarray) for w in model.get_weights())
    assert np.array_equal(kernel.numpy(), model.get_weights()[0])
    before, bias = model.predict(x, verbose=0), model.get_layer("top").weights[1]
    shift = 3.0 - bias.numpy()
    bias.assign(np.array([3.0]))
    np.testing.assert_allclose(model.predict(x, verbose=0), before + shift, rtol=1e-5,
                               atol=1e-6)
    assert model.get_weights()[-1][0] == 3.0
    with pytest.raises(ValueError, match="shape"):
        kernel.assign(np.zeros((6, 4)))


def test_version_1_sequential_file_still_loads(tmp_path):
    model = nerve.Sequential([layers.Dense(3, input_dim=4, activation="relu"), layers.Dense(1)])
    model.compile("sgd", loss="mse")
    path = tmp_path / "old.nerve"
    model.save(path)
    with zipfile.ZipFile(path) as archive:
        contents = {name: archive.read(name) for name in archive.namelist()}
    header = json.loads(contents["header.json"])
    assert header["format_version"] == 2
    contents["header.json"] = json.dumps({**header, "format_version": 1}).encode()
    with zipfile.ZipFile(path, "w") as archive:
        [archive.writestr(name, data) for name, data in contents.items()]
    loaded = nerve.models.load_model(path)
    assert isinstance(loaded, nerve.Sequential)
    x, = f32((5, 4))
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))


def test_multi_output_losses_weights_and_metrics():
    inp = nerve.Input(shape=(4,))
    h = layers.Dense(8, activation="relu")(inp)
    p = layers.Dense(1, activation="sigmoid", name="p")(h)
    r = layers.Dense(2, name="r")(h)
    model = nerve.Model(inp, {"p": p, "r": r})
    model.compile("adam", loss={"p": "binary_crossentropy", "r": "mse"},
                  loss_weights={"p": 1.0, "r": 0.5}, metrics={"p": ["accuracy"], "r": ["mae"]})
    x, noise = f32((50, 4), (50, 2))
    y = {"p": (x[:, :1] > 0).astype(float), "r": noise}
    history = model.fit(x, y, epochs=3, batch_size=10, validation_split=0.2, verbose=0).history
    keys = {"loss", "p_loss", "r_loss", "p_accuracy", "r_mae"}
    assert set(history) == keys | {"val_" + k for k in keys}
    for prefix in ("", "val_"):  # Keras: the total is weighted, the per-output losses are not
        total = np.add(history[prefix + "p_loss"], 0.5 * np.array(history[prefix + "r_loss"]))
        np.testing.assert_allclose(history[prefix + "loss"], total, rtol=1e-5)
    logs = model.evaluate(x, y, return_dict=True, verbose=0)
    assert set(logs) == keys
    np.testing.assert_allclose(logs["loss"], logs["p_loss"] + 0.5 * logs["r_loss"], rtol=1e-5)
    out = model.predict(x, verbose=0)
    np.testing.assert_allclose([logs["r_mae"], logs["p_accuracy"], logs["r_loss"]],
                               [np.abs(out["r"] - noise).mean(), ((out["p"] > .5) == y["p"])
                                .mean(), ((out["r"] - noise) ** 2).mean()], rtol=1e-4)
    listed = nerve.Model(inp, [p, r])
    listed.compile("adam", loss=["binary_crossentropy", "mse"], loss_weights=[2.0, 1.0])
    logs = listed.evaluate(x, [y["p"], noise], return_dict=True, verbose=0)
    assert set(logs) == {"loss", "p_loss", "r_loss"}
    np.testing.assert_allclose(logs["loss"], 2 * logs["p_loss"] + logs["r_loss"], rtol=1e-5)
    assert set(listed.fit(x, [y["p"], noise], verbose=0).history) == set(logs)


def test_predict_plan_of_a_deep_chain_reuses_buffers():
    x = h = nerve.Input(shape=(64,))
    for _ in range(30):
        h = layers.Dense(64, activation="tanh")(h)
    model = nerve.Model(x, h)
    data, = f32((16, 64))
    expected = data
    for layer in model.layers[1:]:
        expected = np.tanh(expected @ layer.kernel + layer.bias)
    np.testing.assert_allclose(model.predict(data, batch_size=16, verbose=0), expected,
                               rtol=1e-4, atol=1e-5)
    model.compile("sgd", loss="mse")

    def buffers(mode):  # distinct arrays the plan's calls touch, besides the weights
        params = _root(model.weights[0].value)
        return len({id(_root(a)) for _, args in model._plan(get_backend(), 16, mode).forward
                    for a in args if isinstance(a, np.ndarray) and _root(a) is not params})
    assert buffers("predict") <= 6  # the input and two live (output, pre-activation) pairs
    assert buffers("train") > 30  # training keeps every output for the backward pass
