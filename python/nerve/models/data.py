"""Input checks for fit / evaluate / predict: every argument is validated and converted
before a model changes."""
import math
import numbers
from typing import Any, Dict, Iterator, List, Mapping, Sequence, Union

import numpy as np

from .._typing import ArrayLike
from ..utils import PyDataset

# What fit / evaluate / predict take as x (and y): arrays, a list or a dict of them by input
# (output) name, or batches from a generator or a PyDataset. Defined at run time, so that
# typing.get_type_hints and pdoc resolve the annotations.
Data = Union[ArrayLike, Sequence[ArrayLike], Mapping[str, ArrayLike], Iterator[Any], PyDataset]
Logs = Union[float, List[float], Dict[str, float]]
Outputs = Union[np.ndarray, List[np.ndarray], Dict[str, np.ndarray]]


def as_inputs(x, name, dtype, sample_shape=None):
    """x as a C-contiguous array (samples, ...) of dtype: for a float input ints and bools are
    converted as Keras does; an integer input takes as_indices. Anything else raises
    TypeError, a wrong shape or NaN ValueError."""
    array = _as_numeric(x, name)
    if array.ndim < 2:
        raise ValueError(f"{name}: expected an array of samples (samples, features), received "
                         f"shape {array.shape}; pass one sample as x.reshape(1, -1)")
    if sample_shape is not None and array.shape[1:] != tuple(sample_shape):
        raise ValueError(f"{name}: expected samples of shape {tuple(sample_shape)} (the model's "
                         f"input), received an array of shape {array.shape}")
    if len(array) == 0:
        raise ValueError(f"{name}: expected at least one sample, received shape {array.shape}")
    if np.dtype(dtype).kind == "i":
        return as_indices(array, name, dtype)
    array = np.ascontiguousarray(array, dtype=dtype)
    _require_finite(array, name)
    return array


def as_indices(x, name, dtype):
    """x as a C-contiguous integer array of dtype (an Embedding's indices). Integer and bool
    arrays convert; float arrays only when every value is a whole number (token ids loaded
    as floats are common; Keras would truncate 2.7 to 2 silently): anything else, or a value
    that does not fit dtype, is a ValueError."""
    array = _as_numeric(x, name)
    if array.dtype.kind == "f":
        _require_finite(array, name)
        fractional = np.argwhere(array != np.round(array))
        if len(fractional):
            index = tuple(int(i) for i in fractional[0])
            raise ValueError(f"{name}: expected integers (the input is {dtype}), received "
                             f"{array[index]} at index {index}")
    if array.size and array.dtype != dtype:
        limits = np.iinfo(dtype)
        for value in (array.min(), array.max()):
            if not limits.min <= value <= limits.max:
                raise ValueError(f"{name}: expected values that fit {dtype}, received {value}")
    return np.ascontiguousarray(array, dtype=dtype)


def as_targets(y, loss, outputs, rows, dtype, name="y"):
    """y in the form the loss kernel takes: int64 labels (rows,) for the sparse losses, else
    (rows, outputs) floats; (rows,) is accepted for a single output."""
    array = _samples(y, rows, name)
    if loss.sparse:
        if array.ndim == 2 and array.shape[1] == 1:
            array = array[:, 0]
        if array.ndim != 1:
            raise ValueError(f"{name}: {loss.name} expects integer class labels of shape "
                             f"({rows},), received shape {array.shape}; one-hot targets need "
                             f"categorical_crossentropy")
        _require_finite(array, name)
        if array.dtype.kind == "f" and not np.array_equal(array, np.round(array)):
            raise ValueError(f"{name}: expected integer class labels, received fractions")
        low, high = array.min(), array.max()
        if low < 0 or high >= outputs:
            raise ValueError(f"{name}: expected class labels in [0, {outputs}) for the model's "
                             f"{outputs} outputs, received {high if high >= outputs else low:g}")
        return np.ascontiguousarray(array, dtype=np.int64)
    if array.ndim == 1 and outputs == 1:
        array = array[:, None]
    if array.shape != (rows, outputs):
        hint = ("; integer class labels need sparse_categorical_crossentropy or "
                "nerve.utils.to_categorical" if array.ndim == 1 else "")
        raise ValueError(f"{name}: expected shape ({rows}, {outputs}) to match the model's "
                         f"{outputs} outputs, received shape {array.shape}{hint}")
    array = np.ascontiguousarray(array, dtype=dtype)
    _require_finite(array, name)
    return array


def as_custom_targets(y, sample_shape, rows, dtype, name="y"):
    """y for a custom loss: floats, in the output's sample shape when it holds as many values;
    else with Keras's rank rule (one value per row gains a last axis of 1 against outputs of
    rank 2 or more; a last axis of 1 beyond the output's rank is dropped)."""
    array = _samples(y, rows, name)
    sample_shape = tuple(sample_shape)
    if array[0].size == int(np.prod(sample_shape)):
        array = array.reshape((rows,) + sample_shape)
    elif array.ndim == len(sample_shape):
        array = array[..., None]
    elif array.ndim == len(sample_shape) + 2 and array.shape[-1] == 1:
        array = array[..., 0]
    array = np.ascontiguousarray(array, dtype=dtype)
    _require_finite(array, name)
    return array


def as_sample_weights(sample_weight, class_weight, y, rows, dtype, name="sample_weight"):
    """Per-sample weights (rows,) from sample_weight times class_weight[class of y], or None.
    Every weight must fit dtype: 1e39 would become inf in a float32 model."""
    if sample_weight is None and class_weight is None:
        return None
    weights, largest = np.ones(rows), float(np.finfo(dtype).max)
    if sample_weight is not None:
        given = _as_numeric(sample_weight, name)
        if given.ndim == 2 and given.shape[1] == 1:
            given = given[:, 0]
        if given.shape != (rows,):
            raise ValueError(f"{name}: expected shape ({rows},), received {given.shape}")
        _require_finite(given, name)
        if (given < 0).any():
            raise ValueError(f"{name}: expected weights >= 0, received a negative weight")
        _require_fits(given, largest, dtype, name)
        weights *= given
    if class_weight is not None:
        with np.errstate(over="ignore"):  # a product past float64's range is inf, told below
            weights *= _class_weights(class_weight, y, largest, dtype)
        what = "class_weight" if sample_weight is None else f"{name} times class_weight"
        _require_fits(weights, largest, dtype, what)
    return np.ascontiguousarray(weights, dtype=dtype)


def _require_fits(weights, largest, dtype, name):
    if weights.size and not float(weights.max()) <= largest:
        raise ValueError(f"{name}: expected weights up to {largest:g} (the largest {dtype} "
                         f"number), received {float(weights.max()):g}")


def _class_weights(class_weight, y, largest, dtype):
    """class_weight[class of each row of y]; a class is the label itself (any integer, -1
    included, as Keras looks it up), the rounded value of one output, or the argmax."""
    if not isinstance(class_weight, dict):
        raise TypeError(f"class_weight: expected a dict {{class: weight}}, received "
                        f"{type(class_weight).__name__}")
    if y.ndim == 1:
        classes = y
    elif y.shape[1] == 1:
        classes = np.round(y[:, 0]).astype(np.int64)
    else:
        classes = y.argmax(axis=1)
    table = {_class_key(k): _class_value(k, v) for k, v in class_weight.items()}
    present, rows_class = np.unique(classes, return_inverse=True)
    missing = sorted(set(present.tolist()) - set(table))
    if missing:
        raise ValueError(f"class_weight: expected a weight for every class in y, missing "
                         f"{missing}")
    values = np.array([table[c] for c in present.tolist()], dtype=np.float64)
    _require_fits(values, largest, dtype, "class_weight")
    return values[rows_class.reshape(-1)]


def _class_key(key):
    if isinstance(key, (bool, np.bool_)) or not isinstance(key, numbers.Integral):
        raise ValueError(f"class_weight: expected int class labels as keys, received "
                         f"{key!r} ({type(key).__name__})")
    return int(key)


def _class_value(key, value):
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real) \
            or not math.isfinite(value) or value < 0:
        raise ValueError(f"class_weight: expected finite weights >= 0, received {value!r} for "
                         f"class {key!r}")
    return float(value)


def _samples(y, rows, name):
    """y as numbers, with one entry per sample of x."""
    array = _as_numeric(y, name)
    if array.ndim == 0 or len(array) != rows:
        received = len(array) if array.ndim else "a scalar"
        raise ValueError(f"x and {name}: expected the same number of samples, received {rows} "
                         f"and {received}")
    return array


def _as_numeric(value, name):
    if value is None:
        raise ValueError(f"{name}: expected an array, received None")
    try:
        array = value if isinstance(value, np.ndarray) else np.asarray(value)
    except ValueError as error:
        raise ValueError(f"{name}: expected a rectangular array, received {error}") from None
    if array.dtype.kind not in "biuf":
        raise TypeError(f"{name}: expected numbers (float, int or bool), received dtype "
                        f"{array.dtype}")
    return array


def _require_finite(array, name):
    # The sum is finite when no element is NaN or infinite, and costs no temporary array (in
    # the array's own dtype: MNIST's 47M floats in 13 ms of CPU, 25 ms widened to float64);
    # a sum that overflows with finite elements only is told apart by the exact check below.
    # np.add.reduce and math.isfinite skip wrappers that cost more than a small batch's sum.
    if array.dtype.kind != "f":
        return
    with np.errstate(over="ignore", invalid="ignore"):  # overflow is not the user's problem
        total = np.add.reduce(array, None)
    if not math.isfinite(total):
        bad = np.argwhere(~np.isfinite(array))
        if len(bad):
            index = tuple(int(i) for i in bad[0])
            raise ValueError(f"{name}: expected finite numbers, received {array[index]} at "
                             f"index {index}")
