"""Shape ops of nerve.ops (as keras.ops): reshaping, joining, splitting, gathering, creation.

reshape / expand_dims / squeeze are views in a plan (no copy, no call); the others write
their result. Gathers (take, take_along_axis, indexing) scatter-add their gradient, so
repeated indices accumulate.
"""
import functools
import operator
import typing
from typing import Any, List, Optional, Sequence, Tuple, Union

import numpy as np

from .._typing import Axis, DTypeLike, Shape, Tensor, TensorLike
from ._doc import docstring, documented
from .core import Primitive, apply
from .math import _dtype

__all__ = ["reshape", "transpose", "expand_dims", "squeeze", "concatenate", "stack", "split",
           "take", "take_along_axis", "one_hot", "zeros", "ones", "full", "zeros_like",
           "ones_like", "full_like", "broadcast_to", "shape", "ndim", "size", "getitem"]


def _view_grad(lowering, dys, args, ys, wanted, **params):
    """A view's gradient: dy reshaped back to the input (a view of dy, no call)."""
    return [dys[0].reshape(args[0].shape) if wanted[0] else None], []


def _view(name, compute):
    primitive = Primitive(name, compute, lambda dys, a, ys, **p: [dys[0].reshape(a[0].shape)],
                          roles="-", view=True)
    primitive.lower_grad = _view_grad
    return primitive


def _dimension(d):
    if isinstance(d, bool):  # an int to operator.index, a mistake in a shape
        raise TypeError
    return -1 if d is None else operator.index(d)


def _shape_argument(shape, name="newshape"):
    try:
        return tuple(_dimension(d) for d in (
            (shape,) if isinstance(shape, (int, np.integer)) else shape))
    except TypeError:
        raise TypeError(f"{name}: expected a tuple of ints, received {shape!r}") from None


_RESHAPE = _view("reshape", lambda x, newshape: np.reshape(x, newshape))
_EXPAND = _view("expand_dims", lambda x, axis: np.expand_dims(x, axis))
_SQUEEZE = _view("squeeze", lambda x, axis: np.squeeze(x, axis))


def reshape(x: TensorLike, newshape: Sequence[Optional[int]]) -> Tensor:
    """x's elements in a new shape (row-major order, as np.reshape).

    In a compiled model it is a view: no copy, no kernel call.

    Args:
        x: Array-like, Variable or SymbolicTensor of real numbers or booleans.
        newshape: Int or tuple of ints of x's size; one entry may be -1 or None (inferred,
            e.g. the batch dimension of a symbolic tensor).

    Returns:
        An array of shape newshape and x's dtype (a view of x where NumPy can make one); a
        SymbolicTensor when x is symbolic (a graph node, with its gradient).

    Raises:
        TypeError: When newshape is not an int or a tuple of ints.
        ValueError: When newshape does not hold x's size.

    Example:
        >>> import numpy as np
        >>> from nerve import ops
        >>> x = np.arange(6, dtype="float32").reshape(2, 3)
        >>> ops.reshape(x, (3, -1))
        array([[0., 1.],
               [2., 3.],
               [4., 5.]], dtype=float32)
    """
    return apply(_RESHAPE, [x], newshape=_shape_argument(newshape))


def expand_dims(x: TensorLike, axis: Union[int, Sequence[int]]) -> Tensor:
    """x with new axes of length 1 at `axis` (a view in a compiled model).

    Args:
        x: Array-like, Variable or SymbolicTensor of real numbers or booleans.
        axis: Int or tuple of ints: the new axes' positions in the result (negative counts
            from the end).

    Returns:
        An array of x's elements and dtype with x.ndim + len(axis) dimensions; a
        SymbolicTensor when x is symbolic (a graph node, with its gradient).

    Raises:
        TypeError: When axis is not an int or a tuple of ints.
        ValueError: When an axis is out of range for the result.

    Example:
        >>> import numpy as np
        >>> from nerve import ops
        >>> ops.expand_dims(np.ones((2, 3)), 0).shape
        (1, 2, 3)
    """
    return apply(_EXPAND, [x], axis=_shape_argument(axis, "axis"))


def squeeze(x: TensorLike, axis: Axis = None) -> Tensor:
    """x without axes of length 1 (a view in a compiled model).

    Args:
        x: Array-like, Variable or SymbolicTensor of real numbers or booleans.
        axis: Int, tuple of ints or None, default None: the axes removed; None: every axis
            of length 1.

    Returns:
        An array of x's elements and dtype; a SymbolicTensor when x is symbolic (a graph
        node, with its gradient).

    Raises:
        TypeError: When axis is not an int, a tuple of ints or None.
        ValueError: When an axis given is out of range or its length is not 1.

    Example:
        >>> import numpy as np
        >>> from nerve import ops
        >>> ops.squeeze(np.ones((1, 2, 1))).shape
        (2,)
    """
    return apply(_SQUEEZE, [x], axis=None if axis is None else _shape_argument(axis, "axis"))


_TRANSPOSE = Primitive("transpose", lambda x, axes: np.transpose(x, axes), lambda dys, a, ys,
                       axes: [np.transpose(dys[0], None if axes is None else np.argsort(axes))],
                       roles="-", into=lambda out, x, axes: np.copyto(out, np.transpose(x, axes)))


def transpose(x: TensorLike, axes: Optional[Sequence[int]] = None) -> Tensor:
    """x with its axes permuted, as np.transpose (on an array: a view of it).

    Args:
        x: Array-like, Variable or SymbolicTensor of real numbers or booleans.
        axes: Tuple of ints or None, default None: the permutation (the result's axis i is
            x's axes[i]); None reverses the axes.

    Returns:
        An array of the permuted shape and x's dtype; a SymbolicTensor when x is symbolic (a
        graph node, with its gradient).

    Raises:
        TypeError: When axes is not a tuple of ints or None.
        ValueError: When axes is not a permutation of x's axes.

    Example:
        >>> import numpy as np
        >>> from nerve import ops
        >>> x = np.arange(6, dtype="float32").reshape(2, 3)
        >>> ops.transpose(x).shape
        (3, 2)
    """
    return apply(_TRANSPOSE, [x], axes=None if axes is None else _shape_argument(axes, "axes"))


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


def _static_shape(shape):
    shape = _shape_argument(shape, "shape")
    if any(d < 0 for d in shape):
        raise ValueError(f"shape: expected sizes >= 0, received {shape}")
    return shape


_DTYPE_ERROR = "dtype is not a real or boolean dtype"
_FILL = ("fill_value", "A number, or an array broadcasting to the shape.")


def _creation_doc(summary: str, example: str, result: str, filled: bool = False) -> str:
    """zeros / ones / full: the docstring, with the example ops.<example> printing `result`."""
    return docstring(
        summary, [("shape", "Int or tuple of ints >= 0."), *([_FILL] if filled else []),
                  ("dtype", "A real or boolean dtype or its name, default None: floatx "
                   "(float32)" + (", not fill_value's." if filled else "."))],
        "A NumPy array of that shape and dtype (an array even while tracing: a constant).",
        [("TypeError", f"When shape is not an int or a tuple of ints, or {_DTYPE_ERROR}."),
         ("ValueError", "When a size is negative" + (
             ", or fill_value does not convert or broadcast." if filled else "."))],
        [f">>> ops.{example}", result])


def _like_doc(summary: str, example: str, result: str, filled: bool = False) -> str:
    """zeros_like / ones_like / full_like: the docstring, with the example ops.<example>."""
    return docstring(
        summary, [("x", "Array-like, Variable or SymbolicTensor of real numbers or booleans "
                   "(only its shape and dtype are read)."), *([_FILL] if filled else []),
                  ("dtype", "A real or boolean dtype or its name, default None: x's dtype.")],
        "An array of x's shape; a SymbolicTensor when x is symbolic (no gradient flows).",
        [("TypeError", f"When x is not real numbers or booleans, or {_DTYPE_ERROR}.")],
        [f">>> ops.{example}", result])


@documented(_creation_doc("A new array of zeros.", "zeros((2,))",
                          "array([0., 0.], dtype=float32)"))
def zeros(shape: Shape, dtype: Optional[DTypeLike] = None) -> Tensor:
    return np.zeros(_static_shape(shape), _dtype(dtype))


@documented(_creation_doc("A new array of ones.", 'ones(2, "int32")',
                          "array([1, 1], dtype=int32)"))
def ones(shape: Shape, dtype: Optional[DTypeLike] = None) -> Tensor:
    return np.ones(_static_shape(shape), _dtype(dtype))


@documented(_creation_doc("A new array filled with `fill_value`.", "full((2,), 7)",
                          "array([7., 7.], dtype=float32)", filled=True))
def full(shape: Shape, fill_value: TensorLike, dtype: Optional[DTypeLike] = None) -> Tensor:
    return np.full(_static_shape(shape), fill_value, _dtype(dtype))


_FULL_LIKE = Primitive("full_like", lambda x, fill_value, dtype: np.full(
    x.shape, fill_value, x.dtype if dtype is None else dtype), None, roles="-")


@documented(_like_doc("An array of x's shape filled with `fill_value`.",
                      'full_like(np.zeros(3, "float32"), 2)',
                      "array([2., 2., 2.], dtype=float32)", filled=True))
def full_like(x: TensorLike, fill_value: TensorLike, dtype: Optional[DTypeLike] = None) -> Tensor:
    return apply(_FULL_LIKE, [x], fill_value=fill_value,
                 dtype=None if dtype is None else _dtype(dtype).name)


@documented(_like_doc("An array of zeros of x's shape.",
                      'zeros_like(np.array([1, 2]), "float32")', "array([0., 0.], dtype=float32)"))
def zeros_like(x: TensorLike, dtype: Optional[DTypeLike] = None) -> Tensor:
    return full_like(x, 0, dtype)


@documented(_like_doc("An array of ones of x's shape.", "ones_like(np.array([1, 2]))",
                      "array([1, 1])"))
def ones_like(x: TensorLike, dtype: Optional[DTypeLike] = None) -> Tensor:
    return full_like(x, 1, dtype)


_BROADCAST = Primitive("broadcast_to", lambda x, shape: np.broadcast_to(x, shape).copy(),
                       lambda dys, a, ys, shape: [dys[0]], roles="-")


def broadcast_to(x: TensorLike, shape: Shape) -> Tensor:
    """x repeated to `shape` by NumPy's broadcasting rules (a copy, not a view).

    Args:
        x: Array-like, Variable or SymbolicTensor of real numbers or booleans.
        shape: Int or tuple of ints >= 0 that x broadcasts to.

    Returns:
        An array of that shape and x's dtype; a SymbolicTensor when x is symbolic (a graph
        node, with its gradient).

    Raises:
        TypeError: When shape is not an int or a tuple of ints.
        ValueError: When a size is negative or x does not broadcast to shape.

    Example:
        >>> import numpy as np
        >>> from nerve import ops
        >>> ops.broadcast_to(np.array([1, 2], "float32"), (2, 2))
        array([[1., 2.],
               [1., 2.]], dtype=float32)
    """
    return apply(_BROADCAST, [x], shape=_static_shape(shape))


def shape(x: TensorLike) -> Tuple[Optional[int], ...]:
    """x's shape as a tuple (None for the batch dimension of a symbolic tensor).

    Args:
        x: Array-like, Variable or SymbolicTensor, or anything NumPy can take the shape of.

    Returns:
        A tuple of ints (and None where a symbolic dimension is unknown).

    Example:
        >>> import numpy as np
        >>> from nerve import ops
        >>> ops.shape(np.zeros((2, 3)))
        (2, 3)
    """
    return tuple(np.shape(x)) if not hasattr(x, "shape") else tuple(x.shape)


def ndim(x: TensorLike) -> int:
    """x's number of dimensions.

    Args:
        x: Array-like, Variable or SymbolicTensor, or anything NumPy can take the shape of.

    Returns:
        An int (a symbolic tensor's rank is known while tracing).

    Example:
        >>> import numpy as np
        >>> from nerve import ops
        >>> ops.ndim(np.zeros((2, 3)))
        2
    """
    return len(shape(x))


def size(x: TensorLike) -> int:
    """x's number of elements.

    Args:
        x: Array-like, Variable or SymbolicTensor, or anything NumPy can take the shape of.

    Returns:
        An int, the product of x's dimensions.

    Raises:
        ValueError: When x is symbolic with an unknown (batch) dimension.

    Example:
        >>> import numpy as np
        >>> from nerve import ops
        >>> ops.size(np.zeros((2, 3)))
        6
    """
    dims = shape(x)
    if None in dims:
        raise ValueError("ops.size: the batch size of a symbolic tensor is not known while "
                         "tracing")
    return int(np.prod(typing.cast(Tuple[int, ...], dims)))


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
