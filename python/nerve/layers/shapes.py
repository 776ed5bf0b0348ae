"""Shape types and checks shared by the layers."""
from typing import Any, List, Optional, Sequence, Tuple, Union

import numpy as np

from .. import utils

# A layer's input shape: ints, None where unknown (the batch); or, for a layer taking several
# inputs, a list of such shapes. Entries are Any so that shape arithmetic type-checks.
ShapeLike = Sequence[Any]
Shape = Tuple[Optional[int], ...]
OutputShape = Union[Shape, List[Shape]]


def _int_tuple(value, smallest):
    """value (an int or a sequence of ints >= smallest) as a tuple of ints, or None."""
    try:
        shape = (value,) if isinstance(value, (int, np.integer)) else tuple(value)
    except TypeError:
        return None
    if all(utils.is_count(d, smallest, utils.LARGEST_DIMENSION) for d in shape):
        return tuple(int(d) for d in shape)
    return None


def batch_shape(value, name="input_shape"):
    """(None, ...) from a shape whose first (batch) entry is ignored and whose others are
    ints >= 1: 2.5 is refused, not truncated to 2."""
    try:
        dims = _int_tuple(tuple(value)[1:], 1)
    except TypeError:
        dims = None
    if dims is None:
        raise ValueError(f"{name}: expected a shape of ints >= 1 such as (None, 8), received "
                         f"{value!r}")
    return (None,) + dims


def shape_tuple(value, name):
    """A shape tuple of positive ints (without the batch dimension)."""
    shape = _int_tuple(value, 1)
    if not shape:
        raise ValueError(f"{name}: expected a tuple of positive ints such as (8,), received "
                         f"{value!r}")
    return shape


def _weight_shape(value):
    """A weight's shape: a tuple of ints >= 0 (() or None: a scalar)."""
    shape = () if value is None else _int_tuple(value, 0)
    if shape is None:
        raise ValueError(f"shape: expected a tuple of ints >= 0 such as (8, 4), received "
                         f"{value!r}")
    return shape


def _format_shapes(shapes):
    return ", ".join(str(tuple(s)) for s in shapes)
