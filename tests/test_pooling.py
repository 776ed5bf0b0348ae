"""Pooling kernels (max and average, forward and backward, NHWC): nerve._core against
nerve.reference over awkward geometries, both dtypes, 1 and 2 threads, every instruction set;
the scalar twins; bitwise thread-count independence; ties and NaN; gradients of the reference
by central differences; argument validation, the same in both backends."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from helpers import assert_close, central_difference, random_array
from nerve import _core
from nerve import reference as ref
from nerve.layers.spatial import output_length, padding_amounts

# (N, H, W, C, pool, strides, padding): pools 1-3 and 5, strides 1-3, odd sizes, "same" with
# even pools (one more pad after), a pool larger than the image, batch 1, one channel, 37
# channels (not a multiple of the 8/4 lanes), empty batch and channels, windows overlapping
# (stride < pool) and skipping inputs (stride > pool), and one above the threading threshold.
GEOMETRIES = [
    (2, 6, 6, 3, (2, 2), (2, 2), "valid"), (1, 7, 5, 1, (3, 3), (2, 2), "valid"),
    (3, 9, 11, 37, (3, 2), (1, 3), "valid"), (2, 7, 7, 4, (2, 2), (2, 2), "same"),
    (2, 8, 5, 5, (4, 2), (3, 1), "same"), (1, 5, 5, 2, (1, 1), (1, 1), "valid"),
    (2, 5, 6, 3, (1, 1), (3, 2), "same"), (1, 2, 3, 6, (5, 5), (1, 2), "same"),
    (4, 13, 13, 32, (2, 2), (2, 2), "valid"), (0, 4, 4, 3, (2, 2), (2, 2), "valid"),
    (2, 4, 4, 0, (2, 2), (1, 1), "same"), (1, 1, 9, 7, (1, 3), (1, 2), "same"),
    (8, 26, 26, 32, (2, 2), (2, 2), "valid"),
]
IDS = ["x".join(map(str, g[:4])) + f"-p{g[4][0]}{g[4][1]}s{g[5][0]}{g[5][1]}{g[6]}"
       for g in GEOMETRIES]
SCALAR = {"max_pool2d_forward": _core._max_pool2d_forward_scalar,
          "max_pool2d_backward": _core._max_pool2d_backward_scalar,
          "avg_pool2d_forward": _core._avg_pool2d_forward_scalar,
          "avg_pool2d_backward": _core._avg_pool2d_backward_scalar}


def window_args(geometry):
    """(out_shape, (pool_h, pool_w, stride_h, stride_w, pad_top, pad_left)) by Keras's rules."""
    n, h, w, c, pool, strides, padding = geometry
    out = [output_length(size, k, s, 1, padding) for size, k, s in zip((h, w), pool, strides)]
    pads = [padding_amounts(size, k, s, 1, padding)[0] for size, k, s in zip((h, w), pool, strides)]
    return (n, out[0], out[1], c), (*pool, *strides, *pads)


def run_all(api, x, dy, window, scalar=False):
    """(y, argmax, dx) of max pooling and (y, dx) of average pooling."""
    fn = (lambda name: SCALAR[name]) if scalar else (lambda name: getattr(api, name))
    y, argmax = np.empty(dy.shape, x.dtype), np.empty(dy.shape, np.int64)
    fn("max_pool2d_forward")(y, argmax, x, *window)
    dx = np.empty_like(x)
    fn("max_pool2d_backward")(dx, dy, argmax)
    mean, dx_mean = np.empty_like(y), np.empty_like(x)
    fn("avg_pool2d_forward")(mean, x, *window)
    fn("avg_pool2d_backward")(dx_mean, dy, *window)
    return y, argmax, dx, mean, dx_mean


def case(geometry, dtype, seed=0):
    out_shape, window = window_args(geometry)
    rng = np.random.default_rng(seed)
    return random_array(rng, geometry[:4], dtype), random_array(rng, out_shape, dtype), window


def check_against_reference(result, expected, dtype):
    y, argmax, dx, mean, dx_mean = result
    y_ref, argmax_ref, dx_ref, mean_ref, dx_mean_ref = expected
    np.testing.assert_array_equal(y, y_ref)  # a max is exact
    np.testing.assert_array_equal(argmax, argmax_ref)
    assert_close(dx, dx_ref, dtype, 4.0, "max backward")
    assert_close(mean, mean_ref, dtype, 4.0, "avg forward")
    assert_close(dx_mean, dx_mean_ref, dtype, 4.0, "avg backward")


@pytest.mark.parametrize("geometry", GEOMETRIES, ids=IDS)
def test_matches_reference(geometry, dtype, threads, isa):
    x, dy, window = case(geometry, dtype)
    check_against_reference(run_all(_core, x, dy, window), run_all(ref, x, dy, window), dtype)


@pytest.mark.parametrize("geometry", GEOMETRIES, ids=IDS)
def test_scalar_kernels_match_reference(geometry, dtype):
    x, dy, window = case(geometry, dtype, seed=1)
    check_against_reference(run_all(_core, x, dy, window, scalar=True),
                            run_all(ref, x, dy, window), dtype)


@pytest.mark.parametrize("geometry", [GEOMETRIES[2], GEOMETRIES[4], GEOMETRIES[-1]],
                         ids=[IDS[2], IDS[4], IDS[-1]])
def test_bitwise_same_on_1_and_2_threads_and_scalar(geometry, dtype, isa):
    """Threads split rows (forward) and images (backward) in fixed chunks, and the optimized
    kernels add in the scalar twins' order: all three agree to the bit."""
    x, dy, window = case(geometry, dtype, seed=2)
    results = []
    for threads in (1, 2):
        _core.set_num_threads(threads)
        results.append(run_all(_core, x, dy, window))
    _core.reset_num_threads()
    results.append(run_all(_core, x, dy, window, scalar=True))
    for other in results[1:]:
        for a, b in zip(results[0], other):
            assert a.tobytes() == b.tobytes()


@pytest.mark.parametrize("scalar", [False, True], ids=["optimized", "scalar"])
def test_ties_take_the_first_and_nan_wins(scalar, dtype, isa):
    fn = SCALAR["max_pool2d_forward"] if scalar else _core.max_pool2d_forward
    x = np.zeros((1, 2, 4, 9), dtype)  # windows of 2x2, the same value everywhere
    x[0, 1, 1, 1] = np.nan  # window 0: only the NaN
    x[0, 0, 3, 2] = x[0, 1, 2, 2] = np.nan  # window 1: the first NaN (row-major) wins
    x[0, 1, 0, 3] = 1.0
    x[0, 0, 1, 3] = 1.0  # a tie at the maximum: (0, 1) comes first
    x[0, :, :, 4] = -np.inf
    x[0, 0, 0, 5] = -0.0  # -0.0 == 0.0: the first one stays
    x[0, 1, 2, 6], x[0, 0, 2, 6] = np.inf, np.nan
    y, argmax = np.empty((1, 1, 2, 9), dtype), np.empty((1, 1, 2, 9), np.int64)
    fn(y, argmax, x, 2, 2, 2, 2, 0, 0)
    y_ref, argmax_ref = np.empty_like(y), np.empty_like(argmax)
    ref.max_pool2d_forward(y_ref, argmax_ref, x, 2, 2, 2, 2, 0, 0)
    np.testing.assert_array_equal(argmax, argmax_ref)
    np.testing.assert_array_equal(y, y_ref)
    assert argmax[0, 0, 0, 1] == 5 and np.isnan(y[0, 0, 0, 1])
    assert argmax[0, 0, 1, 2] == 3 and np.isnan(y[0, 0, 1, 2])
    assert argmax[0, 0, 0, 3] == 1 and argmax[0, 0, 0, 4] == 0
    assert argmax[0, 0, 1, 6] == 2 and np.isnan(y[0, 0, 1, 6])
    assert np.signbit(y[0, 0, 0, 5])


@settings(max_examples=60, deadline=None)
@given(n=st.integers(0, 3), h=st.integers(1, 9), w=st.integers(1, 9), c=st.integers(0, 11),
       pool=st.tuples(st.integers(1, 4), st.integers(1, 4)),
       strides=st.tuples(st.integers(1, 4), st.integers(1, 4)),
       padding=st.sampled_from(["valid", "same"]), f64=st.booleans(), seed=st.integers(0, 99))
def test_hypothesis_geometries(n, h, w, c, pool, strides, padding, f64, seed):
    geometry = (n, h, w, c, pool, strides, padding)
    out_shape, _ = window_args(geometry)
    if min(out_shape[1:3]) < 1:
        return  # the window does not fit: a layer refuses this geometry
    dtype = np.float64 if f64 else np.float32
    x, dy, window = case(geometry, dtype, seed)
    check_against_reference(run_all(_core, x, dy, window), run_all(ref, x, dy, window), dtype)


# ---- gradients of the reference, by central differences in float64 ----

@pytest.mark.parametrize("geometry", [GEOMETRIES[1], GEOMETRIES[3], GEOMETRIES[4],
                                      GEOMETRIES[7]], ids=[IDS[1], IDS[3], IDS[4], IDS[7]])
def test_reference_gradients_finite_difference(geometry):
    out_shape, window = window_args(geometry)
    rng = np.random.default_rng(5)
    size = int(np.prod(geometry[:4]))
    # Distinct values spaced far more than the step: no window maximum changes under it.
    x = (rng.permutation(size).astype(np.float64) / size).reshape(geometry[:4])
    g = random_array(rng, out_shape, np.float64)

    def loss(kind, v):
        y = np.empty(out_shape)
        if kind == "max":
            ref.max_pool2d_forward(y, np.empty(out_shape, np.int64), v, *window)
        else:
            ref.avg_pool2d_forward(y, v, *window)
        return float(np.sum(g * y))
    _, argmax, dx_max, _, dx_avg = run_all(ref, x, g, window)
    eps = 0.1 / size
    np.testing.assert_allclose(dx_max, central_difference(lambda v: loss("max", v), x, eps),
                               rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(dx_avg, central_difference(lambda v: loss("avg", v), x, eps),
                               rtol=1e-7, atol=1e-9)


# ---- argument validation: both backends refuse the same calls with the same message ----

BACKENDS = [_core, ref]
WINDOW = dict(pool_h=2, pool_w=3, stride_h=2, stride_w=2, pad_top=1, pad_left=0)
# x (2, 5, 6, 3) pooled 2x3 with strides 2 and pad_top 1: a (2, 3, 2, 3) output.
ARRAYS = {"x": ((2, 5, 6, 3), "float"), "y": ((2, 3, 2, 3), "float"),
          "argmax": ((2, 3, 2, 3), "index"), "dx": ((2, 5, 6, 3), "float"),
          "dy": ((2, 3, 2, 3), "float")}
# fn: (arrays, outputs, takes a window, the array setting the dtype, the one setting N and C)
SIGNATURES = {
    "max_pool2d_forward": (["y", "argmax", "x"], ["y", "argmax"], True, "x", "x"),
    "max_pool2d_backward": (["dx", "dy", "argmax"], ["dx"], False, "dy", "dy"),
    "avg_pool2d_forward": (["y", "x"], ["y"], True, "x", "x"),
    "avg_pool2d_backward": (["dx", "dy"], ["dx"], True, "dy", "dx"),
}
CASES = [(fn, arg) for fn, sig in SIGNATURES.items() for arg in sig[0]]
OUTPUTS = [(fn, out) for fn, sig in SIGNATURES.items() for out in sig[1]]
WINDOWED = [fn for fn, sig in SIGNATURES.items() if sig[2]]


def valid_args(fn):
    arrays, _, windowed = SIGNATURES[fn][:3]
    rng = np.random.default_rng(11)
    args = {}
    for name in arrays:
        shape, kind = ARRAYS[name]
        args[name] = (rng.integers(0, 5 * 6, shape) if kind == "index"
                      else random_array(rng, shape, np.float32))
    return {**args, **(WINDOW if windowed else {})}


def assert_rejected(fn, mutate, error, name):
    """Both backends raise `error` with one message naming `name`, and write nothing."""
    messages = []
    for backend in BACKENDS:
        args = mutate(valid_args(fn))
        before = {k: v.copy() for k, v in args.items() if isinstance(v, np.ndarray)}
        with pytest.raises(error) as info:
            getattr(backend, fn)(**args)
        messages.append(str(info.value))
        for k, v in before.items():
            np.testing.assert_array_equal(args[k], v, err_msg=f"{backend.__name__} wrote {k}")
    assert messages[0] == messages[1]
    assert messages[0].startswith(f"{name}: expected"), messages[0]


def replace(**changes):
    return lambda args: {**args, **{k: (v(args) if callable(v) else v)
                                    for k, v in changes.items()}}


def test_valid_arguments_pass():
    for backend in BACKENDS:
        for fn in SIGNATURES:
            getattr(backend, fn)(**valid_args(fn))


@pytest.mark.parametrize("fn,arg", CASES)
def test_rejects_wrong_kind_dtype_ndim_and_layout(fn, arg):
    is_index = ARRAYS[arg][1] == "index"
    wrong_dtype = np.float32 if is_index else np.int32
    assert_rejected(fn, replace(**{arg: lambda a: a[arg].tolist()}), TypeError, arg)
    assert_rejected(fn, replace(**{arg: lambda a: a[arg].astype(wrong_dtype)}), TypeError, arg)
    assert_rejected(fn, replace(**{arg: lambda a: a[arg][None]}), ValueError, arg)
    assert_rejected(fn, replace(**{arg: lambda a: a[arg][0]}), ValueError, arg)
    assert_rejected(fn, replace(**{arg: lambda a: np.repeat(a[arg], 2, axis=3)[..., ::2]}),
                    ValueError, arg)


@pytest.mark.parametrize("fn,arg", [c for c in CASES if ARRAYS[c[1]][1] == "float"])
def test_rejects_mixed_float_dtypes(fn, arg):
    if arg != SIGNATURES[fn][3]:
        assert_rejected(fn, replace(**{arg: lambda a: a[arg].astype(np.float64)}), TypeError, arg)


@pytest.mark.parametrize("fn,arg", CASES)
def test_rejects_other_batch_or_channels(fn, arg):
    for axis in (0, 3):
        grown = replace(**{arg: lambda a: np.concatenate([a[arg], a[arg]], axis=axis)})
        if arg != SIGNATURES[fn][4]:
            assert_rejected(fn, grown, ValueError, arg)


@pytest.mark.parametrize("fn,out", OUTPUTS)
def test_rejects_read_only_and_overlapping_outputs(fn, out):
    def read_only(args):
        args[out].setflags(write=False)
        return args
    assert_rejected(fn, read_only, ValueError, out)
    for source in SIGNATURES[fn][0]:
        if source == out:
            continue

        def overlap(args, source=source):
            a, b = args[out], args[source]
            memory = np.zeros(a.nbytes + b.nbytes, np.uint8)
            args[out] = memory[:a.nbytes].view(a.dtype).reshape(a.shape)
            start = a.nbytes - b.itemsize  # b's first element is a's last
            args[source] = memory[start:start + b.nbytes].view(b.dtype).reshape(b.shape)
            return args
        # Two outputs overlapping: the later one's check names it.
        named = "argmax" if {out, source} == {"y", "argmax"} else out
        assert_rejected(fn, overlap, ValueError, named)


@pytest.mark.parametrize("fn", WINDOWED)
def test_rejects_bad_window_arguments(fn):
    for name in WINDOW:
        low = 0 if name.startswith("pad") else 1
        assert_rejected(fn, replace(**{name: 2.0}), TypeError, name)
        assert_rejected(fn, replace(**{name: "2"}), TypeError, name)
        assert_rejected(fn, replace(**{name: low - 1}), ValueError, name)
        assert_rejected(fn, replace(**{name: 2**70}), ValueError, name)
    assert_rejected(fn, replace(pool_h=2**31), ValueError, "pool_h")
    assert_rejected(fn, replace(pad_top=2), ValueError, "pad_top")  # pad == pool
    assert_rejected(fn, replace(pad_left=3), ValueError, "pad_left")


@pytest.mark.parametrize("fn", WINDOWED)
def test_rejects_windows_outside_the_image(fn):
    out = "dy" if "dy" in SIGNATURES[fn][0] else "y"
    image = "dx" if out == "dy" else "x"
    # Rows of windows start at -1, 1, 3 (a fourth would start at row 5 of 5), columns at 0,
    # 2, 4: a last window partly outside the image is allowed, one wholly outside is not.
    for rows, cols in ((4, 2), (3, 4), (0, 2), (3, 0)):
        shape = (2, rows, cols, 3)
        assert_rejected(fn, replace(**{out: np.zeros(shape, np.float32)}), ValueError, out)
    assert_rejected(fn, replace(**{image: np.zeros((2, 0, 6, 3), np.float32)}), ValueError,
                    image)
    # With strides 1, windows start at rows -1..4 and columns 0..5: a 6x6 grid fits, 7 not.
    grid = {out: np.zeros((2, 6, 6, 3), np.float32)}
    if fn == "max_pool2d_forward":
        grid["argmax"] = np.zeros((2, 6, 6, 3), np.int64)
    for backend in BACKENDS:
        getattr(backend, fn)(**replace(stride_h=1, stride_w=1, **grid)(valid_args(fn)))
    grid[out] = np.zeros((2, 7, 6, 3), np.float32)
    assert_rejected(fn, replace(stride_h=1, stride_w=1, **grid), ValueError, out)


@pytest.mark.parametrize("bad", [-1, 30, 2**62, -2**63])
def test_rejects_corrupted_argmax(bad):
    def corrupt(args):
        args["argmax"][1, 2, 1, 2] = bad
        return args
    assert_rejected("max_pool2d_backward", corrupt, ValueError, "argmax")


def test_scalar_bindings_check_as_the_optimized_ones():
    for fn, scalar in SCALAR.items():
        args = valid_args(fn)
        args["dx" if "dx" in args else "y"] = np.zeros((1, 1, 1, 1), np.float32)
        with pytest.raises(ValueError):
            scalar(**args)
