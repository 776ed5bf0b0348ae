"""nerve._core optimizers and gradient clipping against nerve.reference.optim: several steps of
every variant over several awkward tensors at once, both dtypes, thread counts and instruction
sets; bitwise thread independence; argument checking that leaves every array untouched."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from helpers import assert_close
from nerve import _core
from nerve import reference as ref

# Scalars, primes, an empty tensor, and one above the threading threshold (2^16).
SHAPES = [(1,), (7, 3), (0, 5), (1000,), (257, 263)]

# name -> (function name, state lists, hyperparameters); None state = not given.
VARIANTS = {
    "sgd": ("sgd_update", ["velocities"], dict(lr=0.05)),
    "sgd_no_state": ("sgd_update", [None], dict(lr=0.05)),
    "sgd_momentum": ("sgd_update", ["velocities"], dict(lr=0.05, momentum=0.9)),
    "sgd_nesterov": ("sgd_update", ["velocities"], dict(lr=0.05, momentum=0.8, nesterov=True)),
    "sgd_decay": ("sgd_update", ["velocities"], dict(lr=0.05, momentum=0.5, weight_decay=0.1)),
    "adam": ("adam_update", ["ms", "vs"], dict(lr=1e-2, beta1=0.9, beta2=0.999, epsilon=1e-7)),
    "adamw": ("adam_update", ["ms", "vs"],
              dict(lr=1e-2, beta1=0.8, beta2=0.99, epsilon=1e-3, weight_decay=0.004)),
    "adam_amsgrad": ("adam_update", ["ms", "vs", "v_hats"],
                     dict(lr=1e-2, beta1=0.9, beta2=0.999, epsilon=1e-7)),
    "adamw_amsgrad": ("adam_update", ["ms", "vs", "v_hats"],
                      dict(lr=1e-2, beta1=0.8, beta2=0.9, epsilon=1e-3, weight_decay=0.004)),
    "rmsprop": ("rmsprop_update", ["velocities", None, None],
                dict(lr=1e-2, rho=0.9, momentum=0.0, epsilon=1e-7)),
    "rmsprop_momentum": ("rmsprop_update", ["velocities", "momenta", None],
                         dict(lr=1e-2, rho=0.9, momentum=0.9, epsilon=1e-7)),
    "rmsprop_centered": ("rmsprop_update", ["velocities", None, "avg_grads"],
                         dict(lr=1e-2, rho=0.8, momentum=0.0, epsilon=1e-7, weight_decay=0.01)),
    "rmsprop_centered_momentum": ("rmsprop_update", ["velocities", "momenta", "avg_grads"],
                                  dict(lr=1e-2, rho=0.9, momentum=0.5, epsilon=1e-6)),
    "adagrad": ("adagrad_update", ["accumulators"], dict(lr=0.1, epsilon=1e-7)),
    "adagrad_decay": ("adagrad_update", ["accumulators"],
                      dict(lr=0.1, epsilon=1e-7, weight_decay=0.02)),
}


def make_state(rng, variant, shapes, dtype):
    """params, grads per step, and the state lists (Adagrad's accumulators start at 0.1)."""
    _, states, _ = VARIANTS[variant]
    params = [rng.normal(size=s).astype(dtype) for s in shapes]
    state = [None if name is None else
             [np.full(s, 0.1 if name == "accumulators" else 0.0, dtype) for s in shapes]
             for name in states]
    return params, state


def call(module, variant, params, grads, state, step, scalar=False):
    function, _, hyper = VARIANTS[variant]
    fn = getattr(module, f"_{function}_scalar" if scalar else function)
    if function == "adam_update":
        v_hats = dict(zip(["v_hats"], state[2:]))  # AMSGrad's slot, by keyword
        return fn(params, grads, *state[:2], step=step, **v_hats, **hyper)
    return fn(params, grads, *state, **hyper)


def run_steps(module, variant, shapes, dtype, steps=3, scalar=False, seed=0):
    rng = np.random.default_rng(seed)
    params, state = make_state(rng, variant, shapes, dtype)
    for step in range(1, steps + 1):
        grads = [rng.normal(size=s).astype(dtype) for s in shapes]
        call(module, variant, params, grads, state, step, scalar)
    return [params] + [s for s in state if s is not None]


def assert_all_close(actual, expected, dtype, scale):
    for a_list, e_list in zip(actual, expected):
        for a, e in zip(a_list, e_list):
            assert_close(a, e, dtype, scale=scale)


@pytest.mark.parametrize("variant", VARIANTS)
def test_steps_match_reference(variant, dtype, threads, isa):
    # FMA contraction and float32 state drift a few ulps per step.
    assert_all_close(run_steps(_core, variant, SHAPES, dtype),
                     run_steps(ref, variant, SHAPES, dtype), dtype, scale=8)


@pytest.mark.parametrize("variant", VARIANTS)
def test_scalar_version_matches_reference(variant, dtype):
    assert_all_close(run_steps(_core, variant, SHAPES, dtype, scalar=True),
                     run_steps(ref, variant, SHAPES, dtype), dtype, scale=8)


@pytest.mark.parametrize("variant", VARIANTS)
def test_bitwise_same_on_one_and_two_threads(variant, dtype, isa):
    results = []
    for threads in (1, 2):
        _core.set_num_threads(threads)
        results.append(run_steps(_core, variant, [(200_003,)], dtype, steps=2))
    _core.reset_num_threads()
    for one, two in zip(*results):
        np.testing.assert_array_equal(one[0], two[0])


def test_adam_known_first_step():
    # Step 1 of Adam moves every parameter by lr * g/|g| (up to epsilon).
    p, g = [np.array([1.0, -2.0, 3.0])], [np.array([0.5, -4.0, 0.0])]
    m, v = [np.zeros(3)], [np.zeros(3)]
    _core.adam_update(p, g, m, v, lr=0.1, beta1=0.9, beta2=0.999, epsilon=1e-12, step=1)
    np.testing.assert_allclose(p[0], [0.9, -1.9, 3.0], rtol=1e-9)


def test_amsgrad_follows_keras_formula():
    # Keras's update_step written out per element in float64, over gradients whose squares
    # shrink, so v falls below its running maximum and v_hat differs from v.
    grads = [np.array([3.0, -1.0]), np.array([0.5, 2.0]), np.array([0.1, -0.1]),
             np.array([-0.2, 0.05])]
    lr, b1, b2, eps = 0.1, 0.9, 0.5, 1e-7
    p, m, v, v_hat = [1.0, -1.0], [0.0, 0.0], [0.0, 0.0], [0.0, 0.0]
    for t, g in enumerate(grads, 1):
        alpha = lr * (1 - b2**t) ** 0.5 / (1 - b1**t)
        for i in range(2):
            m[i] += (g[i] - m[i]) * (1 - b1)
            v[i] += (g[i] ** 2 - v[i]) * (1 - b2)
            v_hat[i] = max(v_hat[i], v[i])
            p[i] -= m[i] * alpha / (v_hat[i] ** 0.5 + eps)
    for module in (_core, ref):
        for scalar in (False, True) if module is _core else (False,):
            fn = module._adam_update_scalar if scalar else module.adam_update
            state = [[np.array([1.0, -1.0])]] + [[np.zeros(2)] for _ in range(3)]
            for t, g in enumerate(grads, 1):
                fn(state[0], [g], state[1], state[2], lr=lr, beta1=b1, beta2=b2, epsilon=eps,
                   step=t, v_hats=state[3])
            np.testing.assert_allclose(state[0][0], p, rtol=1e-12)
            np.testing.assert_allclose(state[3][0], v_hat, rtol=1e-12)
            assert (state[3][0] > state[2][0]).all()  # the maximum, not the last velocity


@pytest.mark.parametrize("backend", [_core, ref], ids=["cpp", "numpy"])
def test_amsgrad_keeps_nan_in_v_hat(backend):
    p, g = [np.ones(2)], [np.array([np.nan, 1.0])]
    m, v, v_hat = [np.zeros(2)], [np.zeros(2)], [np.array([0.0, np.nan])]
    backend.adam_update(p, g, m, v, lr=0.1, beta1=0.9, beta2=0.999, epsilon=1e-7, step=1,
                        v_hats=v_hat)
    assert np.isnan(v_hat[0]).all() and np.isnan(p[0]).all()


def test_tuples_are_accepted_and_grads_may_be_read_only():
    params = (np.ones(4, np.float32),)
    grads = (np.ones(4, np.float32),)
    grads[0].flags.writeable = False
    _core.sgd_update(params, grads, None, lr=0.5)
    np.testing.assert_array_equal(params[0], 0.5)
    assert _core.global_norm(grads) == 2.0


# ---- clipping --------------------------------------------------------------------------------


def clip_inputs(dtype, seed=5):
    rng = np.random.default_rng(seed)
    return [rng.normal(size=s).astype(dtype) for s in SHAPES]


def test_global_norm_matches_reference(dtype, threads, isa):
    grads = clip_inputs(dtype)
    assert_close(_core.global_norm(grads), ref.global_norm(grads), dtype)
    assert _core.global_norm([]) == 0.0


@pytest.mark.parametrize("max_norm", [1.0, 1e6])
def test_clip_by_global_norm_matches_reference(max_norm, dtype, threads, isa):
    grads, expected = clip_inputs(dtype), clip_inputs(dtype)
    norm = _core.clip_by_global_norm(grads, max_norm)
    assert_close(norm, ref.clip_by_global_norm(expected, max_norm), dtype)
    for a, e in zip(grads, expected):
        assert_close(a, e, dtype)
    if max_norm == 1.0:
        assert_close(_core.global_norm(grads), 1.0, dtype, scale=10)


def test_clip_by_value_matches_reference(dtype, threads, isa):
    grads, expected = clip_inputs(dtype), clip_inputs(dtype)
    grads[1][0, 0] = expected[1][0, 0] = np.nan
    _core.clip_by_value(grads, 0.5)
    ref.clip_by_value(expected, 0.5)
    for a, e in zip(grads, expected):
        np.testing.assert_array_equal(a, e)


def test_global_norm_bitwise_same_on_one_and_two_threads(dtype, isa):
    grads = [np.random.default_rng(6).normal(size=500_009).astype(dtype)]
    norms = []
    for threads in (1, 2):
        _core.set_num_threads(threads)
        norms.append(_core.global_norm(grads))
    _core.reset_num_threads()
    assert norms[0] == norms[1]


# ---- properties ------------------------------------------------------------------------------


@settings(max_examples=40, deadline=None)
@given(variant=st.sampled_from(list(VARIANTS)),
       sizes=st.lists(st.integers(0, 300), min_size=1, max_size=4),
       double=st.booleans(), seed=st.integers(0, 2**32 - 1))
def test_property_matches_reference(variant, sizes, double, seed):
    dtype = np.float64 if double else np.float32
    shapes = [(n,) for n in sizes]
    assert_all_close(run_steps(_core, variant, shapes, dtype, steps=2, seed=seed),
                     run_steps(ref, variant, shapes, dtype, steps=2, seed=seed), dtype, scale=8)


@settings(max_examples=40, deadline=None)
@given(lr=st.floats(1e-5, 1.0), beta1=st.floats(0.0, 0.99), beta2=st.floats(0.0, 0.9999),
       epsilon=st.floats(1e-8, 1e-2), weight_decay=st.floats(0.0, 0.1),
       step=st.integers(1, 10_000), seed=st.integers(0, 2**32 - 1))
def test_property_adam_hyperparameters(lr, beta1, beta2, epsilon, weight_decay, step, seed):
    rng = np.random.default_rng(seed)
    arrays = [rng.normal(size=37) for _ in range(4)]
    arrays[3] = np.abs(arrays[3])  # v >= 0
    mine = [[a.copy()] for a in arrays]
    theirs = [[a.copy()] for a in arrays]
    hyper = dict(lr=lr, beta1=beta1, beta2=beta2, epsilon=epsilon, step=step,
                 weight_decay=weight_decay)
    _core.adam_update(*mine, **hyper)
    ref.adam_update(*theirs, **hyper)
    for a, e in zip(mine, theirs):
        assert_close(a[0], e[0], np.float64, scale=100)


@settings(max_examples=30, deadline=None)
@given(sizes=st.lists(st.integers(0, 200), min_size=1, max_size=4),
       max_norm=st.floats(0.01, 100.0), seed=st.integers(0, 2**32 - 1))
def test_property_clipped_norm_is_at_most_max_norm(sizes, max_norm, seed):
    rng = np.random.default_rng(seed)
    grads = [rng.normal(size=n) for n in sizes]
    before = _core.global_norm(grads)
    assert _core.clip_by_global_norm(grads, max_norm) == before
    assert _core.global_norm(grads) <= max(max_norm, 0.0) * (1 + 1e-12) or before <= max_norm


# ---- bad arguments: same exception and message on both backends, nothing written ----------


def adam_args():
    rng = np.random.default_rng(7)
    make = lambda: [rng.normal(size=(3, 4)).astype(np.float32),  # noqa: E731
                    rng.normal(size=5).astype(np.float32)]
    return dict(params=make(), grads=make(), ms=make(), vs=make(), lr=0.1, beta1=0.9,
                beta2=0.999, epsilon=1e-7, step=1)


def read_only(a):
    a = a.copy()
    a.flags.writeable = False
    return a


def setitem(key, index, value):
    return lambda a: a[key].__setitem__(index, value)


ADAM_BAD = [
    ("params", TypeError, lambda a: a.update(params=a["params"][0])),
    ("grads", ValueError, lambda a: a["grads"].pop()),
    ("ms", TypeError, lambda a: a.update(ms=None)),
    ("params[1]", TypeError, setitem("params", 1, [1.0] * 5)),
    ("params[0]", TypeError, setitem("params", 0, np.zeros((3, 4), np.int64))),
    ("grads[1]", TypeError, setitem("grads", 1, np.zeros(5, np.float64))),
    ("vs[1]", ValueError, setitem("vs", 1, np.zeros(6, np.float32))),
    ("ms[0]", ValueError, setitem("ms", 0, np.zeros((4, 3), np.float32))),
    ("params[0]", ValueError, setitem("params", 0, np.zeros((4, 3), np.float32).T)),
    ("grads[1]", ValueError, setitem("grads", 1, np.zeros(10, np.float32)[::2])),
    ("params[1]", ValueError, lambda a: a["params"].__setitem__(1, read_only(a["params"][1]))),
    ("vs[0]", ValueError, lambda a: a["vs"].__setitem__(0, read_only(a["vs"][0]))),
    ("grads[0]", ValueError, lambda a: a["grads"].__setitem__(0, a["params"][0])),
    ("vs[1]", ValueError, lambda a: a["vs"].__setitem__(1, a["ms"][1])),
    # A view overlapping another tensor's memory, not just the same array.
    ("params[1]", ValueError, lambda a: a["params"].__setitem__(1, a["params"][0].ravel()[2:7])),
    ("lr", ValueError, lambda a: a.update(lr=float("nan"))),
    ("beta1", ValueError, lambda a: a.update(beta1=1.0)),
    ("beta2", ValueError, lambda a: a.update(beta2=-0.1)),
    ("epsilon", ValueError, lambda a: a.update(epsilon=-1e-7)),
    ("step", ValueError, lambda a: a.update(step=0)),
    ("step", TypeError, lambda a: a.update(step=1.5)),
    ("weight_decay", ValueError, lambda a: a.update(weight_decay=float("inf"))),
    ("v_hats", TypeError, lambda a: a.update(v_hats=a["ms"][0])),
    ("v_hats", ValueError, lambda a: a.update(v_hats=a["vs"][:1])),
    ("v_hats[1]", ValueError, lambda a: a.update(v_hats=[np.zeros((3, 4), np.float32),
                                                         np.zeros(4, np.float32)])),
    ("v_hats[0]", TypeError, lambda a: a.update(v_hats=[np.zeros((3, 4)),
                                                        np.zeros(5, np.float32)])),
    ("v_hats[1]", ValueError, lambda a: a.update(v_hats=[np.zeros((3, 4), np.float32),
                                                         read_only(np.zeros(5, np.float32))])),
    ("v_hats[1]", ValueError, lambda a: a.update(v_hats=[np.zeros((3, 4), np.float32),
                                                         a["vs"][1]])),
    ("v_hats[0]", ValueError, lambda a: a.update(v_hats=[np.zeros((4, 3), np.float32).T,
                                                         np.zeros(5, np.float32)])),
]


def other_args(function):
    a = adam_args()
    base = dict(params=a["params"], grads=a["grads"])
    if function == "sgd_update":
        return dict(base, velocities=a["ms"], lr=0.1, momentum=0.9)
    if function == "rmsprop_update":
        return dict(base, velocities=a["ms"], momenta=a["vs"], avg_grads=None, lr=0.1, rho=0.9,
                    momentum=0.5, epsilon=1e-7)
    if function == "adagrad_update":
        return dict(base, accumulators=a["ms"], lr=0.1, epsilon=1e-7)
    return dict(grads=a["grads"], **({"max_norm": 1.0} if function == "clip_by_global_norm"
                                      else {"clip": 1.0} if function == "clip_by_value" else {}))


OTHER_BAD = [
    ("sgd_update", "velocities", ValueError, lambda a: a.update(velocities=None)),
    ("sgd_update", "momentum", ValueError, lambda a: a.update(momentum=1.5)),
    ("sgd_update", "velocities[1]", ValueError, setitem("velocities", 1, np.zeros(4, np.float32))),
    ("sgd_update", "velocities[0]", ValueError,
     lambda a: a["velocities"].__setitem__(0, a["grads"][0])),
    ("rmsprop_update", "momenta", ValueError, lambda a: a.update(momenta=None)),
    ("rmsprop_update", "rho", ValueError, lambda a: a.update(rho=2.0)),
    ("rmsprop_update", "avg_grads", ValueError, lambda a: a.update(avg_grads=[a["params"][0]])),
    ("rmsprop_update", "avg_grads[0]", ValueError,
     lambda a: a.update(avg_grads=[a["params"][0], np.zeros(5, np.float32)])),
    ("adagrad_update", "accumulators", TypeError, lambda a: a.update(accumulators=7)),
    ("adagrad_update", "lr", ValueError, lambda a: a.update(lr=float("-inf"))),
    ("global_norm", "grads", TypeError, lambda a: a.update(grads=np.zeros(3))),
    ("global_norm", "grads[1]", TypeError, setitem("grads", 1, np.zeros(5, np.float16))),
    ("clip_by_global_norm", "max_norm", ValueError, lambda a: a.update(max_norm=0.0)),
    ("clip_by_global_norm", "grads[0]", ValueError,
     lambda a: a["grads"].__setitem__(0, read_only(a["grads"][0]))),
    ("clip_by_value", "clip", ValueError, lambda a: a.update(clip=-1.0)),
    ("clip_by_value", "grads[1]", ValueError,
     lambda a: a["grads"].__setitem__(1, a["grads"][0].ravel()[:5])),
]

CASES = [("adam_update", *case) for case in ADAM_BAD] + OTHER_BAD


def arrays_in(args):
    for value in args.values():
        for a in value if isinstance(value, list) else [value]:
            if isinstance(a, np.ndarray):
                yield a


@pytest.mark.parametrize("backend", [_core, ref], ids=["cpp", "numpy"])
@pytest.mark.parametrize("function,name,error,change", CASES)
def test_bad_argument(backend, function, name, error, change):
    args = adam_args() if function == "adam_update" else other_args(function)
    change(args)
    arrays = list(arrays_in(args))
    before = [a.copy() for a in arrays]
    with pytest.raises(error) as info:
        getattr(backend, function)(**args)
    message = str(info.value)
    # pybind11 reports a wrong scalar type with the whole signature, which names the argument.
    assert message.startswith(f"{name}: expected") or (error is TypeError and name in message)
    for a, b in zip(arrays, before):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("function,name,error,change", CASES)
def test_bad_argument_messages_agree(function, name, error, change):
    messages = []
    for backend in (_core, ref):
        args = adam_args() if function == "adam_update" else other_args(function)
        change(args)
        with pytest.raises(error) as info:
            getattr(backend, function)(**args)
        messages.append(str(info.value))
    if messages[0].startswith(f"{name}: expected"):
        assert messages[0] == messages[1]


def test_centred_rmsprop_with_rho_zero_gives_no_nan():
    """rho = 0 makes v = g^2 and a = g: v - a^2 is zero exactly but may round below zero
    (FMA), where sqrt gives NaN. Both backends clamp it at zero; with epsilon 0 every step
    is then an infinity of g's sign on both, never NaN."""
    g = np.random.default_rng(7).standard_normal(4096).astype(np.float32) * 3
    steps = []
    for backend in (_core, ref):
        p, v, a = (np.zeros_like(g), np.ones_like(g), np.ones_like(g))
        with np.errstate(divide="ignore"):  # g / sqrt(0): the infinities are the point
            backend.rmsprop_update([p], [g], [v], None, [a], 0.01, 0.0, 0.0, 0.0)
        steps.append(p)
    assert not np.isnan(steps[0]).any() and not np.isnan(steps[1]).any()
    np.testing.assert_array_equal(np.sign(steps[0]), -np.sign(g))
