"""Values of every nerve.ops function on arrays against NumPy (and the formulas of Keras's
docs for the nn functions), on awkward shapes and both float dtypes; Keras's dtype rules;
symbolic shapes, trace-time errors and the NumPy interplay of symbolic tensors.

TESTED collects the op names each table covers: test_every_public_op_is_tested fails when
nerve.ops gains a function that no table here checks."""
import math
import warnings

import numpy as np
import pytest

import nerve
from helpers import assert_close
from nerve import layers, ops

KERNEL_FUNCTIONS = {"dense", "activation", "step", "linear", "gelu_tanh"}  # tests/test_ops.py
TESTED = {}


def covers(names):
    """Register the op names a table (a dict: its keys) or a test (a list) covers."""
    for name in names:
        TESTED[name] = TESTED.get(name, 0) + 1
    return names


FLOATS = [np.float32, np.float64]
SHAPES = [(), (1,), (0, 3), (2, 1, 3), (4, 5)]


def draw(shape, dtype, domain="any", seed=0):
    rng = np.random.default_rng(seed)
    x = {"any": lambda: rng.uniform(-3, 3, shape),
         "pos": lambda: rng.uniform(0.1, 3, shape),
         "unit": lambda: rng.uniform(0.05, 0.95, shape),
         "nonzero": lambda: rng.choice([-1, 1], shape) * rng.uniform(0.2, 3, shape),
         "grid": lambda: rng.integers(-3, 4, shape) / 2}[domain]()
    return np.asarray(x, dtype)


def check(actual, expected, dtype, scale=1.0):
    actual = np.asarray(actual)
    assert actual.shape == np.shape(expected), (actual.shape, np.shape(expected))
    assert actual.dtype == np.dtype(dtype), (actual.dtype, dtype)
    assert_close(actual, np.asarray(expected, np.float64), dtype, scale=scale)


# ---- element-wise, one argument: (NumPy or Keras formula in float64, domain) -----------------
def _sigmoid(x):
    return 1 / (1 + np.exp(-x))


_SELU = (1.6732632423543772848170429916717, 1.0507009873554804934193349852946)
_ERF = np.vectorize(math.erf, otypes=[np.float64])
UNARY = covers({
    "negative": (np.negative, "any"), "square": (np.square, "any"), "sqrt": (np.sqrt, "pos"),
    "exp": (np.exp, "any"), "expm1": (np.expm1, "any"), "log": (np.log, "pos"),
    "log1p": (np.log1p, "pos"), "abs": (np.abs, "any"), "absolute": (np.abs, "any"),
    "sign": (np.sign, "grid"), "sin": (np.sin, "any"), "cos": (np.cos, "any"),
    "floor": (np.floor, "grid"), "ceil": (np.ceil, "grid"), "round": (np.round, "grid"),
    "reciprocal": (np.reciprocal, "nonzero"), "stop_gradient": (lambda x: x, "any"),
    # nn, as keras/src/backend/numpy/nn.py
    "relu": (lambda x: np.maximum(x, 0), "any"),
    "relu6": (lambda x: np.minimum(np.maximum(x, 0), 6), "any"),
    "sigmoid": (_sigmoid, "any"), "tanh": (np.tanh, "any"),
    "silu": (lambda x: x * _sigmoid(x), "any"), "swish": (lambda x: x * _sigmoid(x), "any"),
    "softplus": (lambda x: np.logaddexp(x, 0), "any"),
    "softsign": (lambda x: x / (1 + np.abs(x)), "any"),
    "elu": (lambda x: np.where(x >= 0, x, np.expm1(x)), "any"),
    "selu": (lambda x: _SELU[1] * np.where(x >= 0, x, _SELU[0] * np.expm1(x)), "any"),
    "leaky_relu": (lambda x: np.maximum(x, 0.2 * x), "any"),
    "hard_sigmoid": (lambda x: np.clip(x / 6 + 0.5, 0, 1), "any"),
    "exponential": (np.exp, "any"),
    "gelu": (lambda x: 0.5 * x * (1 + np.tanh(np.sqrt(2 / np.pi) * (x + 0.044715 * x ** 3))),
             "any"),
})


@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("name", sorted(UNARY))
def test_element_wise_op_matches_reference(name, dtype, shape):
    reference, domain = UNARY[name]
    x = draw(shape, dtype, domain)
    check(getattr(ops, name)(x), reference(x.astype(np.float64)), dtype, scale=4)
    if len(shape) == 2:  # a transposed (non-contiguous) view
        check(getattr(ops, name)(x.T), reference(x.T.astype(np.float64)), dtype, scale=4)


@pytest.mark.parametrize("dtype", FLOATS)
def test_parametrised_activations(dtype):
    x = draw((3, 4), dtype)
    x64 = x.astype(np.float64)
    check(ops.leaky_relu(x, negative_slope=0.05), np.maximum(x64, 0.05 * x64), dtype)
    check(ops.leaky_relu(x, 0.3), np.maximum(x64, 0.3 * x64), dtype)
    check(ops.elu(x, alpha=0.5), np.where(x64 >= 0, x64, 0.5 * np.expm1(x64)), dtype, 4)
    check(ops.gelu(x, approximate=False), x64 * (_ERF(x64 / np.sqrt(2)) + 1) / 2, dtype, 4)
    check(ops.gelu(x, True), UNARY["gelu"][0](x64), dtype, 4)
    check(ops.round(x, 1), np.round(x64, 1), dtype)
    check(ops.round(x, decimals=2), np.round(x64, 2), dtype)
    with pytest.raises(TypeError, match="ops.elu"):
        ops.elu(x, 1.0, 2.0)


# ---- element-wise, two arguments (broadcasting) ----------------------------------------------
BINARY = covers({
    "add": (np.add, "grid"), "subtract": (np.subtract, "grid"),
    "multiply": (np.multiply, "grid"), "divide": (np.divide, "nonzero"),
    "true_divide": (np.true_divide, "nonzero"), "power": (np.power, "pos"),
    "maximum": (np.maximum, "grid"), "minimum": (np.minimum, "grid"),
})
COMPARISONS = covers({
    "equal": np.equal, "not_equal": np.not_equal, "greater": np.greater,
    "greater_equal": np.greater_equal, "less": np.less, "less_equal": np.less_equal,
    "logical_and": np.logical_and, "logical_or": np.logical_or,
    "logical_xor": np.logical_xor,
})
PAIRS = [((), ()), ((), (3,)), ((2, 1), (1, 3)), ((0, 3), (1, 3)), ((4, 5), (4, 5)),
         ((1,), (2, 3, 1))]


@pytest.mark.parametrize("shapes", PAIRS, ids=str)
@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("name", sorted(BINARY))
def test_binary_op_broadcasts_as_numpy(name, dtype, shapes):
    reference, domain = BINARY[name]
    a = draw(shapes[0], dtype, "pos" if name == "power" else "grid", seed=1)
    b = draw(shapes[1], dtype, "grid" if name == "power" else domain, seed=2)
    op = getattr(ops, name)
    check(op(a, b), reference(a.astype(np.float64), b.astype(np.float64)), dtype, scale=4)
    check(op(a, 1.5), reference(a.astype(np.float64), 1.5), dtype, scale=4)  # weak scalar
    check(op(2, b), reference(2.0, b.astype(np.float64)), dtype, scale=4)


@pytest.mark.parametrize("shapes", PAIRS, ids=str)
@pytest.mark.parametrize("name", sorted(COMPARISONS))
def test_comparisons_and_logical_ops_give_booleans(name, shapes):
    a, b = draw(shapes[0], np.float32, "grid", 1), draw(shapes[1], np.float64, "grid", 2)
    result = getattr(ops, name)(a, b)
    assert result.dtype == bool
    np.testing.assert_array_equal(result, COMPARISONS[name](a, b))
    np.testing.assert_array_equal(getattr(ops, name)(a, 0.5), COMPARISONS[name](a, 0.5))


covers(["logical_not", "clip", "where", "cast"])


def test_logical_not_clip_where_cast():
    x = draw((2, 3), np.float32, "grid")
    np.testing.assert_array_equal(ops.logical_not(x), x == 0)
    check(ops.clip(x, -0.5, 1.0), np.clip(x, -0.5, 1.0), np.float32)
    check(ops.clip(x, np.array([-1.0, 0, 1]), 1.0), np.clip(x, [-1, 0, 1], 1.0), np.float64)
    check(ops.clip(np.float32(5), 0, 1), 1.0, np.float32)
    check(ops.where(x > 0, x, -x), np.abs(x), np.float32)
    check(ops.where(np.array([True, False, True]), x, 0.5), np.where([1, 0, 1], x, 0.5),
          np.float32)
    check(ops.where(x[:, :1] > 0, 1.0, np.zeros((3,))), np.where(x[:, :1] > 0, 1.0, 0.0)
          * np.ones(3), np.float64)
    with pytest.raises(ValueError, match="ops.where"):
        ops.where(x > 0)
    np.testing.assert_array_equal(ops.cast(np.array([1.7, -1.7]), "int32"), [1, -1])
    assert ops.cast(x, np.float64).dtype == np.float64
    assert ops.cast(x, "bool").dtype == bool and ops.cast(x, None).dtype == np.float32
    with pytest.raises(TypeError, match="dtype"):
        ops.cast(x, "complex64")


# ---- reductions ------------------------------------------------------------------------------
REDUCTIONS = covers({
    "sum": np.sum, "mean": np.mean, "max": np.max, "min": np.min, "amax": np.amax,
    "amin": np.amin, "prod": np.prod, "std": np.std, "var": np.var,
    "logsumexp": lambda x, axis, keepdims: np.log(np.sum(np.exp(x), axis, keepdims=keepdims)),
})
AXES = [None, 0, -1, (0, 2), (-1, 0), ()]


@pytest.mark.parametrize("keepdims", [False, True])
@pytest.mark.parametrize("axis", AXES, ids=str)
@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("name", sorted(REDUCTIONS))
def test_reduction_matches_numpy(name, dtype, axis, keepdims):
    x = draw((2, 3, 4), dtype, "unit" if name == "prod" else "any")
    expected = REDUCTIONS[name](x.astype(np.float64), axis=axis, keepdims=keepdims)
    check(getattr(ops, name)(x, axis=axis, keepdims=keepdims), expected, dtype, scale=20)
    if axis is None or axis == 0 or axis == -1:
        v = draw((3,), dtype, seed=4)
        check(getattr(ops, name)(v, axis=axis, keepdims=keepdims),
              REDUCTIONS[name](v.astype(np.float64), axis=axis, keepdims=keepdims), dtype, 4)
    s = np.asarray(1.5, dtype)
    check(getattr(ops, name)(s), REDUCTIONS[name](np.float64(1.5), axis=None, keepdims=False),
          dtype)


@pytest.mark.parametrize("dtype", FLOATS)
def test_reductions_of_empty_and_stable_cases(dtype):
    empty = np.zeros((2, 0, 3), dtype)
    check(ops.sum(empty, axis=1), np.zeros((2, 3)), dtype)
    check(ops.prod(empty, axis=(0, 1)), np.ones(3), dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # NumPy's "Mean of empty slice"
        assert np.isnan(ops.mean(empty, axis=1)).all()
    check(ops.sum(empty, axis=0, keepdims=True), np.zeros((1, 0, 3)), dtype)
    with pytest.raises(ValueError, match=r"ops.max: .*\(2, 0, 3\)"):
        ops.max(empty, axis=1)
    big = np.array([[1000.0, 1000.0], [-1000.0, -np.inf]], dtype)
    check(ops.logsumexp(big, axis=1), [1000 + np.log(2), -1000], dtype)
    with pytest.raises(ValueError, match="ops.sum: axis 3 is out of bounds"):
        ops.sum(empty, axis=3)
    with pytest.raises(TypeError, match="axis"):
        ops.mean(empty, axis=1.5)


covers(["argmax", "argmin"])


@pytest.mark.parametrize("name", ["argmax", "argmin"])
def test_argmax_argmin(name):
    x = np.array([[1.0, 3.0, 3.0], [-2.0, -2.0, 0.5]], np.float32)  # ties: the first
    f = getattr(np, name)
    for axis in (None, 0, 1, -1):
        for keepdims in (False, True):
            result = getattr(ops, name)(x, axis=axis, keepdims=keepdims)
            assert result.dtype == np.int32
            np.testing.assert_array_equal(result, f(x, axis=axis, keepdims=keepdims))
    assert getattr(ops, name)(np.float64(2)).shape == ()
    with pytest.raises(TypeError, match=f"ops.{name}: axis"):
        getattr(ops, name)(x, axis=(0, 1))


covers(["all", "any", "count_nonzero"])


def test_boolean_reductions():
    x = draw((2, 3, 4), np.float64, "grid")
    for axis in AXES:
        for keepdims in (False, True):
            for name in ("all", "any"):
                result = getattr(ops, name)(x, axis=axis, keepdims=keepdims)
                assert result.dtype == bool
                np.testing.assert_array_equal(result, getattr(np, name)(x, axis, keepdims=keepdims))
            result = ops.count_nonzero(x, axis=axis, keepdims=keepdims)
            assert result.dtype == np.int32
            np.testing.assert_array_equal(result, np.count_nonzero(x, axis, keepdims=keepdims))
    assert ops.all(np.zeros((0,))) and not ops.any(np.zeros((0,)))


# ---- products --------------------------------------------------------------------------------
MATMUL_SHAPES = [((3, 4), (4, 2)), ((4,), (4, 2)), ((3, 4), (4,)), ((4,), (4,)),
                 ((2, 3, 4), (4, 5)), ((2, 1, 3, 4), (5, 4, 2)), ((0, 4), (4, 3)),
                 ((3, 0), (0, 2)), ((1, 1), (1, 1))]


covers(["matmul", "dot"])


@pytest.mark.parametrize("shapes", MATMUL_SHAPES, ids=str)
@pytest.mark.parametrize("dtype", FLOATS)
def test_matmul_and_dot_match_numpy(dtype, shapes):
    a, b = draw(shapes[0], dtype, seed=1), draw(shapes[1], dtype, seed=2)
    a64, b64 = a.astype(np.float64), b.astype(np.float64)
    check(ops.matmul(a, b), np.matmul(a64, b64), dtype, scale=20)
    check(ops.dot(a, b), np.dot(a64, b64), dtype, scale=20)
    check(a @ ops.convert_to_tensor(b), a64 @ b64, dtype, scale=20)


covers(["einsum", "tensordot", "dot"])


@pytest.mark.parametrize("dtype", FLOATS)
def test_dot_tensordot_einsum_forms(dtype):
    a, b = draw((2, 3, 4), dtype, seed=1), draw((5, 4, 2), dtype, seed=2)
    c, v = draw((3, 4), dtype, seed=3), draw((4,), dtype, seed=4)
    f = [x.astype(np.float64) for x in (a, b, c, v)]
    check(ops.dot(a, b), np.dot(f[0], f[1]), dtype, 20)
    check(ops.dot(a, v), np.dot(f[0], f[3]), dtype, 20)
    check(ops.dot(v, b), np.dot(f[3], f[1]), dtype, 20)
    check(ops.dot(2.0, c), 2 * f[2], dtype)
    check(ops.tensordot(a, c, 2), np.tensordot(f[0], f[2], 2), dtype, 20)
    check(ops.tensordot(a, b, ([2], [1])), np.tensordot(f[0], f[1], ([2], [1])), dtype, 20)
    check(ops.tensordot(a, b, (2, 1)), np.tensordot(f[0], f[1], (2, 1)), dtype, 20)
    check(ops.tensordot(c, v, 0), np.tensordot(f[2], f[3], 0), dtype)
    for spec, args in [("ij,jk->ik", [c, c.T]), ("bij,bjk->bik", [a, np.swapaxes(a, 1, 2)]),
                       ("...ij,...jk->...ik", [a, b[0]]), ("...ij,...jk->...ik", [c, c.T]),
                       ("ij->ji", [c]), ("i,i->", [v, v]), ("ij,j->i", [c, v]),
                       ("ij,jk", [c, c.T]), ("bij->j", [a]), ("bij,kj->bik", [a, c]),
                       ("i,j->ij", [v, v[:2]]), ("bi,bi->b", [c, c])]:
        check(ops.einsum(spec, *args), np.einsum(spec, *[x.astype(np.float64) for x in args]),
              dtype, scale=20)
    with pytest.raises(ValueError, match="ops.einsum"):
        ops.einsum("ii->i", c[:3, :3])


# ---- shapes ----------------------------------------------------------------------------------
covers(["reshape", "transpose", "expand_dims", "squeeze", "concatenate", "stack", "split",
        "broadcast_to", "getitem", "shape", "ndim", "size"])


@pytest.mark.parametrize("dtype", FLOATS)
def test_shaping_ops_match_numpy(dtype):
    x = draw((2, 3, 1), dtype)
    eq = np.testing.assert_array_equal
    for new in [(3, 2), (-1,), (None, 2), (1, 6, 1), 6]:
        numpy_shape = tuple(-1 if d is None else d for d in np.atleast_1d(new))
        eq(ops.reshape(x, new), np.reshape(x, numpy_shape))
    eq(ops.reshape(np.asarray(2.0, dtype), (1, 1)), [[2.0]])
    for axes in [None, (2, 0, 1), (0, 2, 1)]:
        eq(ops.transpose(x, axes), np.transpose(x, axes))
    eq(ops.transpose(np.zeros(3)), np.zeros(3))
    for axis in [0, -1, (0, 2)]:
        eq(ops.expand_dims(x, axis), np.expand_dims(x, axis))
    eq(ops.squeeze(x), x[:, :, 0])
    eq(ops.squeeze(x, -1), x[:, :, 0])
    eq(ops.squeeze(np.zeros((1, 1), dtype), (0, 1)), np.zeros(()))
    with pytest.raises(ValueError, match=r"ops.squeeze: .*\(2, 3, 1\)"):
        ops.squeeze(x, 0)
    parts = [x, np.zeros((2, 0, 1), dtype), x[:, :1]]
    eq(ops.concatenate(parts, axis=1), np.concatenate(parts, axis=1))
    eq(ops.concatenate([x, x], axis=-1), np.concatenate([x, x], axis=-1))
    assert ops.concatenate([x, x.astype(np.int32)]).dtype == dtype
    with pytest.raises(TypeError, match="ops.concatenate"):
        ops.concatenate(x)
    for axis in (0, -1, 2):
        eq(ops.stack([x, x + 1], axis=axis), np.stack([x, x + 1], axis=axis))
    for sections, axis in [(3, 1), ([1], 1), ([0, 2], -2), (1, 0), (2, 0)]:
        got, want = ops.split(x, sections, axis=axis), np.split(x, sections, axis=axis)
        assert len(got) == len(want)
        for g, w in zip(got, want):
            eq(g, w)
    eq(ops.broadcast_to(x, (4, 2, 3, 5)), np.broadcast_to(x, (4, 2, 3, 5)))
    eq(ops.broadcast_to(np.asarray(2.0, dtype), (0, 2)), np.zeros((0, 2)))
    with pytest.raises(ValueError, match="ops.broadcast_to"):
        ops.broadcast_to(x, (3, 3, 1))
    for index in [(slice(None), 1), 0, -1, [1, 0, 1], np.array([[0], [1]]),
                  (Ellipsis, 0), (None, 0, slice(None, None, -1)), x[..., 0] > 0,
                  (slice(1, 1),)]:
        eq(ops.getitem(x, index), x[np.asarray(index) if isinstance(index, list) else index])
    assert ops.shape(x) == (2, 3, 1) and ops.shape([1, 2]) == (2,) and ops.shape(1.0) == ()
    assert ops.ndim(x) == 3 and ops.ndim(2.0) == 0 and ops.size(x) == 6 and ops.size(2) == 1


covers(["take", "take_along_axis", "one_hot"])


@pytest.mark.parametrize("dtype", FLOATS)
def test_gathers_match_numpy(dtype):
    x = draw((2, 3), dtype)
    eq = np.testing.assert_array_equal
    for indices, axis in [([0, -1, 0], 1), (np.array([[1, 1], [0, 0]]), 0), ([[0, 5]], None),
                          (1, 0), (np.zeros((0,), int), 1)]:
        eq(ops.take(x, indices, axis=axis), np.take(x, indices, axis=axis))
    for indices, axis in [(np.array([[0], [2]]), 1), (np.array([[1, 0, 1]]), 0),
                          (np.array([0, 5, 5]), None), (np.array([[-1], [0]]), 1)]:
        eq(ops.take_along_axis(x, indices, axis=axis), np.take_along_axis(x, indices, axis))
    labels = np.array([[0, 2], [-1, 3]])  # Keras: out-of-range labels give rows of zeros
    hot = ops.one_hot(labels, 3)
    assert hot.dtype == np.float32 and hot.shape == (2, 2, 3)
    eq(hot, (labels[..., None] == np.arange(3)).astype(np.float32))
    eq(ops.one_hot(labels, 3, axis=0, dtype=dtype), np.moveaxis(hot, -1, 0))
    assert ops.one_hot(np.array([1]), 2, dtype="int32").dtype == np.int32
    with pytest.raises(TypeError, match="ops.one_hot: expected integer labels"):
        ops.one_hot(x, 3)


covers(["zeros", "ones", "full", "zeros_like", "ones_like", "full_like", "convert_to_tensor",
        "convert_to_numpy", "is_tensor"])


def test_creation_and_conversion():
    eq = np.testing.assert_array_equal
    for shape in [(), (0,), (2, 3), 4]:
        assert ops.zeros(shape).dtype == np.float32 and ops.zeros(shape).shape == np.zeros(
            shape).shape
        eq(ops.ones(shape, "int32"), np.ones(shape, np.int32))
        eq(ops.full(shape, 7, "float64"), np.full(shape, 7.0))
    assert ops.ones((2,)).dtype == np.float32 and ops.full((1,), 2).dtype == np.float32
    with pytest.raises(ValueError, match="shape"):
        ops.zeros((-1, 2))
    x = np.arange(6, dtype=np.float64).reshape(2, 3)
    eq(ops.zeros_like(x), np.zeros_like(x))
    assert ops.zeros_like(x).dtype == np.float64 and ops.ones_like(x, "int32").dtype == np.int32
    eq(ops.full_like(x, 2.5), np.full_like(x, 2.5))
    eq(ops.full_like(np.zeros(2, np.int32), 2.5), [2, 2])
    eq(ops.ones_like(np.array([True, False])), [True, True])
    assert ops.convert_to_tensor([1.5]).dtype == np.float32  # Keras: Python floats floatx
    assert ops.convert_to_tensor([[1, 2]]).dtype == np.int32  # ... ints int32
    assert ops.convert_to_tensor(x).dtype == np.float64 and ops.convert_to_tensor(x) is x
    assert ops.convert_to_tensor([1], "float64").dtype == np.float64
    assert ops.convert_to_tensor(nerve.Variable(np.ones(2), "v", None)).dtype == np.float64
    eq(ops.convert_to_numpy([1, 2]), [1, 2])
    eq(ops.convert_to_numpy(nerve.Variable(np.ones(2), "v", None)), [1, 1])
    assert ops.is_tensor(x) and not ops.is_tensor([1]) and not ops.is_tensor(1.0)
    symbolic = nerve.Input(shape=(3,))
    assert ops.is_tensor(symbolic) and ops.convert_to_tensor(symbolic) is symbolic
    assert ops.convert_to_tensor(symbolic, "float64").dtype == "float64"
    with pytest.raises(TypeError, match="symbolic"):
        ops.convert_to_numpy(symbolic)


# ---- nn: softmax and the cross-entropies (Keras's formulas) -------------------------------
def _log_softmax(x, axis):
    shifted = x - x.max(axis=axis, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))


covers(["softmax", "log_softmax"])


@pytest.mark.parametrize("dtype", FLOATS)
def test_softmax_and_log_softmax(dtype):
    x = draw((2, 3, 4), dtype)
    for axis in (-1, 0, 1, 2):
        x64 = x.astype(np.float64)
        check(ops.softmax(x, axis=axis), np.exp(_log_softmax(x64, axis)), dtype, 4)
        check(ops.log_softmax(x, axis=axis), _log_softmax(x64, axis), dtype, 4)
    check(ops.softmax(np.array([1000.0, 0.0], dtype)), [1.0, 0.0], dtype)
    check(ops.softmax(np.zeros((0, 3), dtype)), np.zeros((0, 3)), dtype)
    check(ops.softmax(np.full((1,), 3.0, dtype)), [1.0], dtype)
    with pytest.raises(ValueError, match="ops.softmax"):
        ops.softmax(np.float32(1.0))


covers(["binary_crossentropy", "categorical_crossentropy", "sparse_categorical_crossentropy"])


@pytest.mark.parametrize("dtype", FLOATS)
def test_cross_entropies_follow_keras(dtype):
    eps = 1e-7
    target = draw((4, 3), dtype, "unit", 1)
    output = draw((4, 3), dtype, "unit", 2)
    output[0, 0], output[1, 1] = 0.0, 1.0  # clipped at epsilon
    logits = draw((4, 3), dtype, seed=3)
    t, p, z = (a.astype(np.float64) for a in (target, output, logits))
    clipped = np.clip(output, dtype(eps), dtype(1 - eps)).astype(np.float64)  # in dtype
    check(ops.binary_crossentropy(target, output),
          -(t * np.log(clipped) + (1 - t) * np.log(1 - clipped)), dtype, 4)
    sig = np.clip(_sigmoid(z), eps, 1 - eps)
    check(ops.binary_crossentropy(target, logits, from_logits=True),
          -(t * np.log(sig) + (1 - t) * np.log(1 - sig)), dtype, 4)
    normalised = np.clip(p / p.sum(-1, keepdims=True), eps, 1 - eps)
    check(ops.categorical_crossentropy(target, output), -(t * np.log(normalised)).sum(-1),
          dtype, 4)
    check(ops.categorical_crossentropy(target, logits, from_logits=True),
          -(t * _log_softmax(z, -1)).sum(-1), dtype, 4)
    column = np.clip(p / p.sum(0, keepdims=True), eps, 1 - eps)
    check(ops.categorical_crossentropy(target, output, axis=0), -(t * np.log(column)).sum(0),
          dtype, 4)
    labels = np.array([0, 2, 1, 2])
    hot = np.eye(3)[labels]
    for given in (labels, labels[:, None], labels.astype(np.float32)):
        check(ops.sparse_categorical_crossentropy(given, output),
              -(hot * np.log(normalised)).sum(-1), dtype, 4)
        check(ops.sparse_categorical_crossentropy(given, logits, from_logits=True),
              -(hot * _log_softmax(z, -1)).sum(-1), dtype, 4)


# ---- Keras's dtype rules -----------------------------------------------------------------------
I32, F32 = np.ones(2, np.int32), np.ones(2, np.float32)
DTYPES = [  # (label, call, dtype of the result)
    ("float32 + python float", lambda: ops.add(F32, 1.5), "float32"),
    ("python float + float32", lambda: ops.multiply(2.5, F32), "float32"),
    ("float32 + float64", lambda: ops.add(F32, np.ones(2)), "float64"),
    ("float32 + list of floats", lambda: ops.add(F32, [0.5, 0.5]), "float32"),
    ("int32 + float32", lambda: ops.add(I32, F32), "float32"),
    ("int64 + float32", lambda: ops.subtract(np.ones(2, np.int64), F32), "float32"),
    ("int32 + python float", lambda: ops.add(I32, 0.5), "float32"),
    ("int32 + python int", lambda: ops.add(I32, 2), "int32"),
    ("int8 + python int", lambda: ops.add(np.ones(2, np.int8), 2), "int8"),
    ("int8 + int32", lambda: ops.add(np.ones(2, np.int8), I32), "int32"),
    ("python int + python int", lambda: ops.add(1, 2), "int32"),
    ("python float + python float", lambda: ops.add(1.0, 2.0), "float32"),
    ("list of ints + python int", lambda: ops.add([1, 2], 1), "int32"),
    ("bool + bool", lambda: ops.add(np.array([True]), np.array([False])), "bool"),
    ("bool + python int", lambda: ops.add(np.array([True]), 1), "int32"),
    ("bool + float32", lambda: ops.multiply(np.array([True, False]), F32), "float32"),
    ("mean of int32", lambda: ops.mean(I32), "float32"),
    ("mean of bool", lambda: ops.mean(np.array([True, False])), "float32"),
    ("exp of int32", lambda: ops.exp(I32), "float32"),
    ("exp of int64", lambda: ops.exp(np.ones(2, np.int64)), "float32"),
    ("exp of list of floats", lambda: ops.exp([1.0]), "float32"),
    ("sqrt of python int", lambda: ops.sqrt(4), "float32"),
    ("divide int32 by int32", lambda: ops.divide(I32, I32), "float32"),
    ("divide python ints", lambda: ops.true_divide(1, 2), "float32"),
    ("floor of int32", lambda: ops.floor(I32), "float32"),
    ("square of bool", lambda: ops.square(np.array([True])), "int32"),
    ("power of int32 by python int", lambda: ops.power(I32, 2), "int32"),
    ("matmul int32", lambda: ops.matmul(np.ones((2, 2), np.int32), np.ones((2, 2), np.int32)),
     "int32"),
    ("matmul int32 by float32", lambda: ops.matmul(np.ones((2, 2), np.int32), np.ones(
        (2, 2), np.float32)), "float32"),
    ("greater", lambda: ops.greater(F32, 0.5), "bool"),
    ("equal of ints", lambda: ops.equal(I32, 1), "bool"),
    ("argmax", lambda: ops.argmax(F32), "int32"),
    ("argmin of int64", lambda: ops.argmin(np.ones((2, 2), np.int64), axis=0), "int32"),
    ("sum of bool", lambda: ops.sum(np.array([True, True])), "int32"),
    ("sum of int8", lambda: ops.sum(np.ones(2, np.int8)), "int32"),
    ("sum of uint8", lambda: ops.sum(np.ones(2, np.uint8)), "uint32"),
    ("sum of int64", lambda: ops.sum(np.ones(2, np.int64)), "int64"),
    ("prod of bool", lambda: ops.prod(np.array([True])), "int32"),
    ("max of int32", lambda: ops.max(I32), "int32"),
    ("std of int32", lambda: ops.std(I32), "float32"),
    ("count_nonzero", lambda: ops.count_nonzero(F32), "int32"),
    ("where python scalars", lambda: ops.where(np.array([True]), 1, 2.0), "float32"),
    ("clip int32 by python floats", lambda: ops.clip(I32, 0.5, 1.5), "float32"),
    ("relu of int32", lambda: ops.relu(I32), "float32"),
    ("one_hot default", lambda: ops.one_hot(I32, 3), "float32"),
    ("zeros default", lambda: ops.zeros((2,)), "float32"),
]


@pytest.mark.parametrize("label, call, dtype", DTYPES, ids=[row[0] for row in DTYPES])
def test_keras_dtype_rules(label, call, dtype):
    assert np.asarray(call()).dtype == np.dtype(dtype), label


# ---- symbolic tensors ------------------------------------------------------------------------
SYMBOLIC = [  # (label, fn, input shapes without the batch)
    ("add", lambda a, b: ops.add(a, b), [(3,), (1,)]),
    ("matmul", lambda a: ops.matmul(a, np.ones((3, 4), np.float32)), [(2, 3)]),
    ("matmul-1d", lambda a: ops.matmul(np.ones(2, np.float32), a), [(2, 3)]),
    ("einsum", lambda a, b: ops.einsum("bij,bjk->bik", a, b), [(2, 3), (3, 4)]),
    ("einsum-over-batch", lambda a: ops.einsum("bi->i", a), [(3,)]),
    ("dot", lambda a: ops.dot(a, np.ones((3, 4), np.float32)), [(2, 3)]),
    ("tensordot", lambda a: ops.tensordot(a, np.ones((3, 4), np.float32), 1), [(2, 3)]),
    ("sum-batch-axis", lambda a: ops.sum(a, axis=0), [(3,)]),
    ("mean-keepdims", lambda a: ops.mean(a, axis=-1, keepdims=True), [(3,)]),
    ("max-all", lambda a: ops.max(a), [(3,)]),
    ("argmax", lambda a: ops.argmax(a, axis=-1), [(3,)]),
    ("logsumexp", lambda a: ops.logsumexp(a, axis=(0, 1)), [(3, 2)]),
    ("std-int", lambda a: ops.std(ops.cast(a, "int32"), axis=1), [(3,)]),
    ("reshape", lambda a: ops.reshape(a, (-1, 2)), [(2, 3)]),
    ("reshape-none", lambda a: ops.reshape(a, (None, 6)), [(2, 3)]),
    ("transpose", lambda a: ops.transpose(a), [(2, 3)]),
    ("expand_dims", lambda a: ops.expand_dims(a, 0), [(3,)]),
    ("squeeze", lambda a: ops.squeeze(a), [(1, 3, 1)]),
    ("concatenate", lambda a, b: ops.concatenate([a, b], axis=0), [(3,), (3,)]),
    ("stack", lambda a, b: ops.stack([a, b], axis=1), [(3,), (3,)]),
    ("split", lambda a: ops.split(a, 3, axis=-1)[1], [(6,)]),
    ("take", lambda a: ops.take(a, np.array([0, 0]), axis=1), [(3,)]),
    ("take-batch", lambda a: ops.take(a, np.array([0, 0]), axis=0), [(3,)]),
    ("take_along_axis", lambda a: ops.take_along_axis(a, np.array([[0, 1]]), axis=1), [(3,)]),
    ("one_hot", lambda a: ops.one_hot(ops.argmax(a, axis=-1), 4), [(3,)]),
    ("getitem", lambda a: a[:, 1:], [(3,)]),
    ("getitem-batch", lambda a: a[:1, None], [(3,)]),
    ("where", lambda a: ops.where(a > 0, a, 0.0), [(3,)]),
    ("cast", lambda a: ops.cast(a, "int32"), [(3,)]),
    ("softmax", lambda a: ops.softmax(a, axis=0), [(3,)]),
    ("log_softmax", lambda a: ops.log_softmax(a), [(3,)]),
    ("gelu", lambda a: ops.gelu(a, approximate=False), [(3,)]),
    ("categorical_crossentropy", lambda a, b: ops.categorical_crossentropy(a, b), [(3,), (3,)]),
    ("sparse_categorical_crossentropy", lambda a, b: ops.sparse_categorical_crossentropy(
        a, b, from_logits=True), [(1,), (3,)]),
    ("binary_crossentropy", lambda a, b: ops.binary_crossentropy(a, b), [(3,), (3,)]),
    ("zeros_like", lambda a: ops.zeros_like(a, "int32"), [(3,)]),
    ("count_nonzero", lambda a: ops.count_nonzero(a, axis=1), [(3,)]),
]


def test_symbolic_shapes_match_the_eager_results():
    rng = np.random.default_rng(0)
    for label, fn, shapes in SYMBOLIC:
        symbolic = fn(*[nerve.Input(shape=s) for s in shapes])
        eager = [np.asarray(fn(*[rng.uniform(0.1, 1, (batch,) + s).astype(np.float32)
                                 for s in shapes])) for batch in (2, 3)]
        expected = tuple(a if a == b else None for a, b in zip(eager[0].shape, eager[1].shape))
        assert symbolic.shape == expected, label
        assert np.dtype(symbolic.dtype) == eager[0].dtype, label
    assert ops.shape(nerve.Input(shape=(3,))) == (None, 3)
    assert ops.ndim(nerve.Input(shape=(3, 2))) == 3


def test_trace_time_errors_name_the_op_and_the_shapes():
    x = nerve.Input(shape=(3,))
    with pytest.raises(ValueError, match=r"ops.matmul: .*\(None, 3\), \(4, 5\)"):
        ops.matmul(x, np.ones((4, 5), np.float32))
    with pytest.raises(ValueError, match=r"ops.add: .*\(None, 3\), \(None, 4\)"):
        ops.add(x, nerve.Input(shape=(4,)))
    with pytest.raises(ValueError, match=r"ops.einsum: .*\(None, 3\), \(4, 5\)"):
        ops.einsum("bi,ij->bj", x, np.ones((4, 5)))
    with pytest.raises(ValueError, match=r"ops.reshape: .*\(None, 3\)"):
        ops.reshape(x, (4,))
    with pytest.raises(ValueError, match=r"ops.sum: .*\(None, 3\)"):
        ops.sum(x, axis=2)
    with pytest.raises(ValueError, match=r"ops.concatenate: .*\(None, 3\), \(None, 4\)"):
        ops.concatenate([x, nerve.Input(shape=(4,))], axis=0)
    with pytest.raises(TypeError, match=r"ops.one_hot: .*\(None, 3\)"):
        ops.one_hot(x, 3)
    with pytest.raises(ValueError, match="ops.size"):
        ops.size(x)
    with pytest.raises(TypeError, match="ops.exp: x: expected real numbers"):
        ops.exp(np.array(["a"]))
    with pytest.raises(TypeError, match="ops.add: x2: expected real numbers"):
        ops.add(x, np.array([1j, 2j, 3j]))
    with pytest.raises(ValueError, match=r"ops.matmul: .*\(2, 3\), \(4, 5\)"):
        ops.matmul(np.ones((2, 3)), np.ones((4, 5)))  # on arrays too


def test_numpy_on_symbolic_tensors():
    x = nerve.Input(shape=(3,))
    with pytest.raises(TypeError, match="nerve.ops.sin"):
        np.sin(x)
    with pytest.raises(TypeError, match="nerve.ops.mean"):
        np.mean(x)
    with pytest.raises(TypeError, match="nerve.ops"):
        np.asarray(x)
    with pytest.raises(TypeError, match="no value"):
        bool(x > 0)
    total = np.ones(3, np.float32) + x  # NumPy's operators hand over to nerve.ops
    assert total.shape == (None, 3) and total.dtype == "float32"
    assert (np.float32(2) * x).shape == (None, 3) and (x @ np.ones((3, 2))).shape == (None, 2)
    assert np.shape(x) == (None, 3) and (-x).shape == (None, 3)

    class UsesNumpy(layers.Layer):
        def call(self, inputs):
            return inputs - np.mean(inputs, axis=-1, keepdims=True)

    with pytest.raises(TypeError, match="use nerve.ops"):
        UsesNumpy()(x)


def test_every_public_op_is_covers():
    assert set(TESTED) == set(ops.__all__) - KERNEL_FUNCTIONS
