"""nerve._core.loss against nerve.reference.loss: every kind, awkward shapes, weights, both
dtypes, thread counts and instruction sets; the reference against finite differences; and
argument checking that leaves every array untouched."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from helpers import assert_close, central_difference
from nerve import _core
from nerve import reference as ref

KINDS = ref.LOSSES
SPARSE = ("sparse_categorical_crossentropy", "sparse_categorical_crossentropy_logits")
# rows 1, primes, cols 1, not multiples of 8, >= 1000, and big enough to thread (> 2^15).
SHAPES = [(1, 1), (1, 7), (5, 1), (13, 10), (31, 17), (3, 1000), (1009, 3), (2053, 19)]


def make_inputs(rng, kind, rows, cols, dtype):
    """(y_pred, y_true) typical of the kind, with some probabilities outside Keras' clip."""
    if kind.endswith("_logits"):
        y_pred = rng.normal(0.0, 3.0, (rows, cols))
    elif "crossentropy" in kind:
        y_pred = rng.uniform(0.0, 1.0, (rows, cols))
        y_pred[rng.random((rows, cols)) < 0.05] = 1e-9  # clipped below
        if kind == "binary_crossentropy":
            y_pred[rng.random((rows, cols)) < 0.05] = 1.0  # clipped above
    else:
        y_pred = rng.normal(0.0, 1.0, (rows, cols))
    if kind in SPARSE:
        y_true = rng.integers(0, cols, rows)
    elif kind.startswith("categorical"):
        y_true = rng.dirichlet(np.ones(cols), rows).astype(dtype)
    elif "binary" in kind:
        y_true = rng.uniform(0.0, 1.0, (rows, cols)).astype(dtype)
    else:
        y_true = y_pred + rng.normal(0.0, 1.5, (rows, cols))
    return y_pred.astype(dtype), y_true if kind in SPARSE else y_true.astype(dtype)


def compare(fn, rng, kind, shape, dtype, weighted, with_grad, delta=0.7):
    y_pred, y_true = make_inputs(rng, kind, *shape, dtype)
    weight = rng.uniform(0.0, 2.0, shape[0]).astype(dtype) if weighted else None
    grad = np.full(shape, np.nan, dtype) if with_grad else None
    expected_grad = np.empty(shape, dtype)
    value = fn(grad, y_pred, y_true, kind, weight, delta)
    expected = ref.loss(expected_grad, y_pred, y_true, kind, weight, delta)
    assert isinstance(value, float)
    assert_close(value, expected, dtype, scale=10, err_msg=f"{kind} {shape}")
    if with_grad:
        assert_close(grad, expected_grad, dtype, scale=4, err_msg=f"{kind} {shape}")


@pytest.mark.parametrize("kind", KINDS)
def test_matches_reference(kind, dtype, threads, isa):
    rng = np.random.default_rng(len(kind))
    for shape in SHAPES:
        for weighted, with_grad in [(False, True), (True, True), (True, False)]:
            compare(_core.loss, rng, kind, shape, dtype, weighted, with_grad)


@pytest.mark.parametrize("kind", KINDS)
def test_scalar_version_matches_reference(kind, dtype):
    rng = np.random.default_rng(1)
    for shape in SHAPES[:-1]:
        compare(_core._loss_scalar, rng, kind, shape, dtype, weighted=True, with_grad=True)


@pytest.mark.parametrize("kind", KINDS)
def test_bitwise_same_on_one_and_two_threads(kind, dtype, isa):
    rng = np.random.default_rng(2)
    y_pred, y_true = make_inputs(rng, kind, 3001, 23, dtype)
    weight = rng.uniform(0.0, 2.0, 3001).astype(dtype)
    results = []
    for threads in (1, 2):
        _core.set_num_threads(threads)
        grad = np.empty_like(y_pred)
        results.append((_core.loss(grad, y_pred, y_true, kind, weight), grad))
    _core.reset_num_threads()
    assert results[0][0] == results[1][0]
    np.testing.assert_array_equal(results[0][1], results[1][1])


@pytest.mark.parametrize("kind", KINDS)
def test_reference_gradient_matches_central_difference(kind):
    rng = np.random.default_rng(3)
    y_pred, y_true = make_inputs(rng, kind, 4, 5, np.float64)
    if not kind.endswith("_logits"):  # keep the probabilities inside the clip, away from kinks
        y_pred = rng.uniform(0.1, 0.9, y_pred.shape)
    weight = rng.uniform(0.5, 2.0, 4)
    grad = np.empty_like(y_pred)
    ref.loss(grad, y_pred, y_true, kind, weight, 0.6)
    numeric = central_difference(lambda x: ref.loss(None, x, y_true, kind, weight, 0.6), y_pred)
    np.testing.assert_allclose(grad, numeric, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("kind", [k for k in KINDS if k.endswith("_logits")])
def test_extreme_logits_stay_finite(kind, dtype, isa):
    # 19 columns: through the 8-wide vector loops and their tails.
    rng = np.random.default_rng(8)
    y_pred = rng.choice([-1e4, 1e4, -100.0, -30.0, 0.0, 30.0, 100.0], (5, 19)).astype(dtype)
    y_pred[1] = -1e4
    labels = rng.integers(0, 19, 5)
    y_true = labels if kind in SPARSE else np.eye(19, dtype=dtype)[labels]
    grad, expected_grad = np.empty_like(y_pred), np.empty_like(y_pred)
    value = _core.loss(grad, y_pred, y_true, kind)
    expected = ref.loss(expected_grad, y_pred, y_true, kind)
    assert np.isfinite(value) and np.isfinite(grad).all()
    assert_close(value, expected, dtype)
    assert_close(grad, expected_grad, dtype)


@pytest.mark.parametrize("kind", ["binary_crossentropy_logits", "categorical_crossentropy_logits"])
def test_far_tail_gradient_keeps_relative_accuracy(kind, isa):
    """sigmoid(z) and softmax of logits 88 to 95 below the rest are subnormal floats: every path
    rounds e^z once into the subnormals instead of stopping at the smallest normal float."""
    y_pred = np.array([[0.0, -88.5, -90.0, -92.0, -95.0]], np.float32)
    y_true = np.zeros_like(y_pred)
    y_true[0, 0] = 1.0
    grad, expected_grad = np.empty_like(y_pred), np.empty_like(y_pred)
    _core.loss(grad, y_pred, y_true, kind)
    ref.loss(expected_grad, y_pred, y_true, kind)
    np.testing.assert_allclose(grad[0, 1:], expected_grad[0, 1:], rtol=1e-3, atol=0)


def test_known_values():
    y_pred = np.array([[0.0, 2.0], [1.0, -1.0]])
    y_true = np.array([[1.0, 2.0], [-1.0, 1.0]])
    assert _core.loss(None, y_pred, y_true, "mse") == pytest.approx((1 + 0 + 4 + 4) / 4)
    assert _core.loss(None, y_pred, y_true, "mae") == pytest.approx((1 + 0 + 2 + 2) / 4)
    # Huber with delta 1: 0.5 for |e| = 1, 2 - 0.5 for |e| = 2.
    assert _core.loss(None, y_pred, y_true, "huber") == pytest.approx((0.5 + 0 + 1.5 + 1.5) / 4)
    p = np.array([[0.25, 0.75]])
    assert _core.loss(None, p, np.array([1]), "sparse_categorical_crossentropy") == \
        pytest.approx(-np.log(0.75))
    # Renormalised like Keras: 0.5, 1.5 -> 0.25, 0.75.
    assert _core.loss(None, np.array([[0.5, 1.5]]), np.array([[0.0, 1.0]]),
                      "categorical_crossentropy") == pytest.approx(-np.log(0.75))


@settings(max_examples=60, deadline=None)
@given(kind=st.sampled_from(KINDS), rows=st.integers(1, 40), cols=st.integers(1, 40),
       double=st.booleans(), weighted=st.booleans(), seed=st.integers(0, 2**32 - 1),
       delta=st.floats(0.05, 5.0))
def test_property_matches_reference(kind, rows, cols, double, weighted, seed, delta):
    dtype = np.float64 if double else np.float32
    compare(_core.loss, np.random.default_rng(seed), kind, (rows, cols), dtype, weighted, True,
            delta)


@settings(max_examples=30, deadline=None)
@given(kind=st.sampled_from(KINDS), rows=st.integers(1, 30), cols=st.integers(1, 30),
       factor=st.floats(0.1, 10.0), seed=st.integers(0, 2**32 - 1))
def test_property_weights_scale_linearly(kind, rows, cols, factor, seed):
    y_pred, y_true = make_inputs(np.random.default_rng(seed), kind, rows, cols, np.float64)
    grad, scaled_grad = np.empty_like(y_pred), np.empty_like(y_pred)
    plain = _core.loss(grad, y_pred, y_true, kind)
    scaled = _core.loss(scaled_grad, y_pred, y_true, kind, np.full(rows, factor))
    assert scaled == pytest.approx(plain * factor, rel=1e-12, abs=1e-300)
    np.testing.assert_allclose(scaled_grad, grad * factor, rtol=1e-12, atol=1e-300)


# ---- bad arguments: same exception and message on both backends, nothing written ----------


def valid_args(kind="mse"):
    rng = np.random.default_rng(4)
    y_pred, y_true = make_inputs(rng, kind, 6, 4, np.float32)
    return dict(grad=np.full((6, 4), 7.0, np.float32), y_pred=y_pred, y_true=y_true, kind=kind,
                sample_weight=np.ones(6, np.float32), delta=1.0)


def read_only(a):
    a = a.copy()
    a.flags.writeable = False
    return a


BAD = [
    # (argument, exception, kind, change to the valid arguments)
    ("kind", TypeError, "mse", lambda a: a.update(kind=3)),
    ("kind", ValueError, "mse", lambda a: a.update(kind="cross_entropy")),
    ("y_pred", TypeError, "mse", lambda a: a.update(y_pred=a["y_pred"].tolist())),
    ("y_pred", TypeError, "mse", lambda a: a.update(y_pred=a["y_pred"].astype(np.int32))),
    ("y_pred", ValueError, "mse", lambda a: a.update(y_pred=a["y_pred"].ravel())),
    ("y_pred", ValueError, "mse", lambda a: a.update(y_pred=np.zeros((0, 4), np.float32))),
    ("y_pred", ValueError, "mse", lambda a: a.update(y_pred=np.zeros((6, 8), np.float32)[:, ::2])),
    ("y_true", TypeError, "mse", lambda a: a.update(y_true=None)),
    ("y_true", TypeError, "mse", lambda a: a.update(y_true=a["y_true"].astype(np.float64))),
    ("y_true", ValueError, "mse", lambda a: a.update(y_true=a["y_true"][:5])),
    ("y_true", ValueError, "mse", lambda a: a.update(y_true=np.zeros((6, 8), np.float32)[:, ::2])),
    ("y_true", TypeError, "sparse_categorical_crossentropy",
     lambda a: a.update(y_true=a["y_true"].astype(np.int32))),
    ("y_true", ValueError, "sparse_categorical_crossentropy",
     lambda a: a.update(y_true=a["y_true"].reshape(6, 1))),
    ("y_true", ValueError, "sparse_categorical_crossentropy_logits",
     lambda a: a["y_true"].__setitem__(3, -1)),
    ("y_true", ValueError, "sparse_categorical_crossentropy_logits",
     lambda a: a["y_true"].__setitem__(5, 4)),
    ("sample_weight", TypeError, "mse", lambda a: a.update(sample_weight=[1.0] * 6)),
    ("sample_weight", TypeError, "mse",
     lambda a: a.update(sample_weight=np.ones(6, np.float64))),
    ("sample_weight", ValueError, "mse",
     lambda a: a.update(sample_weight=np.ones((6, 1), np.float32))),
    ("sample_weight", ValueError, "mse",
     lambda a: a.update(sample_weight=np.ones(12, np.float32)[::2])),
    ("grad", TypeError, "mse", lambda a: a.update(grad=3.0)),
    ("grad", TypeError, "mse", lambda a: a.update(grad=np.zeros((6, 4), np.float64))),
    ("grad", ValueError, "mse", lambda a: a.update(grad=np.zeros((4, 6), np.float32))),
    ("grad", ValueError, "mse", lambda a: a.update(grad=np.zeros((4, 6), np.float32).T)),
    ("grad", ValueError, "mse", lambda a: a.update(grad=read_only(a["grad"]))),
    ("grad", ValueError, "mse", lambda a: a.update(grad=a["y_pred"])),
    ("grad", ValueError, "mse", lambda a: a.update(grad=a["y_true"])),
    ("delta", ValueError, "huber", lambda a: a.update(delta=0.0)),
    ("delta", ValueError, "huber", lambda a: a.update(delta=float("nan"))),
    ("delta", TypeError, "huber", lambda a: a.update(delta="1")),
]


@pytest.mark.parametrize("backend", [_core, ref], ids=["cpp", "numpy"])
@pytest.mark.parametrize("name,error,kind,change", BAD)
def test_bad_argument(backend, name, error, kind, change):
    args = valid_args(kind)
    change(args)
    before = {k: v.copy() for k, v in args.items() if isinstance(v, np.ndarray)}
    with pytest.raises(error) as info:
        backend.loss(**args)
    message = str(info.value)
    # pybind11 reports a wrong scalar type with the whole signature, which names the argument.
    assert message.startswith(f"{name}: expected") or (error is TypeError and name in message)
    for k, v in before.items():
        np.testing.assert_array_equal(args[k], v, err_msg=f"{k} was modified")


@pytest.mark.parametrize("name,error,kind,change", BAD)
def test_bad_argument_messages_agree(name, error, kind, change):
    messages = []
    for backend in (_core, ref):
        args = valid_args(kind)
        change(args)
        with pytest.raises(error) as info:
            backend.loss(**args)
        messages.append(str(info.value))
    if messages[0].startswith(f"{name}: expected"):
        assert messages[0] == messages[1]


def test_unknown_kind_lists_the_valid_ones():
    with pytest.raises(ValueError, match="mse, mae, huber"):
        _core.loss(None, np.zeros((1, 1)), np.zeros((1, 1)), "hinge")
