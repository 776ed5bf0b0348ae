"""Argument strategies for fuzzing the normalization and embedding bindings (used by
test_fuzz_bindings): valid calls before mutation, optional arrays sometimes None, indices
sometimes out of range, of another dtype or not contiguous. Variances are drawn like any
array: a negative one gives NaN in both backends."""
import numpy as np
from hypothesis import strategies as st

from fuzz_helpers import arrays_of, dims, floats_of, value

NONE = ("none",)
EPSILONS = (1e-3, 1e-5)


@st.composite
def maybe(draw, strategy):
    return draw(strategy) if draw(st.booleans()) else NONE


@st.composite
def batch_norm_forward_args(draw, dtype):
    shape = (draw(dims), draw(dims), draw(dims))
    c = (shape[1],)
    return {"y": draw(arrays_of(shape, dtype)), "mean": draw(arrays_of(c, dtype)),
            "variance": draw(arrays_of(c, dtype)), "x": draw(arrays_of(shape, dtype)),
            "gamma": draw(maybe(arrays_of(c, dtype))), "beta": draw(maybe(arrays_of(c, dtype))),
            "epsilon": value(draw(floats_of(EPSILONS)))}


@st.composite
def batch_norm_inference_args(draw, dtype):
    args = draw(batch_norm_forward_args(dtype))
    return {name: args[name] for name in ("y", "x", "mean", "variance", "gamma", "beta",
                                          "epsilon")}


@st.composite
def batch_norm_backward_args(draw, dtype):
    shape = (draw(dims), draw(dims), draw(dims))
    c = (shape[1],)
    return {"dx": draw(maybe(arrays_of(shape, dtype))), "dgamma": draw(maybe(arrays_of(c, dtype))),
            "dbeta": draw(maybe(arrays_of(c, dtype))), "dy": draw(arrays_of(shape, dtype)),
            "x": draw(arrays_of(shape, dtype)), "mean": draw(arrays_of(c, dtype)),
            "variance": draw(arrays_of(c, dtype)), "gamma": draw(maybe(arrays_of(c, dtype))),
            "epsilon": value(draw(floats_of(EPSILONS))),
            "accumulate": value(draw(st.booleans()))}


@st.composite
def layer_norm_forward_args(draw, dtype):
    rows, features = draw(dims), draw(dims)
    f = (features,)
    return {"y": draw(arrays_of((rows, features), dtype)),
            "mean": draw(arrays_of((rows,), dtype)), "inv_std": draw(arrays_of((rows,), dtype)),
            "x": draw(arrays_of((rows, features), dtype)),
            "gamma": draw(maybe(arrays_of(f, dtype))), "beta": draw(maybe(arrays_of(f, dtype))),
            "epsilon": value(draw(floats_of(EPSILONS)))}


@st.composite
def layer_norm_backward_args(draw, dtype):
    rows, features = draw(dims), draw(dims)
    f = (features,)
    return {"dx": draw(maybe(arrays_of((rows, features), dtype))),
            "dgamma": draw(maybe(arrays_of(f, dtype))), "dbeta": draw(maybe(arrays_of(f, dtype))),
            "dy": draw(arrays_of((rows, features), dtype)),
            "x": draw(arrays_of((rows, features), dtype)),
            "mean": draw(arrays_of((rows,), dtype)), "inv_std": draw(arrays_of((rows,), dtype)),
            "gamma": draw(maybe(arrays_of(f, dtype))), "accumulate": value(draw(st.booleans()))}


@st.composite
def indices_of(draw, n, rows):
    """Indices in [0, rows), now and then one out of range, another dtype or a strided view."""
    kind = draw(st.sampled_from(["int64", "int32", "int64", "int32", "bad", "float32",
                                 "int16", "strided"]))
    values = draw(st.lists(st.integers(0, max(rows - 1, 0)), min_size=n, max_size=n))
    if kind == "bad" or rows == 0:
        values = values or [0]
        values[draw(st.integers(0, len(values) - 1))] = draw(st.sampled_from(
            [-1, rows, rows + 7, 2**31 - 1, -2**31]))
    dtype = {"bad": "int64", "strided": "int64"}.get(kind, kind)
    array = np.array(values, np.int64).astype(dtype)  # int16 wraps: refused for its dtype
    if kind == "strided":
        array = np.repeat(array, 2)[::2]
    return value(array)


@st.composite
def embedding_forward_args(draw, dtype):
    n, rows, width = draw(dims), draw(dims), draw(dims)
    return {"y": draw(arrays_of((n, width), dtype)), "table": draw(arrays_of((rows, width), dtype)),
            "indices": draw(indices_of(n, rows))}


@st.composite
def embedding_backward_args(draw, dtype):
    n, rows, width = draw(dims), draw(dims), draw(dims)
    return {"dtable": draw(arrays_of((rows, width), dtype)),
            "dy": draw(arrays_of((n, width), dtype)), "indices": draw(indices_of(n, rows)),
            "accumulate": value(draw(st.booleans()))}


# binding -> (argument strategy, tolerance scale, whether it sums over elements)
NORMALIZATION_BINDINGS = {
    "batch_norm_forward": (batch_norm_forward_args, 10, True),
    "batch_norm_backward": (batch_norm_backward_args, 10, True),
    "batch_norm_inference": (batch_norm_inference_args, 4, True),
    "batch_norm_inference_backward": (batch_norm_backward_args, 10, True),
    "layer_norm_forward": (layer_norm_forward_args, 10, True),
    "layer_norm_backward": (layer_norm_backward_args, 10, True),
    "embedding_forward": (embedding_forward_args, 1, False),
    "embedding_backward": (embedding_backward_args, 4, True),
}
