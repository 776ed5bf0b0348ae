"""Batch and layer normalization kernels: the C++ kernels and their scalar twins against
nerve.reference (both dtypes, 1 and 2 threads, every instruction set, awkward shapes),
thread-count independence, the reference formulas and gradients (central differences in
float64), and argument validation in both backends."""
import faulthandler

import numpy as np
import pytest

from helpers import assert_close, central_difference, random_array
from nerve import _core
from nerve import reference as ref

# (outer, C, inner): empty, one channel, batch 1, channels_last (inner 1) past the cache
# block and the 64-chunk cap, channels_first with odd spatial sizes.
BN_SHAPES = [(0, 3, 1), (4, 0, 1), (3, 2, 0), (1, 1, 1), (1, 5, 1), (7, 1, 1), (33, 3, 1),
             (2, 3, 5), (5, 17, 1), (1, 4, 49), (3, 1, 1001), (4099, 7, 1), (20000, 3, 1),
             (70, 96, 1), (6, 5, 1031)]
# (rows, features)
LN_SHAPES = [(0, 4), (3, 0), (1, 1), (1, 7), (5, 3), (13, 33), (257, 64), (3000, 17),
             (2, 9000)]
EPSILON = 1e-3
KERNELS = ["batch_norm_forward", "batch_norm_backward", "batch_norm_inference",
           "batch_norm_inference_backward", "layer_norm_forward", "layer_norm_backward"]


def kernel(name, scalar):
    return getattr(_core, f"_{name}_scalar" if scalar else name)


def bn_inputs(rng, shape, dtype, offset=0.0):
    channels = shape[1]
    x = random_array(rng, shape, dtype) * 3 + offset
    gamma = random_array(rng, (channels,), dtype, 0.5, 1.5)
    beta = random_array(rng, (channels,), dtype)
    return x, gamma, beta


def run_bn_forward(fn, x, gamma, beta):
    y = np.empty_like(x)
    mean, variance = np.empty(x.shape[1], x.dtype), np.empty(x.shape[1], x.dtype)
    fn(y, mean, variance, x, gamma, beta, EPSILON)
    return y, mean, variance


def scale_for(count):
    return 4.0 * max(1.0, count) ** 0.5


@pytest.mark.parametrize("scalar", [False, True], ids=["kernel", "scalar"])
@pytest.mark.parametrize("shape", BN_SHAPES, ids=lambda s: "x".join(map(str, s)))
def test_batch_norm_matches_reference(shape, scalar, dtype, threads, isa):
    rng = np.random.default_rng(sum(shape))
    x, gamma, beta = bn_inputs(rng, shape, dtype)
    scale = scale_for(shape[0] * shape[2])
    for g, b in ((gamma, beta), (None, None), (gamma, None)):
        expected = run_bn_forward(ref.batch_norm_forward, x, g, b)
        actual = run_bn_forward(kernel("batch_norm_forward", scalar), x, g, b)
        for a, e in zip(actual, expected):
            assert_close(a, e, dtype, scale)
    y, mean, variance = expected
    for name in ("batch_norm_backward", "batch_norm_inference_backward"):
        dy = random_array(rng, shape, dtype)
        results = []
        for fn in (getattr(ref, name), kernel(name, scalar)):
            dx = np.empty_like(x)
            dgamma, dbeta = np.full(shape[1], 0.5, dtype), np.full(shape[1], -0.25, dtype)
            fn(dx, dgamma, dbeta, dy, x, mean, variance, gamma, EPSILON, True)
            results.append((dx, dgamma, dbeta))
        for a, e in zip(*results):
            assert_close(a, e, dtype, 4 * scale, name)
    moving_mean, moving_variance = mean + 0.5, variance * 2 + 0.1
    expected, actual = np.empty_like(x), np.empty_like(x)
    ref.batch_norm_inference(expected, x, moving_mean, moving_variance, gamma, beta, EPSILON)
    kernel("batch_norm_inference", scalar)(actual, x, moving_mean, moving_variance, gamma,
                                           beta, EPSILON)
    assert_close(actual, expected, dtype, 4)


@pytest.mark.parametrize("scalar", [False, True], ids=["kernel", "scalar"])
@pytest.mark.parametrize("shape", LN_SHAPES, ids=lambda s: "x".join(map(str, s)))
def test_layer_norm_matches_reference(shape, scalar, dtype, threads, isa):
    rng = np.random.default_rng(sum(shape) + 1)
    rows, features = shape
    x = random_array(rng, shape, dtype) * 2 + 1
    gamma = random_array(rng, (features,), dtype, 0.5, 1.5)
    beta = random_array(rng, (features,), dtype)
    outputs = []
    for fn in (ref.layer_norm_forward, kernel("layer_norm_forward", scalar)):
        y, mean, inv_std = np.empty_like(x), np.empty(rows, dtype), np.empty(rows, dtype)
        fn(y, mean, inv_std, x, gamma, beta, EPSILON)
        outputs.append((y, mean, inv_std))
    for a, e in zip(*outputs):
        assert_close(a, e, dtype, scale_for(features))
    _, mean, inv_std = outputs[0]
    dy = random_array(rng, shape, dtype)
    grads = []
    for fn in (ref.layer_norm_backward, kernel("layer_norm_backward", scalar)):
        dx, dgamma, dbeta = np.empty_like(x), np.ones(features, dtype), np.ones(features, dtype)
        fn(dx, dgamma, dbeta, dy, x, mean, inv_std, None, True)
        fn(dx, None, None, dy, x, mean, inv_std, gamma, False)
        grads.append((dx, dgamma, dbeta))
    for a, e in zip(*grads):
        assert_close(a, e, dtype, 4 * scale_for(max(rows, features)))


@pytest.mark.parametrize("shape", [(20000, 3, 1), (70, 96, 1), (6, 5, 1031), (3000, 17, 1)],
                         ids=str)
def test_results_do_not_depend_on_thread_count(shape, dtype, isa):
    rng = np.random.default_rng(3)
    x, gamma, beta = bn_inputs(rng, shape, dtype)
    dy = random_array(rng, shape, dtype)
    rows, features = shape[0], shape[1] * shape[2]

    def everything():
        y, mean, variance = run_bn_forward(_core.batch_norm_forward, x, gamma, beta)
        dx, dgamma, dbeta = np.empty_like(x), np.empty_like(gamma), np.empty_like(gamma)
        _core.batch_norm_backward(dx, dgamma, dbeta, dy, x, mean, variance, gamma, EPSILON)
        flat, flat_dy = x.reshape(rows, features), dy.reshape(rows, features)
        ly, lm, ls = np.empty_like(flat), np.empty(rows, dtype), np.empty(rows, dtype)
        _core.layer_norm_forward(ly, lm, ls, flat, None, None, EPSILON)
        ldx, lg, lb = np.empty_like(flat), np.empty(features, dtype), np.empty(features, dtype)
        _core.layer_norm_backward(ldx, lg, lb, flat_dy, flat, lm, ls, None)
        return [y, mean, variance, dx, dgamma, dbeta, ly, lm, ls, ldx, lg, lb]

    results = {}
    for n in (1, 2):
        _core.set_num_threads(n)
        try:
            results[n] = everything()
        finally:
            _core.reset_num_threads()
    for one, two in zip(results[1], results[2]):
        np.testing.assert_array_equal(one, two)


@pytest.mark.parametrize("offset", [1e4, -3e6])
def test_batch_statistics_far_from_zero(offset):
    """Two passes per block (not sum of squares minus the squared mean): accurate variance
    and never negative, for data whose mean dwarfs its spread."""
    rng = np.random.default_rng(0)
    x = (rng.standard_normal((30000, 4, 1)) * 0.01 + offset).astype(np.float32)
    expected = x.astype(np.float64).var(axis=(0, 2))
    _, mean, variance = run_bn_forward(_core.batch_norm_forward, x, None, None)
    assert (variance >= 0).all()
    np.testing.assert_allclose(variance, expected, rtol=2e-3)
    np.testing.assert_allclose(mean, x.astype(np.float64).mean(axis=(0, 2)), rtol=1e-6)
    x = np.full((100, 3, 1), 0.1, np.float32)  # constant: variance exactly 0, not -1e-9
    _, _, variance = run_bn_forward(_core.batch_norm_forward, x, None, None)
    assert (variance == 0).all()


def test_reference_formulas_match_numpy():
    """The reference against the formulas written out (Keras's layers compute them)."""
    rng = np.random.default_rng(5)
    x, gamma, beta = bn_inputs(rng, (8, 3, 4), np.float64)
    y, mean, variance = run_bn_forward(ref.batch_norm_forward, x, gamma, beta)
    axes = (0, 2)
    np.testing.assert_allclose(mean, x.mean(axis=axes))
    np.testing.assert_allclose(variance, x.var(axis=axes))
    expected = ((x - x.mean(axis=axes, keepdims=True)) / np.sqrt(x.var(axis=axes, keepdims=True)
                + EPSILON) * gamma[:, None] + beta[:, None])
    np.testing.assert_allclose(y, expected)
    flat = x.reshape(8, 12)
    ly, lm, ls = np.empty_like(flat), np.empty(8), np.empty(8)
    ref.layer_norm_forward(ly, lm, ls, flat, None, None, EPSILON)
    np.testing.assert_allclose(ly, (flat - flat.mean(1, keepdims=True))
                               / np.sqrt(flat.var(1, keepdims=True) + EPSILON))
    np.testing.assert_allclose(ls, 1 / np.sqrt(flat.var(1) + EPSILON))


def loss_through(fn_forward, x, weights, r):
    """sum(forward(x) * r) for central differences."""
    return float((fn_forward(x, *weights) * r).sum())


def test_gradients_by_central_differences():
    rng = np.random.default_rng(7)
    shape = (5, 3, 2)
    x, gamma, beta = bn_inputs(rng, shape, np.float64)
    r = rng.uniform(0.5, 1.5, shape)
    mean0, variance0 = x.mean(axis=(0, 2)), x.var(axis=(0, 2)) + 0.3

    def train(x, gamma, beta):
        return run_bn_forward(ref.batch_norm_forward, x, gamma, beta)[0]

    def infer(x, gamma, beta):
        y = np.empty_like(x)
        ref.batch_norm_inference(y, x, mean0, variance0, gamma, beta, EPSILON)
        return y

    for forward, backward in ((train, ref.batch_norm_backward),
                              (infer, ref.batch_norm_inference_backward)):
        y, mean, variance = run_bn_forward(ref.batch_norm_forward, x, gamma, beta)
        if forward is infer:
            mean, variance = mean0, variance0
        dx, dgamma, dbeta = np.empty_like(x), np.empty_like(gamma), np.empty_like(beta)
        backward(dx, dgamma, dbeta, r, x, mean, variance, gamma, EPSILON)
        np.testing.assert_allclose(dx, central_difference(
            lambda v: loss_through(forward, v, (gamma, beta), r), x.copy()), atol=1e-6)
        np.testing.assert_allclose(dgamma, central_difference(
            lambda v: loss_through(forward, x, (v, beta), r), gamma.copy()), atol=1e-6)
        np.testing.assert_allclose(dbeta, central_difference(
            lambda v: loss_through(forward, x, (gamma, v), r), beta.copy()), atol=1e-6)

    flat, lr = x.reshape(5, 6), r.reshape(5, 6)
    lgamma, lbeta = rng.uniform(0.5, 1.5, 6), rng.uniform(-1, 1, 6)

    def layer(v, g, b):
        y = np.empty_like(v)
        ref.layer_norm_forward(y, np.empty(5), np.empty(5), v, g, b, EPSILON)
        return y

    mean, inv_std = np.empty(5), np.empty(5)
    ref.layer_norm_forward(np.empty_like(flat), mean, inv_std, flat, lgamma, lbeta, EPSILON)
    dx, dgamma, dbeta = np.empty_like(flat), np.empty(6), np.empty(6)
    ref.layer_norm_backward(dx, dgamma, dbeta, lr, flat, mean, inv_std, lgamma)
    np.testing.assert_allclose(dx, central_difference(
        lambda v: loss_through(layer, v, (lgamma, lbeta), lr), flat.copy()), atol=1e-6)
    np.testing.assert_allclose(dgamma, central_difference(
        lambda v: loss_through(layer, flat, (v, lbeta), lr), lgamma.copy()), atol=1e-6)
    np.testing.assert_allclose(dbeta, central_difference(
        lambda v: loss_through(layer, flat, (lgamma, v), lr), lbeta.copy()), atol=1e-6)


def bad_calls():
    """(function name, argument builder, error type, message fragment)."""
    f, d = np.float32, np.float64
    x = np.zeros((4, 3, 2), f)
    c = np.zeros(3, f)
    flat = np.zeros((4, 6), f)
    r = np.zeros(4, f)
    return [
        ("batch_norm_forward", lambda: (np.empty_like(x), c.copy(), c.copy(), x, c, c, 0.0),
         ValueError, "epsilon: expected a finite number > 0"),
        ("batch_norm_forward", lambda: (np.empty_like(x), c.copy(), c.copy(), x, c, c,
                                        float("nan")), ValueError, "epsilon"),
        ("batch_norm_forward", lambda: (np.empty_like(x), c.copy(), c.copy(), x.astype(d), c, c,
                                        1e-3), TypeError, "x: expected dtype float32"),
        ("batch_norm_forward", lambda: (np.empty((4, 3), f), c.copy(), c.copy(), x, c, c, 1e-3),
         ValueError, "y: expected a 3-D array"),
        ("batch_norm_forward", lambda: (np.empty_like(x), np.empty(4, f), c.copy(), x, c, c,
                                        1e-3), ValueError, "mean: expected shape (3,)"),
        ("batch_norm_forward", lambda: (np.empty_like(x), c.copy(), c.copy(), x, np.zeros(2, f),
                                        None, 1e-3), ValueError, "gamma: expected shape (3,)"),
        ("batch_norm_forward", lambda: (x, c.copy(), c.copy(), x, None, None, 1e-3),
         ValueError, "y: expected memory separate from x"),
        ("batch_norm_inference", lambda: (np.empty_like(x), x, c, c[::-1], None, None, 1e-3),
         ValueError, "variance: expected a C-contiguous array"),
        ("batch_norm_forward", lambda: (np.empty_like(x), c, c, x, None, None, 1e-3),
         ValueError, "mean: expected memory separate from variance"),
        ("batch_norm_backward", lambda: (x, c.copy(), None, x, x.copy(), c, c, None, 1e-3),
         ValueError, "dx: expected memory separate from dy"),
        ("batch_norm_inference_backward", lambda: (None, np.zeros(3, f), None, x, x, c, c, c,
                                                   -1.0), ValueError, "epsilon"),
        ("layer_norm_forward", lambda: (np.empty_like(flat), r.copy(), np.empty(3, f), flat,
                                        None, None, 1e-3), ValueError,
         "inv_std: expected shape (4,)"),
        ("layer_norm_backward", lambda: (np.empty_like(flat), None, None, flat, flat, r,
                                         r.astype(d), None), TypeError, "inv_std: expected dtype"),
        ("layer_norm_backward", lambda: (np.empty_like(flat), None, np.zeros(6, f), flat, flat,
                                         r, r, np.zeros(6, f)), ValueError, None),
    ]


@pytest.mark.parametrize("case", range(len(bad_calls())))
@pytest.mark.parametrize("backend", [_core, ref], ids=["core", "reference"])
def test_bad_arguments_are_rejected_by_both_backends(case, backend):
    name, build, error, fragment = bad_calls()[case]
    args = build()
    if fragment is None:  # a valid call: both backends accept it
        getattr(backend, name)(*args)
        return
    outputs = [a.copy() for a in args if isinstance(a, np.ndarray)]
    with pytest.raises(error) as caught:
        getattr(backend, name)(*args)
    assert fragment in str(caught.value)
    for before, after in zip(outputs, [a for a in args if isinstance(a, np.ndarray)]):
        np.testing.assert_array_equal(before, after)  # nothing written


def test_read_only_output_is_rejected():
    x = np.zeros((2, 3, 1), np.float32)
    y = np.empty_like(x)
    y.flags.writeable = False
    for backend in (_core, ref):
        with pytest.raises(ValueError, match="y: expected a writable array"):
            backend.batch_norm_forward(y, np.zeros(3, np.float32), np.zeros(3, np.float32), x,
                                       None, None, 1e-3)


@pytest.mark.parametrize("scalar", [False, True], ids=["kernel", "scalar"])
def test_empty_arrays_with_huge_dimensions_return_at_once(scalar):
    """Zero-size arrays are contiguous whatever their shape: (2**40, 0, 1) must not loop."""
    faulthandler.dump_traceback_later(10, exit=True)
    try:
        z = lambda *shape: np.empty(shape, np.float32)  # noqa: E731
        for shape in ((2**40, 0, 1), (2**40, 3, 0), (1, 0, 2**40)):
            c = shape[1]
            mean, variance = np.ones(c, np.float32), np.ones(c, np.float32)
            kernel("batch_norm_forward", scalar)(z(*shape), mean, variance, z(*shape), None,
                                                 None, EPSILON)
            assert (mean == 0).all() and (variance == 0).all()
            kernel("batch_norm_inference", scalar)(z(*shape), z(*shape), mean, variance, None,
                                                   None, EPSILON)
            for name in ("batch_norm_backward", "batch_norm_inference_backward"):
                dgamma = np.ones(c, np.float32)
                kernel(name, scalar)(z(*shape), dgamma, None, z(*shape), z(*shape), mean,
                                     variance, None, EPSILON)
                assert (dgamma == 0).all()
        kernel("layer_norm_backward", scalar)(z(3, 0), z(0), z(0), z(3, 0), z(3, 0), z(3),
                                              z(3), None)
    finally:
        faulthandler.cancel_dump_traceback_later()
