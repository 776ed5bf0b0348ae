"""gemm, dense_forward and dense_backward: the C++ kernels against nerve.reference (both
dtypes, 1 and 2 threads, every instruction set), bitwise thread-count independence, a
finite-difference check of the reference gradients, and argument validation in both backends."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from helpers import assert_close, central_difference, random_array
from nerve import _core
from nerve import reference as ref

TRANSPOSES = [(False, False), (True, False), (False, True), (True, True)]
# (M, N, K): empty, single, primes, non-multiples of the 6x16 / 6x8 tiles and of the cache
# blocks (MC 144/72, KC 256), the batch-sized unpacked-A path (M <= 96) and tall/skinny ones.
SHAPES = [(0, 5, 3), (4, 0, 3), (3, 4, 0), (1, 1, 1), (10, 10, 8), (6, 16, 8), (7, 17, 9),
          (5, 15, 7), (13, 31, 29), (32, 256, 300), (97, 101, 103), (150, 9, 520),
          (1003, 19, 11), (11, 1009, 13), (7, 5, 1021)]
ALPHA_BETA = [(1.0, 0.0), (0.5, 0.25), (-2.0, 1.0)]
ACTIVATIONS = [("linear", 0.0), ("relu", 0.0), ("leaky_relu", 0.2), ("sigmoid", 0.0),
               ("tanh", 0.0), ("gelu", 0.0), ("softmax", 0.0)]


def operands(rng, m, n, k, trans_a, trans_b, dtype):
    a = random_array(rng, (k, m) if trans_a else (m, k), dtype)
    b = random_array(rng, (n, k) if trans_b else (k, n), dtype)
    return a, b


def reduction_scale(k):
    """Tolerance growth for sums of k products (rounding grows like sqrt(k))."""
    return 4.0 * max(1.0, k) ** 0.5


def check_gemm_against_reference(kernel, shape, dtype, seed):
    """kernel(c, a, b, ...) over every transpose pair and alpha/beta, against ref.gemm."""
    rng = np.random.default_rng(seed)
    m, n, k = shape
    for (trans_a, trans_b), (alpha, beta) in zip(TRANSPOSES, ALPHA_BETA * 2):
        a, b = operands(rng, m, n, k, trans_a, trans_b, dtype)
        c = random_array(rng, (m, n), dtype)
        expected = c.copy()
        ref.gemm(expected, a, b, trans_a, trans_b, alpha, beta)
        kernel(c, a, b, trans_a, trans_b, alpha, beta)
        assert_close(c, expected, dtype, reduction_scale(k), f"trans {trans_a, trans_b}")


@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: "x".join(map(str, s)))
def test_gemm_matches_reference(shape, dtype, threads, isa):
    check_gemm_against_reference(_core.gemm, shape, dtype, seed=sum(shape))


@pytest.mark.parametrize("kernel", [_core.gemm, _core._gemm_scalar], ids=["gemm", "scalar"])
@pytest.mark.parametrize("shape", [(3, 4, 0), (7, 17, 9), (97, 101, 103)], ids=str)
def test_beta_zero_ignores_nan_in_c(kernel, shape, dtype, isa):
    rng = np.random.default_rng(1)
    m, n, k = shape
    for trans_a, trans_b in TRANSPOSES:
        a, b = operands(rng, m, n, k, trans_a, trans_b, dtype)
        c = np.full((m, n), np.nan, dtype)
        kernel(c, a, b, trans_a, trans_b, 1.5, 0.0)
        expected = np.empty_like(c)
        ref.gemm(expected, a, b, trans_a, trans_b, 1.5, 0.0)
        assert np.isfinite(c).all()
        assert_close(c, expected, dtype, reduction_scale(k))


@pytest.mark.parametrize("shape", [(0, 3, 2), (1, 1, 1), (7, 17, 9), (40, 23, 300)], ids=str)
def test_gemm_scalar_matches_reference(shape, dtype):
    check_gemm_against_reference(_core._gemm_scalar, shape, dtype, seed=2)


def run_on_threads(n, fn):
    _core.set_num_threads(n)
    try:
        return fn()
    finally:
        _core.reset_num_threads()


@pytest.mark.parametrize("shape", [(32, 256, 784), (97, 130, 300), (301, 517, 263), (1000, 40, 64)],
                         ids=str)
def test_gemm_bitwise_same_on_1_and_2_threads(shape, dtype, isa):
    rng = np.random.default_rng(3)
    m, n, k = shape
    for trans_a, trans_b in TRANSPOSES:
        a, b = operands(rng, m, n, k, trans_a, trans_b, dtype)
        c0 = random_array(rng, (m, n), dtype)

        def product():
            c = c0.copy()
            _core.gemm(c, a, b, trans_a, trans_b, 0.75, 0.5)
            return c
        assert np.array_equal(run_on_threads(1, product), run_on_threads(2, product))


@settings(max_examples=60, deadline=None)
@given(m=st.integers(0, 70), n=st.integers(0, 70), k=st.integers(0, 70),
       trans_a=st.booleans(), trans_b=st.booleans(), f64=st.booleans(), seed=st.integers(0, 99))
def test_gemm_hypothesis_shapes(m, n, k, trans_a, trans_b, f64, seed):
    dtype = np.float64 if f64 else np.float32
    rng = np.random.default_rng(seed)
    a, b = operands(rng, m, n, k, trans_a, trans_b, dtype)
    c = random_array(rng, (m, n), dtype)
    expected = c.copy()
    ref.gemm(expected, a, b, trans_a, trans_b, 1.25, -0.5)
    _core.gemm(c, a, b, trans_a, trans_b, 1.25, -0.5)
    assert_close(c, expected, dtype, reduction_scale(k))


# ---- dense layers ----

DENSE_SHAPES = [(0, 3, 4), (1, 1, 1), (5, 7, 3), (32, 40, 300), (130, 33, 17), (4, 5, 0)]


def dense_inputs(rng, batch, inputs, units, dtype):
    return (random_array(rng, (batch, inputs), dtype), random_array(rng, (inputs, units), dtype),
            random_array(rng, (units,), dtype))


@pytest.mark.parametrize("activation,alpha", ACTIVATIONS + [("step", 0.1)], ids=lambda v: str(v))
@pytest.mark.parametrize("shape", DENSE_SHAPES, ids=str)
def test_dense_forward_matches_reference(shape, activation, alpha, dtype, threads, isa):
    rng = np.random.default_rng(4)
    batch, inputs, units = shape
    x, w, b = dense_inputs(rng, batch, inputs, units, dtype)
    for bias in (b, None):
        y_ref, z_ref = np.empty((batch, units), dtype), np.empty((batch, units), dtype)
        ref.dense_forward(y_ref, x, w, bias, activation, alpha, z_ref)
        y, z = np.full_like(y_ref, np.nan), np.full_like(z_ref, np.nan)
        _core.dense_forward(y, x, w, bias, activation, alpha, z)
        assert_close(z, z_ref, dtype, reduction_scale(inputs))
        if activation != "step":  # a threshold flips on rounding differences at the edge
            assert_close(y, y_ref, dtype, reduction_scale(inputs))
        y_only = np.full_like(y_ref, np.nan)
        _core.dense_forward(y_only, x, w, bias, activation, alpha)
        assert np.array_equal(y_only, y)


def test_dense_forward_linear_z_may_be_y(dtype):
    rng = np.random.default_rng(5)
    x, w, b = dense_inputs(rng, 9, 20, 11, dtype)
    y, expected = np.empty((9, 11), dtype), np.empty((9, 11), dtype)
    _core.dense_forward(y, x, w, b, "linear", 0.0, y)
    ref.dense_forward(expected, x, w, b, "linear", 0.0, expected)
    assert_close(y, expected, dtype, reduction_scale(20))


def backward_case(rng, shape, activation, alpha, dtype):
    batch, inputs, units = shape
    x, w, b = dense_inputs(rng, batch, inputs, units, dtype)
    y, z = np.empty((batch, units), dtype), np.empty((batch, units), dtype)
    ref.dense_forward(y, x, w, b, activation, alpha, z)
    return x, w, z, y, random_array(rng, (batch, units), dtype)


def backward_outputs(rng, shape, dtype, with_dx, with_db):
    batch, inputs, units = shape
    return (random_array(rng, (batch, inputs), dtype) if with_dx else None,
            random_array(rng, (inputs, units), dtype),
            random_array(rng, (units,), dtype) if with_db else None)


def copy_or_none(a):
    return None if a is None else a.copy()


@pytest.mark.parametrize("activation,alpha", ACTIVATIONS, ids=lambda v: str(v))
@pytest.mark.parametrize("shape", DENSE_SHAPES, ids=str)
def test_dense_backward_matches_reference(shape, activation, alpha, dtype, threads, isa):
    rng = np.random.default_rng(6)
    x, w, z, y, dy = backward_case(rng, shape, activation, alpha, dtype)
    for with_dx, with_db, accumulate, in_place in [(True, True, False, False), (False, True, True, True),
                                                    (True, False, True, False), (False, False, False, True)]:
        dx, dw, db = backward_outputs(rng, shape, dtype, with_dx, with_db)
        dx_ref, dw_ref, db_ref = copy_or_none(dx), dw.copy(), copy_or_none(db)
        dz_ref = np.empty_like(dy)
        ref.dense_backward(dx_ref, dw_ref, db_ref, dz_ref, dy, x, w, z, y, activation, alpha, accumulate)
        dy_in = dy.copy()
        dz = dy_in if in_place else np.empty_like(dy)
        _core.dense_backward(dx, dw, db, dz, dy_in, x, w, z, y, activation, alpha, accumulate)
        scale = reduction_scale(max(shape))
        assert_close(dz, dz_ref, dtype, scale)
        assert_close(dw, dw_ref, dtype, scale)
        if with_dx:
            assert_close(dx, dx_ref, dtype, scale)
        if with_db:
            assert_close(db, db_ref, dtype, scale)


@pytest.mark.parametrize("activation,alpha", [("relu", 0.0), ("softmax", 0.0), ("tanh", 0.0)])
def test_dense_bitwise_same_on_1_and_2_threads(activation, alpha, dtype, isa):
    rng = np.random.default_rng(7)
    shape = (128, 300, 256)
    x, w, z, y, dy = backward_case(rng, shape, activation, alpha, dtype)
    b = random_array(rng, (shape[2],), dtype)

    def layer():
        y_out, z_out = np.empty_like(y), np.empty_like(z)
        _core.dense_forward(y_out, x, w, b, activation, alpha, z_out)
        dx, dw, db = backward_outputs(np.random.default_rng(8), shape, dtype, True, True)
        dz = np.empty_like(dy)
        _core.dense_backward(dx, dw, db, dz, dy, x, w, z, y, activation, alpha, True)
        return y_out, z_out, dx, dw, db, dz
    for one, two in zip(run_on_threads(1, layer), run_on_threads(2, layer)):
        assert np.array_equal(one, two)


@pytest.mark.parametrize("activation", ["linear", "tanh", "sigmoid", "softmax", "gelu"])
def test_reference_dense_backward_finite_difference(activation):
    """The reference gradients of L = sum(g * dense(x)) match central differences (float64)."""
    rng = np.random.default_rng(9)
    x, w, b = dense_inputs(rng, 3, 4, 5, np.float64)
    g = random_array(rng, (3, 5), np.float64)

    def loss(x_, w_, b_):
        y = np.empty((3, 5))
        ref.dense_forward(y, x_, w_, b_, activation)
        return float(np.sum(g * y))
    y, z = np.empty((3, 5)), np.empty((3, 5))
    ref.dense_forward(y, x, w, b, activation, 0.0, z)
    dx, dw, db, dz = np.empty_like(x), np.empty_like(w), np.empty_like(b), np.empty_like(y)
    ref.dense_backward(dx, dw, db, dz, g, x, w, z, y, activation)
    tol = dict(rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(dx, central_difference(lambda v: loss(v, w, b), x), **tol)
    np.testing.assert_allclose(dw, central_difference(lambda v: loss(x, v, b), w), **tol)
    np.testing.assert_allclose(db, central_difference(lambda v: loss(x, w, v), b), **tol)


# ---- argument validation, in both backends ----

BACKENDS = pytest.mark.parametrize("backend", [_core, ref], ids=["cpp", "numpy"])
# Each function's valid arguments (shapes; batch 4, in 3, units 5) and which array sets the dtype.
SIGNATURES = {
    "gemm": dict(arrays={"c": (4, 5), "a": (4, 3), "b": (3, 5)}, outputs=["c"], dtype_from="c",
                 inputs=["a", "b"], checked_shapes=["b", "c"], extra={}),
    "dense_forward": dict(arrays={"y": (4, 5), "x": (4, 3), "w": (3, 5), "b": (5,), "z": (4, 5)},
                          outputs=["y", "z"], dtype_from="y", inputs=["x", "w", "b"],
                          checked_shapes=["w", "b", "y", "z"], extra={"activation": "relu"}),
    "dense_backward": dict(arrays={"dx": (4, 3), "dw": (3, 5), "db": (5,), "dz": (4, 5), "dy": (4, 5),
                                   "x": (4, 3), "w": (3, 5), "z": (4, 5), "y": (4, 5)},
                           outputs=["dx", "dw", "db", "dz"], dtype_from="dw", inputs=["dy", "x", "w", "z", "y"],
                           checked_shapes=["w", "dy", "z", "y", "dz", "dw", "dx", "db"],
                           extra={"activation": "tanh"}),
}
CASES = [(fn, arg) for fn, sig in SIGNATURES.items() for arg in sig["arrays"]]


def valid_args(fn):
    rng = np.random.default_rng(10)
    sig = SIGNATURES[fn]
    args = {name: random_array(rng, shape, np.float32) for name, shape in sig["arrays"].items()}
    return {**args, **sig["extra"]}


def assert_rejected(backend, fn, args, error, name):
    with pytest.raises(error) as info:
        getattr(backend, fn)(**args)
    assert str(info.value).startswith(f"{name}: expected"), str(info.value)


@BACKENDS
def test_valid_arguments_pass(backend):
    for fn in SIGNATURES:
        getattr(backend, fn)(**valid_args(fn))


@BACKENDS
@pytest.mark.parametrize("fn,arg", CASES)
def test_rejects_wrong_kind_dtype_and_ndim(backend, fn, arg):
    args = valid_args(fn)
    good = args[arg]
    bad_values = [(good.tolist(), TypeError), (good.astype(np.int32), TypeError), (good[None], ValueError)]
    if arg != SIGNATURES[fn]["dtype_from"]:  # that array sets the dtype the others share
        bad_values.append((good.astype(np.float64), TypeError))
    for bad, error in bad_values:
        assert_rejected(backend, fn, {**args, arg: bad}, error, arg)


@BACKENDS
@pytest.mark.parametrize("fn,arg", [(fn, arg) for fn, sig in SIGNATURES.items()
                                    for arg in sig["checked_shapes"]])
def test_rejects_mismatched_shape(backend, fn, arg):
    args = valid_args(fn)
    wrong = np.zeros(tuple(d + 1 for d in args[arg].shape), np.float32)
    assert_rejected(backend, fn, {**args, arg: wrong}, ValueError, arg)


@BACKENDS
@pytest.mark.parametrize("fn,arg", CASES)
def test_rejects_non_contiguous(backend, fn, arg):
    args = valid_args(fn)
    shape = args[arg].shape
    strided = np.zeros(shape[:-1] + (2 * shape[-1],), np.float32)[..., ::2]
    assert_rejected(backend, fn, {**args, arg: strided}, ValueError, arg)


@BACKENDS
@pytest.mark.parametrize("fn,arg", [(fn, arg) for fn, sig in SIGNATURES.items() for arg in sig["outputs"]])
def test_rejects_read_only_output(backend, fn, arg):
    args = valid_args(fn)
    args[arg].setflags(write=False)
    assert_rejected(backend, fn, args, ValueError, arg)


@BACKENDS
@pytest.mark.parametrize("fn,out,source", [(fn, out, source) for fn, sig in SIGNATURES.items()
                                           for out in sig["outputs"] for source in sig["inputs"]])
def test_rejects_output_overlapping_an_input(backend, fn, out, source):
    args = valid_args(fn)
    out_size, source_size = args[out].size, args[source].size
    memory = np.zeros(out_size + source_size, np.float32)
    args[out] = memory[:out_size].reshape(args[out].shape)
    args[source] = memory[out_size - 1:out_size - 1 + source_size].reshape(args[source].shape)
    assert_rejected(backend, fn, args, ValueError, out)


@BACKENDS
def test_allowed_aliases(backend):
    args = valid_args("dense_backward")
    backend.dense_backward(**{**args, "dz": args["dy"]})
    args = valid_args("dense_forward")
    backend.dense_forward(**{**args, "activation": "linear", "z": args["y"]})


@BACKENDS
def test_dz_may_be_dy_only_in_that_role(backend):
    """dw given the very array that is dz and dy overlaps dz: both backends refuse it (the
    reference once let it through because dw was the same object as dy)."""
    args = valid_args("dense_backward")
    square = {name: np.ones((3, 3), np.float32) for name in ("x", "w", "z", "y")}
    shared = np.ones((3, 3), np.float32)
    aliased = {**args, **square, "dx": None, "db": np.zeros(3, np.float32), "dw": shared,
               "dz": shared, "dy": shared, "activation": "linear"}
    assert_rejected(backend, "dense_backward", aliased, ValueError, "dz")


@BACKENDS
def test_rejects_bad_activation(backend):
    fwd, bwd = valid_args("dense_forward"), valid_args("dense_backward")
    assert_rejected(backend, "dense_forward", {**fwd, "z": fwd["y"]}, ValueError, "z")
    assert_rejected(backend, "dense_forward", {**fwd, "activation": "nope"}, ValueError, "activation")
    assert_rejected(backend, "dense_forward", {**fwd, "activation": 3}, TypeError, "activation")
    assert_rejected(backend, "dense_backward", {**bwd, "activation": "step"}, ValueError, "activation")


@BACKENDS
def test_gemm_rejects_shapes_inconsistent_with_transposes(backend):
    args = valid_args("gemm")
    assert_rejected(backend, "gemm", {**args, "trans_a": True}, ValueError, "b")
    assert_rejected(backend, "gemm", {**args, "trans_b": True}, ValueError, "b")
    c = np.zeros((3, 4), np.float32)
    assert_rejected(backend, "gemm", {"c": c, "a": args["a"], "b": args["a"], "trans_a": True},
                    ValueError, "c")
