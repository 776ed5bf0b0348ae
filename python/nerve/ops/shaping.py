"""Shape ops of nerve.ops (as keras.ops): reshaping, creation, and a tensor's shape.

reshape / expand_dims / squeeze are views in a plan (no copy, no call); the others write
their result. Joining and splitting: nerve.ops.joining; gathering: nerve.ops.indexing.
"""
import operator
import typing
from typing import Optional, Sequence, Tuple, Union

import numpy as np

from .._typing import Axis, DTypeLike, Shape, Tensor, TensorLike
from ._doc import docstring, documented
from .core import Primitive, apply
from .math import _dtype

__all__ = ["reshape", "transpose", "expand_dims", "squeeze", "zeros", "ones", "full",
           "zeros_like", "ones_like", "full_like", "broadcast_to", "shape", "ndim", "size"]


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
