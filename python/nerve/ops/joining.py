"""Joining and splitting ops of nerve.ops (as keras.ops): concatenate, stack, split.

Each writes its result; their gradients cut (concatenate, stack) or join (split) dy back.
"""
import functools
from typing import List, Sequence, Tuple, Union

import numpy as np

from .._typing import Tensor, TensorLike
from .core import Primitive, apply

__all__ = ["concatenate", "stack", "split"]


def _concatenate_grad(dys, args, ys, axis):
    bounds = np.cumsum([a.shape[axis] for a in args])[:-1]
    return np.split(dys[0], bounds, axis=axis)


_CONCATENATE = Primitive("concatenate", lambda *xs, axis: np.concatenate(xs, axis=axis),
                         _concatenate_grad,
                         into=lambda out, *xs, axis: np.concatenate(xs, axis=axis, out=out))


def _tensor_list(xs, name):
    if not isinstance(xs, (list, tuple)) or not xs:
        raise TypeError(f"ops.{name}: expected a non-empty list of tensors, received "
                        f"{type(xs).__name__}")
    return list(xs)


def concatenate(xs: Sequence[TensorLike], axis: int = 0) -> Tensor:
    """The tensors of `xs` joined along an existing axis.

    Args:
        xs: Non-empty list or tuple of array-likes, Variables or SymbolicTensors of real
            numbers or booleans, of one rank and the same lengths except along axis.
        axis: Int, default 0: the axis joined along.

    Returns:
        An array whose axis is the sum of theirs, in their common dtype; a SymbolicTensor
        when one is symbolic (a graph node, with its gradient).

    Raises:
        TypeError: When xs is not a non-empty list or tuple, or holds non-numbers.
        ValueError: When the shapes differ off axis, or axis is out of range.

    Example:
        >>> import numpy as np
        >>> from nerve import ops
        >>> x = np.arange(6, dtype="float32").reshape(2, 3)
        >>> ops.concatenate([x, x], axis=1).shape
        (2, 6)
    """
    return apply(_CONCATENATE, _tensor_list(xs, "concatenate"), axis=int(axis))


_STACK = Primitive("stack", lambda *xs, axis: np.stack(xs, axis=axis), lambda dys, a, ys, axis: [
    np.take(dys[0], i, axis=axis) for i in range(len(a))])


def stack(x: Sequence[TensorLike], axis: int = 0) -> Tensor:
    """The tensors of `x` joined along a new axis.

    Args:
        x: Non-empty list or tuple of array-likes, Variables or SymbolicTensors of real
            numbers or booleans, all of one shape.
        axis: Int, default 0: the new axis's position in the result.

    Returns:
        An array of one more dimension (of length len(x) at axis), in their common dtype; a
        SymbolicTensor when one is symbolic (a graph node, with its gradient).

    Raises:
        TypeError: When x is not a non-empty list or tuple, or holds non-numbers.
        ValueError: When the shapes differ, or axis is out of range.

    Example:
        >>> import numpy as np
        >>> from nerve import ops
        >>> x = np.arange(6, dtype="float32").reshape(2, 3)
        >>> ops.stack([x, x], axis=1).shape
        (2, 2, 3)
    """
    return apply(_STACK, _tensor_list(x, "stack"), axis=int(axis))


def _split_grad(dys, args, ys, indices_or_sections, axis):
    parts = [np.zeros_like(y) if dy is None else dy for dy, y in zip(dys, ys)]
    return [np.concatenate(parts, axis=axis)]


def split(x: TensorLike, indices_or_sections: Union[int, Sequence[int]],
          axis: int = 0) -> List[Tensor]:
    """x cut into pieces along `axis`, as np.split.

    Args:
        x: Array-like, Variable or SymbolicTensor of real numbers or booleans.
        indices_or_sections: Int n: n equal pieces; or a sequence of ints: the indices
            along axis where each new piece starts.
        axis: Int, default 0: the axis cut.

    Returns:
        A list of arrays of x's dtype (of SymbolicTensors when x is symbolic, each with its
        gradient).

    Raises:
        ValueError: When n pieces do not divide the axis equally, or axis is out of range.
        TypeError: When x is not real numbers or booleans.

    Example:
        >>> import numpy as np
        >>> from nerve import ops
        >>> x = np.arange(6, dtype="float32").reshape(2, 3)
        >>> [piece.shape for piece in ops.split(x, [1], axis=1)]
        [(2, 1), (2, 2)]
    """
    sections: Union[int, Tuple[int, ...]]
    if isinstance(indices_or_sections, (int, np.integer)):
        sections, count = int(indices_or_sections), int(indices_or_sections)
    else:
        sections = tuple(int(i) for i in indices_or_sections)
        count = len(sections) + 1
    return apply(_split_primitive(count), [x], indices_or_sections=sections, axis=int(axis))


@functools.lru_cache(maxsize=None)
def _split_primitive(pieces):
    """One per piece count: a pickled graph finds its primitive by name and outputs."""
    return Primitive("split", lambda x, indices_or_sections, axis: np.split(
        x, indices_or_sections, axis=axis), _split_grad, roles="-", outputs=pieces)
