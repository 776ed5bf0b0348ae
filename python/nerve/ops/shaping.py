"""Shape ops of nerve.ops (as keras.ops): reshaping, joining, splitting, gathering, creation.

reshape / expand_dims / squeeze are views in a plan (no copy, no call); the others write
their result. Gathers (take, take_along_axis, indexing) scatter-add their gradient, so
repeated indices accumulate.
"""
import functools
import operator
from typing import Any, List, Optional, Sequence, Tuple, Union, cast

import numpy as np

from .._typing import Axis, DTypeLike, Shape, Tensor, TensorLike
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
    """x with shape `newshape` (one entry may be -1 or None: inferred, e.g. the batch)."""
    return apply(_RESHAPE, [x], newshape=_shape_argument(newshape))


def expand_dims(x: TensorLike, axis: Union[int, Sequence[int]]) -> Tensor:
    return apply(_EXPAND, [x], axis=_shape_argument(axis, "axis"))


def squeeze(x: TensorLike, axis: Axis = None) -> Tensor:
    return apply(_SQUEEZE, [x], axis=None if axis is None else _shape_argument(axis, "axis"))


_TRANSPOSE = Primitive("transpose", lambda x, axes: np.transpose(x, axes), lambda dys, a, ys,
                       axes: [np.transpose(dys[0], None if axes is None else np.argsort(axes))],
                       roles="-", into=lambda out, x, axes: np.copyto(out, np.transpose(x, axes)))


def transpose(x: TensorLike, axes: Optional[Sequence[int]] = None) -> Tensor:
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
    return apply(_CONCATENATE, _tensor_list(xs, "concatenate"), axis=int(axis))


_STACK = Primitive("stack", lambda *xs, axis: np.stack(xs, axis=axis), lambda dys, a, ys, axis: [
    np.take(dys[0], i, axis=axis) for i in range(len(a))])


def stack(x: Sequence[TensorLike], axis: int = 0) -> Tensor:
    return apply(_STACK, _tensor_list(x, "stack"), axis=int(axis))


def _split_grad(dys, args, ys, indices_or_sections, axis):
    parts = [np.zeros_like(y) if dy is None else dy for dy, y in zip(dys, ys)]
    return [np.concatenate(parts, axis=axis)]


def split(x: TensorLike, indices_or_sections: Union[int, Sequence[int]],
          axis: int = 0) -> List[Tensor]:
    """A list of pieces of x along `axis`: `indices_or_sections` equal pieces, or cut at the
    given indices."""
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
    """Elements of x at `indices` along `axis` (None: of x flattened); negative indices
    count from the end."""
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
    return apply(_TAKE_ALONG, [x, indices], axis=None if axis is None else int(axis))


def _one_hot(x, num_classes, axis, dtype):
    if x.dtype.kind not in "iub":
        raise TypeError(f"expected integer labels, received dtype {x.dtype}")
    hot = (np.expand_dims(x, -1) == np.arange(num_classes)).astype(dtype)
    return np.moveaxis(hot, -1, axis) if axis != -1 else hot


_ONE_HOT = Primitive("one_hot", _one_hot, None, roles="-")


def one_hot(x: TensorLike, num_classes: int, axis: int = -1, dtype: DTypeLike = None) -> Tensor:
    """Rows of zeros with a one at each label (labels outside [0, num_classes): all zeros)."""
    return apply(_ONE_HOT, [x], num_classes=operator.index(num_classes), axis=int(axis),
                 dtype=_dtype(dtype).name)


def _static_shape(shape):
    shape = _shape_argument(shape, "shape")
    if any(d < 0 for d in shape):
        raise ValueError(f"shape: expected sizes >= 0, received {shape}")
    return shape


def zeros(shape: Shape, dtype: DTypeLike = None) -> Tensor:
    return np.zeros(_static_shape(shape), _dtype(dtype))


def ones(shape: Shape, dtype: DTypeLike = None) -> Tensor:
    return np.ones(_static_shape(shape), _dtype(dtype))


def full(shape: Shape, fill_value: TensorLike, dtype: DTypeLike = None) -> Tensor:
    return np.full(_static_shape(shape), fill_value, _dtype(dtype))


_FULL_LIKE = Primitive("full_like", lambda x, fill_value, dtype: np.full(
    x.shape, fill_value, x.dtype if dtype is None else dtype), None, roles="-")


def full_like(x: TensorLike, fill_value: TensorLike, dtype: DTypeLike = None) -> Tensor:
    return apply(_FULL_LIKE, [x], fill_value=fill_value,
                 dtype=None if dtype is None else _dtype(dtype).name)


def zeros_like(x: TensorLike, dtype: DTypeLike = None) -> Tensor:
    return full_like(x, 0, dtype)


def ones_like(x: TensorLike, dtype: DTypeLike = None) -> Tensor:
    return full_like(x, 1, dtype)


_BROADCAST = Primitive("broadcast_to", lambda x, shape: np.broadcast_to(x, shape).copy(),
                       lambda dys, a, ys, shape: [dys[0]], roles="-")


def broadcast_to(x: TensorLike, shape: Shape) -> Tensor:
    return apply(_BROADCAST, [x], shape=_static_shape(shape))


def shape(x: TensorLike) -> Tuple[Optional[int], ...]:
    """The shape tuple (None for the batch dimension of a symbolic tensor)."""
    return tuple(np.shape(x)) if not hasattr(x, "shape") else tuple(x.shape)


def ndim(x: TensorLike) -> int:
    return len(shape(x))


def size(x: TensorLike) -> int:
    dims = shape(x)
    if None in dims:
        raise ValueError("ops.size: the batch size of a symbolic tensor is not known while "
                         "tracing")
    return int(np.prod(cast(Tuple[int, ...], dims)))


def _getitem_grad(dys, args, ys, index):
    grad = np.zeros(args[0].shape, dys[0].dtype)
    np.add.at(grad, index, dys[0])
    return [grad]


_GETITEM = Primitive("getitem", lambda x, index: np.asarray(x[index]).copy(), _getitem_grad,
                     roles="-")


def getitem(x: TensorLike, index: Any) -> Tensor:
    """x[index]: ints, slices, None, Ellipsis and integer arrays, as NumPy indexes."""
    if isinstance(index, list):
        index = np.asarray(index)
    return apply(_GETITEM, [x], index=index)
