"""Gathering ops of nerve.ops (as keras.ops): take, take_along_axis, getitem, one_hot.

The gathers scatter-add their gradient, so repeated indices accumulate; one_hot passes none.
"""
import operator
from typing import Any, Optional

import numpy as np

from .._typing import DTypeLike, Tensor, TensorLike
from .core import Primitive, apply
from .math import _dtype

__all__ = ["take", "take_along_axis", "one_hot", "getitem"]


def _take_grad(dys, args, ys, axis):
    x, indices = args
    grad = np.zeros(x.size if axis is None else x.shape, dys[0].dtype)
    where = indices if axis is None else (slice(None),) * (axis % x.ndim) + (indices,)
    np.add.at(grad, where, dys[0])
    return [grad.reshape(x.shape), None]


_TAKE = Primitive("take", lambda x, indices, axis: np.take(x, indices, axis=axis), _take_grad,
                  roles="-i")


def take(x: TensorLike, indices: TensorLike, axis: Optional[int] = None) -> Tensor:
    """The elements of x at `indices` along `axis`, as np.take.

    The gradient is scattered back with repeats accumulated.

    Args:
        x: Array-like, Variable or SymbolicTensor of real numbers or booleans.
        indices: Integer array-like (or symbolic), any shape; negative indices count from
            the end. Float indices are cast to int64 (truncated).
        axis: Int or None, default None: the axis indexed; None: x flattened.

    Returns:
        An array of x's shape with axis replaced by indices' shape, of x's dtype; a
        SymbolicTensor when an argument is symbolic (a graph node, with its gradient).

    Raises:
        ValueError: When an index or axis is out of range.
        TypeError: When an argument is not real numbers or booleans.

    Example:
        >>> import numpy as np
        >>> from nerve import ops
        >>> x = np.arange(6, dtype="float32").reshape(2, 3)
        >>> ops.take(x, [0, 2], axis=1)
        array([[0., 2.],
               [3., 5.]], dtype=float32)
    """
    return apply(_TAKE, [x, indices], axis=None if axis is None else int(axis))


def _take_along_grad(dys, args, ys, axis):
    x, indices = args
    if axis is None:
        x, axis = x.reshape(-1), 0
    axis %= x.ndim
    dy = dys[0]
    where = []
    for d in range(x.ndim):
        if d == axis:
            where.append(np.broadcast_to(indices, dy.shape))
        else:
            span = np.arange(dy.shape[d]) if x.shape[d] != 1 else np.zeros(dy.shape[d], int)
            where.append(span.reshape([-1 if e == d else 1 for e in range(x.ndim)]))
    grad = np.zeros(x.shape, dy.dtype)
    np.add.at(grad, tuple(np.broadcast_arrays(*where)), dy)
    return [grad.reshape(args[0].shape), None]


_TAKE_ALONG = Primitive("take_along_axis", lambda x, indices, axis: np.take_along_axis(
    x, indices, axis=axis), _take_along_grad, roles="-i")


def take_along_axis(x: TensorLike, indices: TensorLike, axis: Optional[int] = None) -> Tensor:
    """The elements of x at `indices` matched along `axis`, as np.take_along_axis.

    The gradient is scattered back with repeats accumulated.

    Args:
        x: Array-like, Variable or SymbolicTensor of real numbers or booleans.
        indices: Integer array-like (or symbolic) of x's rank, broadcasting against x off
            axis; float indices are cast to int64 (truncated).
        axis: Int or None, default None: the axis indexed; None: x flattened (indices 1-D).

    Returns:
        An array of the broadcast shape with indices' length at axis, of x's dtype; a
        SymbolicTensor when an argument is symbolic (a graph node, with its gradient).

    Raises:
        ValueError: When an index or axis is out of range, or the ranks differ.
        TypeError: When an argument is not real numbers or booleans.

    Example:
        >>> import numpy as np
        >>> from nerve import ops
        >>> x = np.arange(6, dtype="float32").reshape(2, 3)
        >>> ops.take_along_axis(x, np.array([[2], [0]]), axis=1)
        array([[2.],
               [3.]], dtype=float32)
    """
    return apply(_TAKE_ALONG, [x, indices], axis=None if axis is None else int(axis))


def _one_hot(x, num_classes, axis, dtype):
    if x.dtype.kind not in "iub":
        raise TypeError(f"expected integer labels, received dtype {x.dtype}")
    hot = (np.expand_dims(x, -1) == np.arange(num_classes)).astype(dtype)
    return np.moveaxis(hot, -1, axis) if axis != -1 else hot


_ONE_HOT = Primitive("one_hot", _one_hot, None, roles="-")


def one_hot(x: TensorLike, num_classes: int, axis: int = -1, dtype: Optional[DTypeLike] = None) -> Tensor:
    """The one-hot encoding of integer labels: zeros with a one at each label.

    Labels outside [0, num_classes) give all zeros. No gradient flows through it.

    Args:
        x: Array-like, Variable or SymbolicTensor of integer (or boolean) labels, any shape.
        num_classes: Int, the encoding's length.
        axis: Int, default -1: where the new axis of length num_classes goes.
        dtype: The result's dtype (real or boolean, a dtype or its name), default None:
            floatx (float32).

    Returns:
        An array of x's shape with num_classes inserted at axis; a SymbolicTensor when x is
        symbolic.

    Raises:
        TypeError: When x is not integers or booleans, num_classes not an int, or dtype not
            a real or boolean dtype.
        ValueError: When axis is out of range.

    Example:
        >>> import numpy as np
        >>> from nerve import ops
        >>> ops.one_hot(np.array([0, 2, 5]), 3)
        array([[1., 0., 0.],
               [0., 0., 1.],
               [0., 0., 0.]], dtype=float32)
    """
    return apply(_ONE_HOT, [x], num_classes=operator.index(num_classes), axis=int(axis),
                 dtype=_dtype(dtype).name)


def _getitem_grad(dys, args, ys, index):
    grad = np.zeros(args[0].shape, dys[0].dtype)
    np.add.at(grad, index, dys[0])
    return [grad]


_GETITEM = Primitive("getitem", lambda x, index: np.asarray(x[index]).copy(), _getitem_grad,
                     roles="-")


def getitem(x: TensorLike, index: Any) -> Tensor:
    """x[index] (a copy), as NumPy indexes; the gradient is scattered back.

    Args:
        x: Array-like, Variable or SymbolicTensor of real numbers or booleans.
        index: An int, slice, None, Ellipsis, integer or boolean array (a list is read as
            an array), or a tuple of those.

    Returns:
        An array of x's dtype; a SymbolicTensor when x is symbolic (a graph node, with its
        gradient).

    Raises:
        ValueError: When an index is out of range.
        TypeError: When x is not real numbers or booleans.

    Example:
        >>> import numpy as np
        >>> from nerve import ops
        >>> x = np.arange(6, dtype="float32").reshape(2, 3)
        >>> ops.getitem(x, (slice(None), 0))
        array([0., 3.], dtype=float32)
    """
    if isinstance(index, list):
        index = np.asarray(index)
    return apply(_GETITEM, [x], index=index)
