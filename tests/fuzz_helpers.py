"""Building blocks of the fuzz tests (tests/test_fuzz_*.py): arrays in every dtype, memory
layout and value class, non-array garbage, and the differential check that runs one call on
nerve's C++ path and on the NumPy reference and demands the same outcome.

Arguments are drawn as *recipes* (plain tuples) and materialized twice, once per backend, so
both calls see equal values and the same aliasing between arguments (an argument may be the
very array of an earlier one, or a view overlapping it).
"""
import faulthandler

import numpy as np
import pytest
from hypothesis import strategies as st

from helpers import RTOL, ATOL

# Values that break naive kernels: NaN, infinities, float32-overflowing, float32-denormal, -0.
SPECIALS = np.array([np.nan, np.inf, -np.inf, 1e38, -1e38, 1e-40, -0.0])
FLOATS = (np.float32, np.float64)
BAD_DTYPES = (np.float16, np.int32, np.int64, np.bool_, np.object_, np.complex128)
LAYOUTS = ("C", "F", "reversed", "strided", "broadcast", "readonly", "zero_stride", "unaligned")
# Objects that are not arrays at all (list-likes included: the bindings take ndarrays only).
GARBAGE = (None, "abc", b"\x00", 3.5, 7, [1.0, 2.0], [[1.0, 2.0], [3.0]], {"a": 1},
           (np.zeros(2),), np.float64(1.0), object())
HANG_SECONDS = 120  # far above any single fuzz test; only a hang or deadlock gets there


@pytest.fixture(autouse=True)
def watchdog():
    """Kill the process (with every thread's traceback) if a test hangs: a kernel stuck in C
    code never returns to Python, so only faulthandler's own thread can end it."""
    faulthandler.dump_traceback_later(HANG_SECONDS, exit=True)
    yield
    faulthandler.cancel_dump_traceback_later()


# ---- arrays ------------------------------------------------------------------------------------

def _values(shape, seed, special):
    rng = np.random.default_rng(seed)
    values = rng.uniform(-2.0, 2.0, size=shape)
    if special and values.size:
        where = rng.random(shape) < 0.3
        values[where] = rng.choice(SPECIALS, int(where.sum()))
    return values


def _cast(values, dtype):
    dtype = np.dtype(dtype)
    if dtype.kind == "b":
        return values > 0
    if dtype.kind in "iu":
        return np.nan_to_num(values * 3, posinf=0, neginf=0).astype(dtype)
    if dtype.kind == "c":
        return (values + 1j * values).astype(dtype)
    with np.errstate(over="ignore"):
        return values.astype(dtype)


def _unaligned(array):
    """Same values, C-contiguous, but the data pointer is one byte off the dtype's alignment."""
    if array.dtype.hasobject:
        return array
    raw = np.zeros(array.nbytes + 1, np.uint8)
    out = raw[1:].view(array.dtype).reshape(array.shape)
    out[...] = array
    return out


def _lay_out(array, layout):
    """`array` (C-contiguous) rearranged in memory; the values may change (broadcast repeats
    the first row) but are the same for equal recipes."""
    if layout == "F":
        return np.asfortranarray(array)
    if layout == "readonly":
        array.setflags(write=False)
        return array
    if layout == "unaligned":
        return _unaligned(array)
    if array.ndim == 0:
        return array
    if layout == "reversed":  # negative strides on every axis
        return np.flip(np.flip(array).copy())
    if layout == "strided":
        padded = np.zeros(array.shape[:-1] + (2 * array.shape[-1],), array.dtype)
        padded[..., ::2] = array
        return padded[..., ::2]
    if layout == "broadcast" and array.shape[0]:
        return np.broadcast_to(array[:1], array.shape)
    if layout == "zero_stride" and array.size:  # writable, every element the same memory
        return np.lib.stride_tricks.as_strided(array, array.shape, (0,) * array.ndim)
    return array


def make_array(shape, dtype, layout="C", seed=0, special=False):
    return _lay_out(_cast(_values(shape, seed, special), dtype), layout)


# ---- recipes -----------------------------------------------------------------------------------
# ("array", shape, dtype, layout, seed, special) | ("same", k) | ("overlap", k, shape)
# | ("garbage", i) | ("none",) | ("list", tuple_or_list, [recipes]) | ("value", v)

def array_recipe(shape, dtype, layout="C", seed=0, special=False):
    return ("array", tuple(shape), np.dtype(dtype).name, layout, seed, special)


def materialize(recipe, made):
    """The object a recipe stands for; `made` collects every array built so far (aliases
    point into it by index modulo its length)."""
    kind = recipe[0]
    if kind == "array":
        out = make_array(*recipe[1:])
    elif kind == "same" and made:
        out = made[recipe[1] % len(made)]
    elif kind == "overlap" and made:
        out = _overlap(made[recipe[1] % len(made)], recipe[2])
    elif kind in ("same", "overlap"):
        out = make_array(recipe[2] if kind == "overlap" else (2,), np.float64)
    elif kind == "garbage":
        return GARBAGE[recipe[1] % len(GARBAGE)]
    elif kind == "none":
        return None
    elif kind == "list":
        items = [materialize(r, made) for r in recipe[2]]
        return tuple(items) if recipe[1] == "tuple" else items
    else:
        return recipe[1]
    made.append(out)
    return out


def _overlap(target, shape):
    """A view of `shape` starting one element into target's memory (or target itself when
    that does not fit), so it overlaps without being the same array."""
    flat = target.reshape(-1) if target.flags.c_contiguous else target
    need = int(np.prod(shape))
    if flat.ndim == 1 and flat.size >= need + 1 and need:
        return flat[1:1 + need].reshape(shape)
    return target


def materialize_all(recipes):
    made = []
    args = {name: materialize(r, made) for name, r in recipes.items()}
    return args, made


# ---- strategies --------------------------------------------------------------------------------

dims = st.integers(0, 5)
seeds = st.integers(0, 2**32 - 1)


def value(v):
    return ("value", v)


def bad_scalars(good):
    """Scalars for a float argument: good ones and the kinds that must be rejected or
    survived (non-finite, out of range, wrong type, overflowing int)."""
    return st.one_of(st.sampled_from(good), st.sampled_from(
        [np.nan, np.inf, -np.inf, -1.0, 0.0, 1e308, True, np.float32(0.5), *UNCONVERTIBLE]))


# Scalars pybind11 cannot convert to double: the binding rejects them (TypeError) before it
# checks anything else, the reference in argument order. (10**400 is left out: the reference
# raises OverflowError for it, see test_fuzz_bindings.test_reference_rejects_huge_int_scalar.)
UNCONVERTIBLE = ("1", None, 1 + 1j, b"1")


@st.composite
def floats_of(draw, good=(1.0, 0.5)):
    """A scalar argument: usually a good one, sometimes one to reject or survive."""
    return draw(st.sampled_from(good) if draw(st.integers(0, 3)) else bad_scalars(list(good)))


@st.composite
def arrays_of(draw, shape, dtype, specials=True):
    """An array recipe of `shape`: sometimes with NaN/inf/huge/denormal values."""
    special = specials and draw(st.integers(0, 4)) == 0
    return array_recipe(shape, dtype, seed=draw(seeds), special=special)


def _unconvertible(recipes):
    return any(r[0] == "value" and any(r[1] is u or r[1] == u for u in UNCONVERTIBLE
                                       if type(r[1]) is type(u))
               for r in recipes.values())


@st.composite
def mutated(draw, recipes, array_names):
    """recipes with, half the time, one array argument replaced by a wrong one: other
    shape, dtype or layout, special values, garbage, or an alias of another argument."""
    recipes = dict(recipes)
    if not array_names or draw(st.booleans()):
        return recipes
    name = draw(st.sampled_from(array_names))
    old = recipes[name]
    shape, dtype = (old[1], old[2]) if old[0] == "array" else ((2,), "float64")
    how = draw(st.sampled_from(["shape", "dtype", "layout", "garbage", "same", "overlap",
                                "none", "other_float"]))
    seed = draw(seeds)
    if how == "shape":
        new_shape = draw(st.lists(st.integers(0, 4), max_size=3))
        recipes[name] = array_recipe(new_shape, dtype, seed=seed)
    elif how == "dtype":
        recipes[name] = array_recipe(shape, draw(st.sampled_from(BAD_DTYPES)), seed=seed)
    elif how == "other_float":
        other = "float32" if dtype == "float64" else "float64"
        recipes[name] = array_recipe(shape, other, seed=seed)
    elif how == "layout":
        recipes[name] = array_recipe(shape, dtype, draw(st.sampled_from(LAYOUTS)), seed)
    elif how == "garbage":
        recipes[name] = ("garbage", draw(st.integers(0, len(GARBAGE) - 1)))
    elif how == "none":
        recipes[name] = ("none",)
    else:
        recipes[name] = (how, draw(st.integers(0, 8)), shape)
    return recipes


# ---- the differential check --------------------------------------------------------------------

def outcome(function, *args, **kwargs):
    """("ok", result) or ("raised", exception type). Anything but TypeError/ValueError fails."""
    try:
        return "ok", function(*args, **kwargs)
    except (TypeError, ValueError) as error:
        return "raised", type(error)


def snapshot(arrays):
    return [np.array(a, copy=True) for a in arrays]


def assert_unchanged(arrays, before, what):
    for i, (a, b) in enumerate(zip(arrays, before)):
        assert a.shape == b.shape and a.dtype == b.dtype
        if a.dtype.hasobject:
            assert all(x is y or x == y for x, y in zip(a.ravel(), b.ravel())), what
        else:  # bitwise: NaN payloads and -0.0 must survive too
            assert a.tobytes() == b.tobytes(), f"{what}: argument array {i} changed on error"


def assert_close_values(actual, expected, scale=1.0, finite_only=False, what="", kind=None):
    """Tolerance by dtype (helpers.RTOL/ATOL); NaN and inf must match position by position
    unless finite_only (reductions over specials may legitimately overflow in another order)."""
    if isinstance(actual, np.ndarray) or isinstance(expected, np.ndarray):
        assert getattr(actual, "dtype", None) == getattr(expected, "dtype", None), what
    actual, expected = np.asarray(actual), np.asarray(expected)
    assert actual.shape == expected.shape, what
    if actual.dtype.kind != "f":
        np.testing.assert_array_equal(actual, expected, err_msg=what)
        return
    kind = kind or (np.float32 if actual.dtype == np.float32 else np.float64)
    if finite_only:
        both = np.isfinite(actual) & np.isfinite(expected)
        actual, expected = actual[both], expected[both]
    # Values near float32's limit: rounding of the float64 oracle may overflow one of them.
    with np.errstate(over="ignore", invalid="ignore"):
        np.testing.assert_allclose(actual.astype(np.float64), expected.astype(np.float64),
                                   rtol=RTOL[kind] * scale, atol=ATOL[kind] * scale, err_msg=what)


def differential(fast, oracle, recipes, scale=1.0, reduces=False):
    """Call fast(**args) and oracle(**args) on separately materialized equal arguments.
    Both must raise the same TypeError/ValueError with every array left as it was, or both
    return: equal results and equal arrays afterwards (outputs written in place)."""
    fast_args, fast_arrays = materialize_all(recipes)
    ref_args, ref_arrays = materialize_all(recipes)
    fast_before, ref_before = snapshot(fast_arrays), snapshot(ref_arrays)
    got = outcome(fast, **fast_args)
    want = outcome(oracle, **ref_args)
    assert got[0] == want[0], f"fast {got}, reference {want} for {recipes}"
    if got[0] == "raised":
        if not _unconvertible(recipes):  # else several errors: which one comes first differs
            assert got[1] is want[1], f"fast raised {got[1]}, reference {want[1]} for {recipes}"
        assert_unchanged(fast_arrays, fast_before, "fast")
        assert_unchanged(ref_arrays, ref_before, "reference")
        return got
    arrays = [r for r in _flat(recipes.values()) if r[0] == "array"]
    finite_only = reduces and (any(r[5] for r in arrays) or _past_float32(recipes, arrays))
    if got[1] is not None or want[1] is not None:  # a float computed in the arrays' precision
        kind = np.float32 if any(r[2] == "float32" for r in arrays) else np.float64
        assert_close_values(got[1], want[1], scale, finite_only, f"result for {recipes}", kind)
    for i, (a, b) in enumerate(zip(fast_arrays, ref_arrays)):
        assert_close_values(a, b, scale, finite_only, f"array {i} after the call, {recipes}")
    return got


def _past_float32(recipes, arrays):
    """A scalar beyond float32's range with float32 arrays: the kernels round it to inf, the
    float64 reference keeps it, so inf * 0 is NaN on one side only."""
    limit = float(np.finfo(np.float32).max)
    return any(r[2] == "float32" for r in arrays) and any(
        r[0] == "value" and isinstance(r[1], float) and abs(r[1]) > limit
        for r in _flat(recipes.values()))


def _flat(recipes):
    for r in recipes:
        if r[0] == "list":
            yield from _flat(r[2])
        else:
            yield r
