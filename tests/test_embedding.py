"""Embedding: the gather / scatter-add kernels against nerve.reference (both dtypes, int32
and int64 indices, 1 and 2 threads, every instruction set), repeated indices, thread-count
independence, out-of-range or malformed indices rejected before anything is written; then the
layer and integer model inputs: values, gradients, training on both backends, save/load, and
bad indices in fit / evaluate / predict leaving the model untouched."""
import numpy as np
import pytest

import nerve
from helpers import assert_close, random_array
from nerve import _core, layers, ops
from nerve import reference as ref

# (n indices, table rows, dim): empty, one row, dims past the 64-column chunk, many repeats.
SHAPES = [(0, 3, 4), (5, 3, 0), (1, 1, 1), (7, 3, 5), (100, 10, 16), (33, 1000, 65),
          (5000, 7, 130), (2000, 50, 1)]


def kernel(name, scalar):
    return getattr(_core, f"_{name}_scalar" if scalar else name)


@pytest.mark.parametrize("index_dtype", [np.int32, np.int64], ids=["i32", "i64"])
@pytest.mark.parametrize("scalar", [False, True], ids=["kernel", "scalar"])
@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: "x".join(map(str, s)))
def test_embedding_matches_reference(shape, scalar, index_dtype, dtype, threads, isa):
    n, rows, dim = shape
    rng = np.random.default_rng(sum(shape))
    table = random_array(rng, (rows, dim), dtype)
    indices = rng.integers(0, rows, n).astype(index_dtype)
    expected, actual = np.empty((n, dim), dtype), np.full((n, dim), np.nan, dtype)
    ref.embedding_forward(expected, table, indices)
    kernel("embedding_forward", scalar)(actual, table, indices)
    np.testing.assert_array_equal(actual, expected)
    dy = random_array(rng, (n, dim), dtype)
    for accumulate in (False, True):
        expected = random_array(rng, (rows, dim), dtype)
        actual = expected.copy()
        ref.embedding_backward(expected, dy, indices, accumulate)
        kernel("embedding_backward", scalar)(actual, dy, indices, accumulate)
        assert_close(actual, expected, dtype, 4 * max(1, n / max(rows, 1)) ** 0.5)


def test_repeated_indices_add_their_rows():
    dy = np.arange(12, dtype=np.float64).reshape(4, 3)
    indices = np.array([2, 0, 2, 2], np.int64)
    for backend in (_core, ref):
        dtable = np.full((3, 3), 7.0)
        backend.embedding_backward(dtable, dy, indices)
        np.testing.assert_array_equal(dtable, [[3, 4, 5], [0, 0, 0], [15, 18, 21]])
        backend.embedding_backward(dtable, dy, indices, True)
        np.testing.assert_array_equal(dtable, [[6, 8, 10], [0, 0, 0], [30, 36, 42]])


def test_scatter_does_not_depend_on_thread_count(dtype):
    rng = np.random.default_rng(4)
    indices = rng.integers(0, 20, 30000).astype(np.int32)
    dy = random_array(rng, (30000, 200), dtype)
    results = []
    for n in (1, 2):
        _core.set_num_threads(n)
        try:
            dtable = np.empty((20, 200), dtype)
            _core.embedding_backward(dtable, dy, indices)
            results.append(dtable)
        finally:
            _core.reset_num_threads()
    np.testing.assert_array_equal(results[0], results[1])


@pytest.mark.parametrize("bad, position", [(5, 2), (-1, 0), (2**40, 1)])
@pytest.mark.parametrize("backend", [_core, ref], ids=["core", "reference"])
def test_out_of_range_indices_are_a_value_error(bad, position, backend):
    table = np.ones((5, 2), np.float32)
    indices = np.array([0, 1, 4], np.int64)
    indices[position] = bad
    y = np.zeros((3, 2), np.float32)
    with pytest.raises(ValueError, match=rf"indices: expected values in \[0, 5\) .*received "
                                         rf"{bad} at position {position}"):
        backend.embedding_forward(y, table, indices)
    assert (y == 0).all()  # nothing written
    dtable = np.full((5, 2), 3.0, np.float32)
    with pytest.raises(ValueError, match="indices: expected values in"):
        backend.embedding_backward(dtable, y, indices)
    assert (dtable == 3).all()


@pytest.mark.parametrize("backend", [_core, ref], ids=["core", "reference"])
def test_malformed_arguments_are_rejected(backend):
    table = np.ones((5, 2), np.float32)
    y = np.zeros((3, 2), np.float32)
    index = np.array([0, 1, 2], np.int64)
    cases = [
        ((y, table, index.astype(np.float32)), TypeError, "indices: expected dtype int32 or int64"),
        ((y, table, index.astype(np.int16)), TypeError, "indices: expected dtype int32"),
        ((y, table, index.reshape(3, 1)), ValueError, "indices: expected a 1-D array"),
        ((y, table, np.arange(6)[::2]), ValueError, "indices: expected a C-contiguous array"),
        ((y, table.astype(np.float64), index), TypeError, "table: expected dtype float32"),
        ((np.zeros((4, 2), np.float32), table, index), ValueError, "y: expected shape (3, 2)"),
        ((table[:3], table, index), ValueError, "y: expected memory separate from table"),
        ((y, table, [0, 1, 2]), TypeError, "indices: expected a numpy.ndarray"),
    ]
    for args, error, fragment in cases:
        with pytest.raises(error) as caught:
            backend.embedding_forward(*args)
        assert fragment in str(caught.value)
    with pytest.raises(ValueError, match=r"dy: expected shape \(3, 2\)"):
        backend.embedding_backward(np.zeros((5, 2), np.float32), np.zeros((2, 2), np.float32),
                                   index)


# ---- the Embedding layer and integer inputs -----------------------------------------------------

class MeanOverTime(nerve.layers.Layer):
    """(batch, steps, dim) -> (batch, dim), as GlobalAveragePooling1D."""

    def call(self, x):
        return ops.mean(x, axis=1)


def text_classifier(seed=0):
    nerve.utils.set_random_seed(seed)
    return nerve.Sequential([layers.Embedding(30, 8), MeanOverTime(),
                             layers.Dense(1, activation="sigmoid")])


def token_data(rng, n=64, steps=7, vocab=30):
    tokens = rng.integers(0, vocab, (n, steps))
    return tokens, (np.isin(tokens, np.arange(10)).sum(1) > steps * 0.3).astype(np.float32)


@pytest.mark.parametrize("index_dtype", [np.int32, np.int64, np.float64])
def test_layer_gathers_rows_for_any_rank(index_dtype):
    layer = layers.Embedding(10, 3)
    x = np.random.default_rng(0).integers(0, 10, (4, 2, 5)).astype(index_dtype)
    y = layer(x)
    assert y.shape == (4, 2, 5, 3) and y.dtype == np.float32
    np.testing.assert_array_equal(y, layer.embeddings[x.astype(np.int64)])
    assert layer.embeddings.shape == (10, 3) and np.abs(layer.embeddings).max() <= 0.05


def test_sequential_without_input_trains_predicts_saves_and_loads(tmp_path):
    rng = np.random.default_rng(1)
    tokens, labels = token_data(rng)
    model = text_classifier()
    model.compile(optimizer=nerve.optimizers.Adam(0.01), loss="binary_crossentropy",
                  metrics=["accuracy"])
    history = model.fit(tokens, labels, epochs=30, batch_size=16, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0] * 0.8
    assert model.inputs[0].dtype == "int32"
    text = []
    model.summary(print_fn=text.append)
    assert any("(None, 7, 8)" in line and "240" in line for line in text)
    path = tmp_path / "text.nerve"
    model.save(path)
    loaded = nerve.models.load_model(path, custom_objects={"MeanOverTime": MeanOverTime})
    np.testing.assert_allclose(loaded.predict(tokens, verbose=0), model.predict(tokens, verbose=0))
    assert loaded.layers[0].get_config()["input_dim"] == 30


def test_functional_model_with_integer_input():
    inputs = nerve.Input(shape=(5,), dtype="int64")
    embedded = layers.Embedding(12, 4)(inputs)
    model = nerve.Model(inputs, layers.Dense(2)(layers.Flatten()(embedded)))
    x = np.random.default_rng(2).integers(0, 12, (9, 5))
    expected = model.predict(x, verbose=0)
    np.testing.assert_allclose(model(x), expected, rtol=1e-6)
    np.testing.assert_allclose(model.predict(x.astype(np.float32), verbose=0), expected)
    with pytest.raises(ValueError, match=r"x: expected integers \(the input is int64\), "
                                         r"received 1.5 at index \(0, 0\)"):
        model.predict(np.full((2, 5), 1.5), verbose=0)


def test_subclassed_model_built_from_integer_data():
    class Classifier(nerve.Model):
        def __init__(self):
            super().__init__()
            self.table, self.out = layers.Embedding(12, 3), layers.Dense(1)

        def call(self, x):
            return self.out(MeanOverTime()(self.table(x)))

    x = np.random.default_rng(6).integers(0, 12, (8, 5))
    model = Classifier()
    model.compile(optimizer="adam", loss="mse")
    model.fit(x, np.zeros((8, 1)), epochs=2, verbose=0)
    assert model.inputs[0].dtype == "int64" and model.predict(x, verbose=0).shape == (8, 1)


@pytest.mark.parametrize("run", ["fit", "evaluate", "predict", "call", "train_on_batch"])
def test_out_of_range_index_is_a_value_error_and_leaves_the_model_untouched(run):
    rng = np.random.default_rng(3)
    tokens, labels = token_data(rng)
    model = text_classifier()
    model.compile(optimizer="adam", loss="binary_crossentropy")
    model.fit(tokens[:16], labels[:16], epochs=1, verbose=0)
    before = model.get_weights()
    iterations = model.optimizer.iterations
    bad = tokens.copy()
    bad[-1, 3] = 30  # in the last batch: nothing may train before the error
    calls = {"fit": lambda: model.fit(bad, labels, batch_size=16, verbose=0),
             "evaluate": lambda: model.evaluate(bad, labels, verbose=0),
             "predict": lambda: model.predict(bad, verbose=0),
             "call": lambda: model(bad),
             "train_on_batch": lambda: model.train_on_batch(bad, labels)}
    with pytest.raises(ValueError, match=r"embedding\w* \(Embedding\) takes indices in \[0, "
                                         r"30\), received 30 at index \(63, 3\)"):
        calls[run]()
    for a, b in zip(before, model.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert model.optimizer.iterations == iterations
    model.fit(tokens, labels, epochs=1, verbose=0)  # still usable


def test_index_reaching_embedding_through_other_ops_is_checked_by_the_kernel():
    class Shift(nerve.layers.Layer):
        def call(self, x):
            return layers.Embedding(5, 2, name="inner_table")(ops.add(x, 3))

    inputs = nerve.Input(shape=(2,), dtype="int32")
    model = nerve.Model(inputs, Shift()(inputs))
    model.predict(np.array([[0, 1]]), verbose=0)
    with pytest.raises(ValueError, match=r"indices: expected values in \[0, 5\)"):
        model.predict(np.array([[0, 2]]), verbose=0)


@pytest.mark.parametrize("backend", ["cpp", "numpy"])
def test_embedding_gradient_with_repeated_indices(backend):
    rng = np.random.default_rng(4)
    inputs = nerve.Input(shape=(4,), dtype="int32")
    table = layers.Embedding(3, 2, dtype="float64")
    model = nerve.Model(inputs, layers.Dense(1, dtype="float64")(
        layers.Flatten(dtype="float64")(table(inputs))))
    x = np.array([[0, 2, 2, 0], [2, 2, 2, 1]])
    t = rng.normal(size=(2, 1))
    model.compile(optimizer=nerve.optimizers.SGD(0.0), loss="mse")
    with nerve.use_backend(backend):
        model.train_on_batch(x, t)
    analytic = np.array(table._embeddings._grad)
    kernel, bias = model.layers[-1].kernel.reshape(4, 2), model.layers[-1].bias
    residual = 2 * ((table.embeddings[x].reshape(2, 8) @ kernel.reshape(8, 1) + bias) - t) / 2
    expected = np.zeros((3, 2))
    for row in range(2):
        for step in range(4):
            expected[x[row, step]] += residual[row, 0] * kernel[step]
    np.testing.assert_allclose(analytic, expected, rtol=1e-10)


def test_text_classifier_trains_the_same_on_both_backends():
    rng = np.random.default_rng(5)
    tokens, labels = token_data(rng)
    weights = {}
    for backend in ("cpp", "numpy"):
        model = text_classifier(seed=7)
        model.compile(optimizer="adam", loss="binary_crossentropy")
        with nerve.use_backend(backend):
            model.fit(tokens, labels, epochs=5, batch_size=8, shuffle=False, verbose=0)
        weights[backend] = model.get_weights()
    for a, b in zip(weights["cpp"], weights["numpy"]):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("make, error, fragment", [
    (lambda: layers.Embedding(10, 3)(nerve.Input(shape=(4,))), TypeError,
     r"embedding\w* \(Embedding\): expected integer tensors, received a float32 tensor"),
    (lambda: layers.Dense(2)(nerve.Input(shape=(4,), dtype="int32")), TypeError,
     r"expected float tensors, received a int32 tensor"),
    (lambda: layers.Embedding(0, 3), ValueError, "input_dim: expected a positive int"),
    (lambda: layers.Embedding(4, 2.5), ValueError, "output_dim: expected a positive int"),
    (lambda: layers.Embedding(4, 2, mask_zero=True), ValueError, "mask_zero"),
    (lambda: nerve.Input(shape=(3,), dtype="int16"), ValueError, "dtype: expected one of"),
    (lambda: layers.Embedding(4, 2)(np.array([[0.5, 1.0]])), ValueError, "expected integers"),
])
def test_bad_arguments_name_the_problem(make, error, fragment):
    with pytest.raises(error, match=fragment):
        make()


def test_keras_arguments():
    with pytest.warns(UserWarning, match="input_length"):
        layer = layers.Embedding(4, 2, input_length=7)
    table = np.arange(8, dtype=np.float32).reshape(4, 2)
    layer = layers.Embedding(4, 2, weights=[table], trainable=False)
    np.testing.assert_array_equal(layer.embeddings, table)
    assert layer.trainable_weights == [] and layer.count_params() == 8
    config = layers.Embedding(4, 2, embeddings_regularizer="l2").get_config()
    clone = layers.Embedding.from_config(config)
    assert clone.get_config()["embeddings_regularizer"] == config["embeddings_regularizer"]
