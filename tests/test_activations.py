"""Activation kernels: nerve._core against nerve.reference, forward and backward, every kind,
both dtypes, 1 and 2 threads, every instruction set; extremes, in-place use, gradients of the
reference, and argument validation."""
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nerve import _core, reference
from helpers import assert_close, central_difference, random_array

ACTIVATIONS = reference.ACTIVATIONS
TRAINABLE = tuple(a for a in ACTIVATIONS if a != "step")
ALPHA = {"leaky_relu": 0.2, "elu": 1.0, "step": 0.25}
# Empty, single, primes, not multiples of the 8/4 lanes, tall, wide, > 1000 columns, above the
# threading threshold (2**15 elements), more than two dimensions.
SHAPES = [(0, 7), (4, 0), (1, 1), (1,), (13,), (3, 5), (17, 31), (257, 3), (2, 1031),
          (2, 3, 5), (41, 1031), (300, 257)]
# Softmax sums rows of up to ~1000 terms.
SCALE = {"softmax": 4.0}


def forward(api, x, activation, alpha=None, scalar=False):
    y = np.empty_like(x)
    fn = api._activation_forward_scalar if scalar else api.activation_forward
    fn(y, x, activation, ALPHA.get(activation, 0.0) if alpha is None else alpha)
    return y


def backward(api, dy, x, y, activation, scalar=False):
    dx = np.empty_like(dy)
    fn = api._activation_backward_scalar if scalar else api.activation_backward
    fn(dx, dy, x, y, activation, ALPHA.get(activation, 0.0))
    return dx


def inputs(shape, dtype, seed=0):
    rng = np.random.default_rng(seed)
    return random_array(rng, shape, dtype, -6.0, 6.0), random_array(rng, shape, dtype)


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_matches_reference(activation, dtype, threads, isa):
    for shape in SHAPES:
        x, dy = inputs(shape, dtype)
        y_ref = forward(reference, x, activation)
        assert_close(forward(_core, x, activation), y_ref, dtype, SCALE.get(activation, 1.0),
                     err_msg=f"forward {shape}")
        if activation in TRAINABLE:
            assert_close(backward(_core, dy, x, y_ref, activation),
                         backward(reference, dy, x, y_ref, activation), dtype,
                         SCALE.get(activation, 1.0), err_msg=f"backward {shape}")


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_scalar_kernels_match_reference(activation, dtype):
    for shape in SHAPES:
        x, dy = inputs(shape, dtype, seed=1)
        y_ref = forward(reference, x, activation)
        assert_close(forward(_core, x, activation, scalar=True), y_ref, dtype,
                     SCALE.get(activation, 1.0), err_msg=f"forward {shape}")
        if activation in TRAINABLE:
            assert_close(backward(_core, dy, x, y_ref, activation, scalar=True),
                         backward(reference, dy, x, y_ref, activation), dtype,
                         SCALE.get(activation, 1.0), err_msg=f"backward {shape}")


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_one_and_two_threads_bitwise_equal(activation, dtype, isa):
    x, dy = inputs((300, 257), dtype, seed=2)
    results = []
    for threads in (1, 2):
        _core.set_num_threads(threads)
        y = forward(_core, x, activation)
        dx = backward(_core, dy, x, y, activation) if activation in TRAINABLE else y
        results.append((y.tobytes(), dx.tobytes()))
    _core.reset_num_threads()
    assert results[0] == results[1]


def extreme_values(dtype):
    tiny = np.finfo(dtype).tiny
    return np.array([1e4, -1e4, np.inf, -np.inf, np.nan, 0.0, -0.0, tiny / 8, -tiny / 8, tiny,
                     np.finfo(dtype).max, -np.finfo(dtype).max, 88.7, -87.5, -103.9, 709.0,
                     -745.0, 3.0, -3.0, 0.25], dtype=dtype)


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_extreme_values_match_reference(activation, dtype, isa):
    """Infinities, NaN, subnormals and huge values: same results as the reference, NaN in the
    same places (assert_allclose compares NaN positions)."""
    x = extreme_values(dtype)
    if activation == "softmax":
        x = x.reshape(-1, 2)
    dy = np.linspace(-1, 1, x.size).astype(dtype).reshape(x.shape)
    with np.errstate(all="ignore"):
        y_ref = forward(reference, x, activation)
        assert_close(forward(_core, x, activation), y_ref, dtype)
        if activation in TRAINABLE:
            assert_close(backward(_core, dy, x, y_ref, activation),
                         backward(reference, dy, x, y_ref, activation), dtype)


@pytest.mark.parametrize("activation", ["sigmoid", "softplus", "tanh", "softmax"])
def test_finite_where_the_math_is(activation, dtype, isa):
    x = np.array([[1e4, -1e4, 0.0, 50.0], [-1e4, -1e4, -1e4, 1e4], [-np.inf, 0.0, -np.inf, 1.0]],
                 dtype=dtype)
    y = forward(_core, x, activation)
    assert np.all(np.isfinite(y))
    if activation in TRAINABLE:
        assert np.all(np.isfinite(backward(_core, np.ones_like(x), x, y, activation)))


def test_softmax_degenerate_rows_give_nan(dtype, isa):
    x = np.array([[-np.inf] * 9, [np.nan] + [1.0] * 8, [np.inf] + [0.0] * 8, [0.0] * 9],
                 dtype=dtype)
    y = forward(_core, x, "softmax")
    assert np.all(np.isnan(y[:3]))
    assert_close(y[3], np.full(9, 1 / 9), dtype)


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_in_place(activation, dtype, isa):
    x, dy = inputs((37, 29), dtype, seed=3)
    y = forward(_core, x, activation)
    inplace = x.copy()
    _core.activation_forward(inplace, inplace, activation, ALPHA.get(activation, 0.0))
    assert inplace.tobytes() == y.tobytes()
    if activation in TRAINABLE:
        dx = backward(_core, dy, x, y, activation)
        _core.activation_backward(dy, dy, x, y, activation, ALPHA.get(activation, 0.0))
        assert dy.tobytes() == dx.tobytes()


@pytest.mark.parametrize("activation", TRAINABLE)
def test_reference_backward_is_the_gradient(activation):
    """Central differences of sum(w * f(x)) (a random projection, so softmax's coupling shows)."""
    rng = np.random.default_rng(4)
    x = rng.uniform(-2.5, 2.5, (3, 5))
    w = rng.uniform(-1, 1, x.shape)
    numeric = central_difference(lambda v: float(np.sum(w * forward(reference, v, activation))), x)
    analytic = backward(reference, w, x, forward(reference, x, activation), activation)
    np.testing.assert_allclose(analytic, numeric, rtol=1e-6, atol=1e-8)


def test_names():
    x = inputs((5, 9), np.float32, seed=5)[0]
    assert forward(_core, x, "swish").tobytes() == forward(_core, x, "silu").tobytes()
    assert not np.allclose(forward(_core, x, "gelu"), forward(_core, x, "gelu_tanh"), rtol=0, atol=1e-6)
    with pytest.raises(ValueError) as cpp_error:
        forward(_core, x, "Relu")
    assert ", ".join(ACTIVATIONS) in str(cpp_error.value)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(activation=st.sampled_from(ACTIVATIONS),
       shape=st.lists(st.integers(0, 40), min_size=1, max_size=3).map(tuple),
       dtype=st.sampled_from([np.float32, np.float64]),
       scale=st.sampled_from([1e-3, 1.0, 10.0, 100.0]),
       seed=st.integers(0, 2**32 - 1))
def test_property_random_shapes_and_values(activation, shape, dtype, scale, seed):
    rng = np.random.default_rng(seed)
    x = (rng.standard_normal(shape) * scale).astype(dtype)
    dy = rng.standard_normal(shape).astype(dtype)
    with np.errstate(all="ignore"):
        y_ref = forward(reference, x, activation)
        assert_close(forward(_core, x, activation), y_ref, dtype, SCALE.get(activation, 1.0))
        if activation in TRAINABLE:
            assert_close(backward(_core, dy, x, y_ref, activation),
                         backward(reference, dy, x, y_ref, activation), dtype,
                         SCALE.get(activation, 1.0))


# ---- argument validation, C++ and reference alike ----

APIS = pytest.mark.parametrize("api", [_core, reference], ids=["cpp", "reference"])


def read_only(a):
    a.flags.writeable = False
    return a


def forward_args(**override):
    args = dict(y=np.zeros((4, 6), np.float32), x=np.ones((4, 6), np.float32),
                activation="relu", alpha=0.0)
    args.update(override)
    return args


def backward_args(**override):
    shape = (4, 6)
    args = dict(dx=np.zeros(shape, np.float32), dy=np.ones(shape, np.float32),
                x=np.ones(shape, np.float32), y=np.ones(shape, np.float32), activation="tanh",
                alpha=0.0)
    args.update(override)
    return args


BUFFER = np.zeros(25, np.float32)
BAD_FORWARD = [
    ("y", TypeError, dict(y=[[0.0] * 6] * 4)),
    ("x", TypeError, dict(x=[[0.0] * 6] * 4)),
    ("x", TypeError, dict(x=np.ones((4, 6), np.int32))),
    ("y", TypeError, dict(y=np.zeros((4, 6), np.float64))),
    ("y", ValueError, dict(y=np.zeros((6, 4), np.float32))),
    ("y", ValueError, dict(y=np.zeros((4, 6, 1), np.float32))),
    ("x", ValueError, dict(x=np.ones((4, 12), np.float32)[:, ::2])),
    ("y", ValueError, dict(y=np.zeros((6, 4), np.float32).T)),
    ("y", ValueError, dict(y=read_only(np.zeros((4, 6), np.float32)))),
    ("y", ValueError, dict(y=BUFFER[1:].reshape(4, 6), x=BUFFER[:-1].reshape(4, 6))),
    ("x", ValueError, dict(y=np.zeros((), np.float32), x=np.ones((), np.float32))),
    ("activation", ValueError, dict(activation="rellu")),
    ("activation", TypeError, dict(activation=None)),
    ("alpha", TypeError, dict(alpha="0.1")),
]


@APIS
@pytest.mark.parametrize("name,error,override", BAD_FORWARD,
                         ids=[f"{n}-{i}" for i, (n, _, _) in enumerate(BAD_FORWARD)])
def test_forward_rejects(api, name, error, override):
    pattern = name if name == "alpha" else f"^{name}: expected"  # pybind11 words alpha's error
    with pytest.raises(error, match=pattern):
        api.activation_forward(**forward_args(**override))


def overlapping(shape):
    base = np.zeros(int(np.prod(shape)) + 1, np.float32)
    return base[1:].reshape(shape), base[:-1].reshape(shape)


# (argument named in the message, exception, arguments replaced). dy sets the dtype and shape
# the others must match, so a dy of another dtype or shape gets x named.
BAD_BACKWARD = [(blame, error, {name: value})
                for name, blame in (("dx", "dx"), ("dy", "x"), ("x", "x"), ("y", "y"))
                for error, value in ((TypeError, np.ones((4, 6), np.float64)),
                                     (ValueError, np.ones((4, 5), np.float32)))] + [
    (name, error, {name: value}) for name in ("dx", "dy", "x", "y") for error, value in (
        (TypeError, [[1.0] * 6] * 4),
        (ValueError, np.ones((4, 12), np.float32)[:, ::2]),
    )] + [
    ("dx", ValueError, dict(dx=read_only(np.zeros((4, 6), np.float32)))),
    ("dx", ValueError, dict(zip(("dx", "dy"), overlapping((4, 6))))),
    ("dx", ValueError, dict(zip(("dx", "x"), overlapping((4, 6))))),
    ("dx", ValueError, dict(zip(("dx", "y"), overlapping((4, 6))))),
    ("dy", ValueError, dict(dx=np.zeros((), np.float32), dy=np.ones((), np.float32),
                            x=np.ones((), np.float32), y=np.ones((), np.float32))),
    ("activation", ValueError, dict(activation="step")),
    ("activation", ValueError, dict(activation="nope")),
    ("activation", TypeError, dict(activation=3)),
    ("alpha", TypeError, dict(alpha=None)),
]


@APIS
@pytest.mark.parametrize("name,error,override", BAD_BACKWARD,
                         ids=[f"{n}-{i}" for i, (n, _, _) in enumerate(BAD_BACKWARD)])
def test_backward_rejects(api, name, error, override):
    pattern = name if name == "alpha" else f"^{name}: expected"  # pybind11 words alpha's error
    with pytest.raises(error, match=pattern):
        api.activation_backward(**backward_args(**override))


@APIS
def test_backward_rejects_exact_alias_of_inputs(api):
    a = np.ones((4, 6), np.float32)
    for other in ("x", "y"):
        with pytest.raises(ValueError, match="^dx: expected"):
            api.activation_backward(**backward_args(dx=a, **{other: a}))


@APIS
def test_step_backward_says_not_trainable(api):
    with pytest.raises(ValueError, match="not trainable"):
        api.activation_backward(**backward_args(activation="step"))
