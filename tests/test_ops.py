"""nerve.ops: the NumPy-like public functions, checked against NumPy itself."""
import tracemalloc

import numpy as np
import pytest

import nerve
import nerve.ops as nops
from helpers import assert_close

rng = np.random.default_rng(7)


def ref_activation(name, x):
    """Plain NumPy formulas of the activations that need no parameter."""
    x = np.asarray(x, dtype=np.float64)
    return {
        "relu": lambda: np.maximum(x, 0),
        "sigmoid": lambda: 1 / (1 + np.exp(-x)),
        "tanh": lambda: np.tanh(x),
        "softsign": lambda: x / (1 + np.abs(x)),
        "linear": lambda: x,
    }[name]()


@pytest.mark.parametrize("shape", [(1, 1), (7, 13), (64, 33), (3, 1000)])
def test_matmul_matches_numpy_including_transposed_views(shape, dtype):
    a = rng.standard_normal(shape).astype(dtype)
    b = rng.standard_normal((shape[1], 5)).astype(dtype)
    assert_close(nops.matmul(a, b), a @ b, dtype, scale=50)
    assert_close(nops.matmul(b.T, a.T), b.T @ a.T, dtype, scale=50)


def _traced_peak(call):
    """(result, peak bytes Python and NumPy allocated during call())."""
    tracemalloc.start()
    try:
        result = call()
        return result, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_matmul_does_not_copy_a_transposed_view():
    a = rng.standard_normal((400, 300)).astype(np.float32)  # 480 kB; a.T @ a is 360 kB
    at = a.T
    nops.matmul(at, a)
    product, peak = _traced_peak(lambda: nops.matmul(at, a))
    assert peak < product.nbytes + a.nbytes // 4  # the product; a copy of a.T would be 480 kB
    assert_close(product, at @ a, np.float32, scale=50)


@pytest.mark.parametrize("transposed", [False, True])
def test_matmul_of_2d_float_arrays_allocates_only_its_result(transposed, dtype):
    a, b = rng.standard_normal((10, 8)).astype(dtype), rng.standard_normal((8, 10)).astype(dtype)
    if transposed:
        a, b = np.asfortranarray(a), np.asfortranarray(b)  # as x.T views are laid out
    _, bare = _traced_peak(lambda: np.empty((10, 10), dtype))  # a result's data and header
    for matmul in (nops.matmul, nops.kernels.matmul):
        matmul(a, b)
        product, peak = _traced_peak(lambda: matmul(a, b))
        assert peak <= bare, matmul
        assert_close(product, a @ b, dtype, scale=10)


def test_matmul_conversion_rules():
    """keras.ops's rules: ints stay ints, floats promote, 1-D operands as np.matmul."""
    ints = [[1, 2], [3, 4]]
    result = nops.matmul(ints, ints)
    assert result.dtype.kind == "i"
    np.testing.assert_array_equal(result, np.array(ints) @ np.array(ints))
    f32 = np.ones((2, 2), np.float32)
    assert nops.matmul(f32, f32).dtype == np.float32
    assert nops.matmul(f32, f32.astype(np.float64)).dtype == np.float64
    assert nops.matmul(ints, f32).dtype == np.float32
    np.testing.assert_array_equal(nops.matmul(np.ones(2, np.float32), f32), [2, 2])
    with pytest.raises(TypeError, match="x1: expected real numbers"):
        nops.matmul(np.ones((2, 2), complex), f32)
    with pytest.raises(ValueError, match=r"ops.matmul: .*\(2, 2\), \(3, 2\)"):
        nops.matmul(f32, np.ones((3, 2), np.float32))


def test_matmul_out_is_written_in_place_and_checked():
    a = rng.standard_normal((6, 4)).astype(np.float32)
    b = rng.standard_normal((4, 3)).astype(np.float32)
    out = np.full((6, 3), np.nan, np.float32)
    assert nops.matmul(a, b, out=out) is out
    assert_close(out, a @ b, np.float32, scale=10)
    with pytest.raises(TypeError, match="out: expected dtype float32"):
        nops.matmul(a, b, out=np.empty((6, 3)))
    with pytest.raises(ValueError, match="out: expected shape"):
        nops.matmul(a, b, out=np.empty((3, 6), np.float32))
    with pytest.raises(ValueError, match="out: expected a C-contiguous"):
        nops.matmul(a, b, out=np.empty((3, 6), np.float32).T)
    readonly = np.empty((6, 3), np.float32)
    readonly.flags.writeable = False
    with pytest.raises(ValueError, match="out: expected a writable"):
        nops.matmul(a, b, out=readonly)


def test_matmul_out_aliasing_an_input_still_gives_the_product():
    a = rng.standard_normal((5, 5))
    expected = a @ a
    nops.matmul(a, a, out=a)
    assert_close(a, expected, np.float64, scale=10)


@pytest.mark.parametrize("activation", [None, "relu", "sigmoid", "tanh"])
def test_dense_is_activation_of_affine_map(activation, dtype):
    x = rng.standard_normal((17, 9)).astype(dtype)
    w = rng.standard_normal((9, 5)).astype(dtype)
    b = rng.standard_normal(5).astype(dtype)
    expected = ref_activation(activation or "linear", x.astype(np.float64) @ w + b)
    assert_close(nops.dense(x, w, b, activation), expected, dtype, scale=50)
    assert_close(nops.dense(x, w, activation=activation),
                 ref_activation(activation or "linear", x.astype(np.float64) @ w), dtype, scale=50)


def test_dense_rejects_bad_bias_and_activation():
    x, w = np.ones((2, 3)), np.ones((3, 4))
    with pytest.raises(ValueError, match=r"b: expected shape \(4,\)"):
        nops.dense(x, w, np.ones(3))
    with pytest.raises(ValueError, match="activation: expected one of"):
        nops.dense(x, w, activation="relux")


@pytest.mark.parametrize("name", ["relu", "sigmoid", "tanh", "softsign", "linear"])
def test_named_activations_match_formulas_on_any_shape(name, dtype):
    for shape in [(), (1,), (5,), (3, 7), (2, 3, 4)]:
        x = rng.standard_normal(shape).astype(dtype)
        expected = ref_activation(name, x)
        assert_close(getattr(nops, name)(x), expected, dtype, scale=4)
        assert_close(nops.activation(name, x), expected, dtype, scale=4)


def test_parametrised_activations_use_keras_defaults():
    x = np.array([-2.0, -0.5, 0.0, 0.5])
    np.testing.assert_allclose(nops.leaky_relu(x), np.where(x > 0, x, 0.2 * x))
    np.testing.assert_allclose(nops.leaky_relu(x, alpha=0.1), np.where(x > 0, x, 0.1 * x))
    np.testing.assert_allclose(nops.elu(x), np.where(x > 0, x, np.expm1(x)))
    np.testing.assert_array_equal(nops.step(x), [0, 0, 1, 1])
    np.testing.assert_array_equal(nops.step(x, threshold=0.5), [0, 0, 0, 1])


def test_activation_in_place_through_out():
    x = rng.standard_normal((4, 6)).astype(np.float32)
    expected = np.maximum(x, 0)
    assert nops.relu(x, out=x) is x
    np.testing.assert_array_equal(x, expected)


@pytest.mark.parametrize("axis", [-1, 0, 1])
def test_softmax_along_any_axis_is_stable(axis):
    x = rng.standard_normal((4, 5)) * 1e4
    shifted = np.exp(x - x.max(axis=axis, keepdims=True))
    expected = shifted / shifted.sum(axis=axis, keepdims=True)
    result = nops.softmax(x, axis=axis)
    assert np.isfinite(result).all()
    assert_close(result, expected, np.float64, scale=10)
    with pytest.raises(ValueError, match="axis"):
        nops.softmax(x, axis=2)


def test_activation_rejects_bad_input():
    with pytest.raises(TypeError, match="x: expected real numbers"):
        nops.relu(np.array(["a", "b"]))
    with pytest.raises(TypeError, match="activation: expected a name"):
        nops.activation(3, np.ones(2))
    with pytest.raises(ValueError, match="x: expected at least 1 dimension"):
        nops.softmax(np.float64(1.0))


def misaligned(shape, dtype=np.float64):
    """A C-contiguous view one byte into a buffer: NumPy allows it, C++ cannot read it."""
    count = int(np.prod(shape))
    raw = np.arange(count * np.dtype(dtype).itemsize + 1, dtype=np.uint8)
    view = raw[1:].view(dtype).reshape(shape)
    view[...] = np.linspace(-2, 2, count).reshape(shape)
    return view


def test_misaligned_inputs_are_copied_and_a_misaligned_out_is_refused():
    x = misaligned((3, 5))
    assert not x.flags.aligned
    assert_close(nops.matmul(x, x.T), np.asarray(x) @ np.asarray(x).T, np.float64)
    assert_close(nops.tanh(x), np.tanh(x), np.float64)
    with pytest.raises(ValueError, match="out: expected an aligned array"):
        nops.relu(np.ones((3, 5)), out=x)


@pytest.mark.parametrize("module", ["cpp", "reference"])
def test_kernels_refuse_misaligned_arrays_naming_them(module):
    import nerve.reference
    from nerve import _core
    kernels = _core if module == "cpp" else nerve.reference
    x, y = misaligned((3, 5)), np.empty((3, 5))
    with pytest.raises(ValueError, match="x: expected an aligned array"):
        kernels.activation_forward(y, x, "gelu_tanh")
    with pytest.raises(ValueError, match="c: expected an aligned array"):
        kernels.gemm(misaligned((3, 3)), x, np.ones((5, 3)))
