"""conv2d_forward and conv2d_backward: the C++ kernels (and their scalar twins) against
nerve.reference over awkward geometries, both dtypes, 1 and 2 threads and every instruction
set; bitwise thread-count independence; the reference's gradients by central differences in
float64; and argument validation."""
import numpy as np
import pytest

from helpers import assert_close, central_difference, random_array
from nerve import _core
from nerve import reference as ref

# (N, H, W, C, F, KH, KW, stride, dilation, padding, groups): padding "valid", "same"
# (Keras's split: the odd one after) or (top, bottom, left, right).
CASES = {
    "1x1 pointwise": (2, 5, 7, 3, 4, 1, 1, 1, 1, "valid", 1),
    "1x1 stride 2": (2, 6, 5, 3, 4, 1, 1, 2, 1, "valid", 1),
    "3x3 valid": (3, 9, 8, 4, 6, 3, 3, 1, 1, "valid", 1),
    "3x3 same": (2, 7, 7, 5, 3, 3, 3, 1, 1, "same", 1),
    "5x5 same stride 3": (2, 11, 10, 2, 5, 5, 5, 3, 1, "same", 1),
    "2x2 same even kernel": (2, 6, 7, 3, 4, 2, 2, 1, 1, "same", 1),
    "4x2 same stride 2": (2, 9, 8, 3, 4, 4, 2, 2, 1, "same", 1),
    "dilation 2": (2, 12, 11, 3, 4, 3, 3, 1, 2, "valid", 1),
    "dilation 2 same": (1, 9, 9, 2, 3, 3, 3, 1, 2, "same", 1),
    "batch 1 one channel": (1, 28, 28, 1, 8, 3, 3, 1, 1, "valid", 1),
    "many channels": (2, 6, 6, 67, 70, 3, 3, 1, 1, "same", 1),
    "groups 2": (2, 7, 6, 4, 6, 3, 3, 1, 1, "valid", 2),
    "depthwise groups": (2, 6, 6, 5, 10, 3, 3, 2, 1, "same", 5),
    "1-D as one row": (3, 1, 17, 4, 5, 1, 5, 2, 1, "same", 1),
    "kernel as large as input": (2, 5, 4, 2, 3, 5, 4, 1, 1, "valid", 1),
    "asymmetric pads": (2, 6, 6, 2, 3, 3, 3, 1, 1, (2, 0, 1, 1), 1),
    "tiles across images": (5, 13, 13, 8, 16, 3, 3, 1, 1, "valid", 1),
}
ACTIVATIONS = [("linear", 0.0), ("relu", 0.0), ("leaky_relu", 0.2), ("tanh", 0.0),
               ("softmax", 0.0)]


def geometry(case):
    """Arrays' shapes and the kernels' geometry arguments of a case."""
    n, h, w, c, f, kh, kw, stride, dilation, padding, groups = case
    spans = [(k - 1) * dilation + 1 for k in (kh, kw)]
    if padding == "valid":
        pads = (0, 0, 0, 0)
    elif padding == "same":
        totals = [max((-(-size // stride) - 1) * stride + span - size, 0)
                  for size, span in zip((h, w), spans)]
        pads = (totals[0] // 2, totals[0] - totals[0] // 2, totals[1] // 2,
                totals[1] - totals[1] // 2)
    else:
        pads = padding
    out = [(size + before + after - span) // stride + 1
           for size, before, after, span in zip((h, w), pads[::2], pads[1::2], spans)]
    shapes = {"x": (n, h, w, c), "w": (kh, kw, c // groups, f), "y": (n, out[0], out[1], f)}
    return shapes, (stride, stride, dilation, dilation, pads[0], pads[2], groups)


def operands(case, dtype, seed=0):
    shapes, args = geometry(case)
    rng = np.random.default_rng(seed)
    x, w = random_array(rng, shapes["x"], dtype), random_array(rng, shapes["w"], dtype)
    b = random_array(rng, (shapes["w"][3],), dtype)
    return x, w, b, shapes["y"], args


def forward(kernel, x, w, b, out_shape, args, activation, alpha):
    y, z = np.empty(out_shape, x.dtype), np.empty(out_shape, x.dtype)
    kernel(y, x, w, b, *args, activation, alpha, z)
    return y, z


def backward(kernel, x, w, b, y, z, dy, args, activation, alpha, accumulate=False, seed=1):
    rng = np.random.default_rng(seed)
    grads = [np.empty_like(x), random_array(rng, w.shape, x.dtype),
             random_array(rng, b.shape, x.dtype), dy.copy()]
    kernel(grads[0], grads[1], grads[2], grads[3], grads[3], x, w, z, y, *args, activation,
           alpha, accumulate)
    return grads


def taps(w):
    return w.shape[0] * w.shape[1] * w.shape[2]


@pytest.mark.parametrize("name", sorted(CASES))
@pytest.mark.parametrize("activation, alpha", ACTIVATIONS, ids=[a for a, _ in ACTIVATIONS])
def test_forward_matches_reference(name, activation, alpha, dtype, threads, isa):
    x, w, b, out_shape, args = operands(CASES[name], dtype)
    expected = forward(ref.conv2d_forward, x, w, b, out_shape, args, activation, alpha)
    for kernel in (_core.conv2d_forward, _core._conv2d_forward_scalar):
        got = forward(kernel, x, w, b, out_shape, args, activation, alpha)
        for a, e in zip(got, expected):
            assert_close(a, e, dtype, 4 * taps(w) ** 0.5, f"{kernel.__name__}")


@pytest.mark.parametrize("name", sorted(CASES))
@pytest.mark.parametrize("accumulate", [False, True], ids=["overwrite", "accumulate"])
def test_backward_matches_reference(name, accumulate, dtype, threads, isa):
    x, w, b, out_shape, args = operands(CASES[name], dtype)
    activation = "tanh"
    y, z = forward(ref.conv2d_forward, x, w, b, out_shape, args, activation, 0.0)
    dy = random_array(np.random.default_rng(2), out_shape, dtype)
    expected = backward(ref.conv2d_backward, x, w, b, y, z, dy, args, activation, 0.0,
                        accumulate)
    rows = out_shape[0] * out_shape[1] * out_shape[2]
    for kernel in (_core.conv2d_backward, _core._conv2d_backward_scalar):
        got = backward(kernel, x, w, b, y, z, dy, args, activation, 0.0, accumulate)
        for what, a, e in zip(("dx", "dw", "db", "dz"), got, expected):
            assert_close(a, e, dtype, 4 * max(rows, taps(w)) ** 0.5, f"{kernel.__name__} {what}")


@pytest.mark.parametrize("name", ["tiles across images", "many channels", "1x1 pointwise",
                                  "depthwise groups"])
def test_results_are_bitwise_independent_of_thread_count(name):
    x, w, b, out_shape, args = operands((16,) + CASES[name][1:], np.float32)
    results = []
    for count in (1, 2):
        _core.set_num_threads(count)
        try:
            y, z = forward(_core.conv2d_forward, x, w, b, out_shape, args, "relu", 0.0)
            dy = random_array(np.random.default_rng(3), out_shape, np.float32)
            results.append([y, z] + backward(_core.conv2d_backward, x, w, b, y, y, dy, args,
                                             "relu", 0.0))
        finally:
            _core.reset_num_threads()
    for one, two in zip(*results):
        assert one.tobytes() == two.tobytes()


@pytest.mark.parametrize("name", ["3x3 same", "5x5 same stride 3", "2x2 same even kernel",
                                  "dilation 2", "groups 2", "asymmetric pads", "1x1 stride 2"])
def test_reference_gradients_match_central_differences(name):
    small = (2, min(CASES[name][1], 7), min(CASES[name][2], 7)) + CASES[name][3:]
    x, w, b, out_shape, args = operands(small, np.float64)
    mix = random_array(np.random.default_rng(4), out_shape, np.float64)

    def loss(x_, w_, b_):
        y = forward(ref.conv2d_forward, x_, w_, b_, out_shape, args, "tanh", 0.0)[0]
        return float(np.sum(y * mix))

    y, z = forward(ref.conv2d_forward, x, w, b, out_shape, args, "tanh", 0.0)
    dx, dw, db, _ = backward(ref.conv2d_backward, x, w, b, y, z, mix, args, "tanh", 0.0)
    np.testing.assert_allclose(dx, central_difference(lambda v: loss(v, w, b), x), atol=1e-7)
    np.testing.assert_allclose(dw, central_difference(lambda v: loss(x, v, b), w), atol=1e-7)
    np.testing.assert_allclose(db, central_difference(lambda v: loss(x, w, v), b), atol=1e-7)


def test_first_layer_and_no_bias_forms():
    x, w, b, out_shape, args = operands(CASES["3x3 same"], np.float32)
    for backend in (_core, ref):
        y = np.empty(out_shape, np.float32)
        backend.conv2d_forward(y, x, w, None, *args, "relu", 0.0, None)
        dy = np.ones(out_shape, np.float32)
        dw = np.empty_like(w)
        backend.conv2d_backward(None, dw, None, dy, dy, x, w, y, y, *args, "relu", 0.0, False)
        if backend is _core:
            got = (y, dw)
        else:
            assert_close(got[0], y, np.float32, 20)
            assert_close(got[1], dw, np.float32, 200)


def bad_calls():
    x, w, b, out_shape, args = operands(CASES["3x3 valid"], np.float32)
    y = np.empty(out_shape, np.float32)
    with_args = lambda **kw: (y, x, w, b, *dict(zip(  # noqa: E731
        ("sh", "sw", "dh", "dw", "pt", "pl", "g"), args), **kw).values())
    return {
        "x 2-D": ((ValueError, "x"), (y, x[0, 0], w, b) + args),
        "x float64": ((TypeError, "x"), (y, x.astype(np.float64), w, b) + args),
        "w channels": ((ValueError, "w"), (y, x, w[:, :, :2], b) + args),
        "y too many rows": ((ValueError, "y.shape[1]"),
                            (np.empty((3, 10, 6, 6), np.float32), x, w, b) + args),
        "stride 0": ((ValueError, "stride_h"), with_args(sh=0)),
        "negative pad": ((ValueError, "pad_left"), with_args(pl=-1)),
        "pad past the kernel": ((ValueError, "y.shape[1]"), with_args(pt=3)),
        "groups not dividing": ((ValueError, "groups"), with_args(g=3)),
        "huge dilation": ((ValueError, "dilation_w"), with_args(dw=2**40)),
        "float stride": ((TypeError, None), with_args(sh=1.5)),
        "y overlapping x": ((ValueError, "y"),
                            (x.reshape(-1)[:y.size].reshape(y.shape), x, w, b) + args),
    }


@pytest.mark.parametrize("case", sorted(bad_calls()))
def test_bad_arguments_raise_the_same_error_in_both_backends(case):
    (error, name), call_args = bad_calls()[case]
    for backend in (_core, ref):
        with pytest.raises(error) as raised:
            backend.conv2d_forward(*call_args)
        if name is not None:
            assert str(raised.value).startswith(name + ":"), str(raised.value)
