"""Fuzz every array function of nerve.ops.kernels (matmul, dense, activation, the
activations with out=): array-likes of every dtype and layout, nested and ragged lists, garbage, and out= arrays that are wrong, read-only, or the input itself. The
oracle is the same function run on the NumPy reference (nerve.ops with its kernel module
swapped for nerve.reference): same answer, or both raise the same TypeError/ValueError with
every array left unchanged."""
import contextlib

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import nerve.ops.kernels as ops
import nerve.reference as reference
from fuzz_helpers import (BAD_DTYPES, LAYOUTS, array_recipe, differential, dims, seeds,
                          watchdog)  # noqa: F401 (watchdog: autouse fixture)

EXAMPLES = settings(max_examples=25)
ACTIVATIONS = list(reference.ACTIVATIONS)
# Array-likes that are not ndarrays: ragged lists must raise ValueError, the rest convert or
# raise TypeError (None, str, dict and object arrays are not numbers).
ARRAY_LIKES = ([[1.0, 2.0], [3.0, 4.0]], [[1, 2], [3]], [[True, False]], 3.0, None, "ab",
               {"a": 1}, [[1 + 2j, 0j]], [[[0.5]]], [], [[]])

# NaN, inf and overflow are drawn on purpose: NumPy's warnings about them are expected.
pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")


@contextlib.contextmanager
def reference_kernels():
    """Run nerve.ops over nerve.reference, the twin of nerve._core with the same interface."""
    kernels = ops._core
    ops._core = reference
    try:
        yield
    finally:
        ops._core = kernels


def on_reference(function):
    def call(**kwargs):
        with reference_kernels():
            return function(**kwargs)
    return call


@st.composite
def operands(draw, shape):
    """An argument that is usually an ndarray of `shape` (any dtype, any layout), sometimes
    a list or garbage."""
    how = draw(st.integers(0, 9))
    if how == 0:
        return ("value", draw(st.sampled_from(ARRAY_LIKES)))
    if how == 1:
        return ("value", np.arange(int(np.prod(shape)), dtype=float).reshape(shape).tolist())
    dtype = draw(st.sampled_from(["float32", "float64"] * 3 + [np.dtype(d).name
                                                            for d in BAD_DTYPES]))
    layout = draw(st.sampled_from(("C",) * 4 + LAYOUTS))
    if draw(st.integers(0, 5)) == 0:
        shape = tuple(draw(st.lists(dims, max_size=3)))
    return array_recipe(shape, dtype, layout, draw(seeds), draw(st.integers(0, 4)) == 0)


@st.composite
def outs(draw, shape, inputs):
    """out=: None, a right or wrong array, or one of the inputs (materialized first, so
    ("same", i) is input i)."""
    how = draw(st.integers(0, 5))
    if how == 0:
        return ("value", None)
    if how == 1 and inputs:
        return (draw(st.sampled_from(["same", "overlap"])), draw(st.integers(0, inputs - 1)),
                shape)
    if how == 2:
        return ("value", draw(st.sampled_from([[0.0], "out", 1.0])))
    dtype = draw(st.sampled_from(["float32", "float64", "float64", "int64", "float16"]))
    layout = draw(st.sampled_from(("C",) * 4 + LAYOUTS))
    if draw(st.integers(0, 5)) == 0:
        shape = tuple(draw(st.lists(dims, max_size=3)))
    return array_recipe(shape, dtype, layout, draw(seeds))


def scalar(draw, good):
    return ("value", draw(st.sampled_from(good + [None, np.nan, np.inf, "x", -1.0])))


@st.composite
def matmul_args(draw):
    m, k, n = draw(dims), draw(dims), draw(dims)
    args = {"a": draw(operands((m, k))), "b": draw(operands((k, n)))}
    return {**args, "out": draw(outs((m, n), 2))}


@st.composite
def dense_args(draw):
    batch, inputs, units = draw(dims), draw(dims), draw(dims)
    args = {"x": draw(operands((batch, inputs))), "w": draw(operands((inputs, units)))}
    args["b"] = draw(operands((units,))) if draw(st.booleans()) else ("value", None)
    args["activation"] = ("value", draw(st.sampled_from(ACTIVATIONS + [None, "nope", 3])))
    args["alpha"] = scalar(draw, [0.1])
    return {**args, "out": draw(outs((batch, units), 2 + (args["b"][0] == "array")))}


@st.composite
def elementwise_args(draw, with_name=False, with_alpha=None):
    shape = tuple(draw(st.lists(dims, max_size=3)))
    args = {}
    if with_name:
        args["name"] = ("value", draw(st.sampled_from(ACTIVATIONS + [None, "nope", 3])))
    args["x"] = draw(operands(shape))
    if with_alpha:
        args[with_alpha] = scalar(draw, [0.1, 0.0])
    return {**args, "out": draw(outs(shape, 1))}


@st.composite
def softmax_args(draw):
    args = draw(elementwise_args())
    return {**args, "axis": ("value", draw(st.sampled_from([-1, 0, 1, 2, -3, 5, 1.0, None])))}


STRATEGIES = {"matmul": matmul_args(), "dense": dense_args(),
              "activation": elementwise_args(with_name=True, with_alpha="alpha"),
              "softmax": softmax_args(),
              "leaky_relu": elementwise_args(with_alpha="alpha"),
              "elu": elementwise_args(with_alpha="alpha"),
              "step": elementwise_args(with_alpha="threshold")}


def strategy(name):
    return STRATEGIES.get(name, elementwise_args())


def test_every_function_of_ops_is_fuzzed():
    assert set(ops.__all__) == set(STRATEGIES) | (set(ACTIVATIONS) - {"softmax"})


@pytest.mark.parametrize("name", sorted(ops.__all__))
@EXAMPLES
@given(data=st.data())
def test_ops_match_reference_or_both_reject(name, data):
    function = getattr(ops, name)
    recipes = data.draw(strategy(name))
    differential(function, on_reference(function), recipes, scale=10,
                 reduces=name in ("matmul", "dense", "softmax", "activation"))
