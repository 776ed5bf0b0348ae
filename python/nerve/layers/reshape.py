"""Reshaping layers (keras.layers): Reshape and Permute.

Reshape is a view of its input, as Flatten: it costs nothing. Permute copies its input
transposed into a buffer, and its gradient is the inverse transpose.
"""
import math
from typing import Any, Dict, Sequence

import numpy as np

from ..utils import LARGEST_DIMENSION, is_count
from .layer import Layer, Shape, ShapeLike

__all__ = ["Reshape", "Permute"]


def _int_entries(value, name, layer):
    try:
        entries = tuple(value)
    except TypeError:
        entries = None
    if entries is None or not all(is_count(d, -LARGEST_DIMENSION, LARGEST_DIMENSION)
                                  for d in entries):
        raise ValueError(f"{layer}: {name} expected a tuple of ints, received {value!r}")
    return tuple(int(d) for d in entries)


class Reshape(Layer):
    """(batch, ...) -> (batch, *target_shape), as a view: it costs nothing.

    Input shape: any, with as many values per sample as target_shape holds. Output shape is
    (batch,) + target_shape.

    Args:
        target_shape: Tuple of positive ints, one of which may be -1 (inferred from the
            size of a sample).
        **kwargs: The base Layer's arguments (name, trainable, dtype, input_shape).

    Raises:
        ValueError: When target_shape is not such a tuple; when called, if the samples'
            size does not fit it.

    Example:
        >>> import numpy as np, nerve
        >>> nerve.layers.Reshape((2, -1))(np.ones((3, 6), "float32")).shape
        (3, 2, 3)
    """

    def __init__(self, target_shape: Sequence[int], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        target = _int_entries(target_shape, "target_shape", "Reshape")
        if target.count(-1) > 1 or any(d < 1 and d != -1 for d in target):
            raise ValueError(f"Reshape: target_shape expected positive ints and at most one -1, "
                             f"received {target_shape!r}")
        self.target_shape = target

    def compute_output_shape(self, input_shape: ShapeLike) -> Shape:
        sample = tuple(input_shape[1:])
        size = math.prod(sample) if None not in sample else None
        known = math.prod(d for d in self.target_shape if d != -1)
        target = self.target_shape
        if -1 in target and size is not None and size % known == 0:
            target = tuple(size // known if d == -1 else d for d in target)
        if size is None:
            return (input_shape[0],) + tuple(None if d == -1 else d for d in target)
        if -1 in target or math.prod(target) != size:
            raise ValueError(f"{self.name}: cannot reshape samples of shape {sample} ({size} "
                             f"values) into target_shape {self.target_shape}")
        return (input_shape[0],) + target

    def get_config(self) -> Dict[str, Any]:
        return {**super().get_config(), "target_shape": self.target_shape}

    def _forward(self, lowering, x, training):
        shape = (x.shape[0],) + self.compute_output_shape(x.shape)[1:]
        return x.reshape(shape), [], x.shape

    def _backward(self, lowering, input_shape, dy, need_dx, fused):
        return (dy.reshape(input_shape) if need_dx else None), []


class Permute(Layer):
    """Reorders the axes of each sample (the batch axis stays first).

    Input shape: (batch, d1, ..., dn). Output shape: (batch, d[dims[0]], ...,
    d[dims[n-1]]).

    Args:
        dims: Tuple, a permutation of 1..n (axes counted from 1 after the batch axis):
            (2, 1) swaps the two axes of (batch, a, b).
        **kwargs: The base Layer's arguments (name, trainable, dtype, input_shape).

    Raises:
        ValueError: When dims is not such a permutation; when called, on inputs of another
            rank than len(dims) + 1.

    Example:
        >>> import numpy as np, nerve
        >>> nerve.layers.Permute((2, 1))(np.ones((1, 2, 3), "float32")).shape
        (1, 3, 2)
    """

    def __init__(self, dims: Sequence[int], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        dims = _int_entries(dims, "dims", "Permute")
        if sorted(dims) != list(range(1, len(dims) + 1)):
            raise ValueError(f"Permute: dims expected a permutation of 1..{len(dims)} (the "
                             f"axes after the batch axis, counted from 1), received {dims!r}")
        self.dims = dims

    def compute_output_shape(self, input_shape: ShapeLike) -> Shape:
        if len(input_shape) != len(self.dims) + 1:
            raise ValueError(f"{self.name}: dims {self.dims} permute inputs of rank "
                             f"{len(self.dims) + 1}, received shape {tuple(input_shape)}")
        return (input_shape[0],) + tuple(input_shape[d] for d in self.dims)

    def get_config(self) -> Dict[str, Any]:
        return {**super().get_config(), "dims": self.dims}

    def _forward(self, lowering, x, training):
        transposed = x.transpose((0,) + self.dims)
        y = lowering.empty(transposed.shape, x.dtype)
        return y, [(np.copyto, (y, transposed))], x.shape

    def _backward(self, lowering, input_shape, dy, need_dx, fused):
        if not need_dx:
            return None, []
        dx = lowering.empty(input_shape, dy.dtype)
        inverse = tuple(np.argsort((0,) + self.dims))
        return dx, [(np.copyto, (dx, dy.transpose(inverse)))]
