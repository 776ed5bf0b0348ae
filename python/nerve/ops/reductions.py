"""Reductions of nerve.ops (as keras.ops): `axis` an int, a tuple or None (all), `keepdims`.

Gradients spread dy back over the reduced axes: evenly for sum and mean, to the extremes
(split evenly among ties, as torch and JAX) for max and min, by the product of the others
for prod (exact with zeros), by softmax for logsumexp.
"""
import builtins
from typing import Any, Callable, Optional

import numpy as np

from .._typing import Axis, Tensor, TensorLike
from .core import Primitive, apply

__all__ = ["sum", "mean", "max", "min", "amax", "amin", "prod", "argmax", "argmin",
           "logsumexp", "std", "var", "all", "any", "count_nonzero"]


def _axes(axis, ndim):
    if axis is None:
        return tuple(range(ndim))
    axes = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
    for a in axes:
        if not -ndim <= a < builtins.max(ndim, 1):
            raise ValueError(f"axis {a} is out of bounds for an array of dimension {ndim}")
    return tuple(sorted(a % builtins.max(ndim, 1) for a in axes))


def _spread(dy, x, axis, keepdims):
    """dy of a reduction, reshaped to broadcast against x."""
    if not keepdims:
        dy = np.expand_dims(dy, _axes(axis, x.ndim))
    return dy


def _axis_argument(axis):
    if axis is None or isinstance(axis, (int, np.integer)):
        return None if axis is None else int(axis)
    try:
        return tuple(int(a) for a in axis)
    except TypeError:
        raise TypeError(f"axis: expected an int, a tuple of ints or None, received "
                        f"{axis!r}") from None


def _reduction(name: str, compute: Callable[..., Any], grad: Optional[Callable[..., Any]],
               roles: str = "d", result: Optional[Callable[..., Any]] = None) -> Callable[..., Tensor]:
    def wrapped(x, axis=None, keepdims=False):
        axes = None if axis is None else _axes(axis, np.ndim(x))
        value = compute(x, axis=axes, keepdims=keepdims)
        return value if result is None else np.asarray(value).astype(result(x))
    primitive = Primitive(name, wrapped, grad, roles=roles)

    def op(x: TensorLike, axis: Axis = None, keepdims: bool = False) -> Tensor:
        return apply(primitive, [x], axis=_axis_argument(axis), keepdims=bool(keepdims))
    op.__name__ = op.__qualname__ = name
    op.__doc__ = f"{name} over `axis` (None: all), as keras.ops.{name}."
    return op


def _int_sum_dtype(x):
    """Keras (JAX): bool and small ints sum in int32, small unsigned ints in uint32."""
    if x.dtype.kind in "biu" and x.itemsize < 4:
        return np.uint32 if x.dtype.kind == "u" else np.int32
    return x.dtype


def _sum_grad(dys, args, ys, axis, keepdims):
    return [np.broadcast_to(_spread(dys[0], args[0], axis, keepdims), args[0].shape)]


def _count(x, axis):
    return int(np.prod([x.shape[a] for a in _axes(axis, x.ndim)]))


def _mean_grad(dys, args, ys, axis, keepdims):
    count = _count(args[0], axis)
    return [np.broadcast_to(_spread(dys[0], args[0], axis, keepdims) / count, args[0].shape)]


def _extreme_grad(dys, args, ys, axis, keepdims):
    x = args[0]
    y = _spread(ys[0], x, axis, keepdims)
    chosen = x == y
    ties = chosen.sum(axis=_axes(axis, x.ndim), keepdims=True)
    return [_spread(dys[0], x, axis, keepdims) * chosen / ties]


def _prod_grad(dys, args, ys, axis, keepdims):
    """d prod / d x_i = the product of the others: exclusive cumulative products from both
    ends of the reduced elements (no division, so zeros are exact)."""
    x = args[0]
    axes = _axes(axis, x.ndim)
    kept = [a for a in range(x.ndim) if a not in axes]
    moved = np.transpose(x, kept + list(axes))
    flat = moved.reshape(moved.shape[:len(kept)] + (-1,))
    ones = np.ones(flat.shape[:-1] + (1,), x.dtype)
    before = np.cumprod(np.concatenate([ones, flat[..., :-1]], axis=-1), axis=-1)
    after = np.cumprod(np.concatenate([ones, flat[..., :0:-1]], axis=-1), axis=-1)[..., ::-1]
    others = (before * after).reshape(moved.shape)
    others = np.transpose(others, np.argsort(kept + list(axes)))
    return [_spread(dys[0], x, axis, keepdims) * others]


def _logsumexp(x, axis=None, keepdims=False):
    peak = np.max(x, axis=axis, keepdims=True)
    peak = np.where(np.isfinite(peak), peak, 0)
    value = np.log(np.sum(np.exp(x - peak), axis=axis, keepdims=True)) + peak
    return value if keepdims else np.squeeze(value, axis=axis)


def _logsumexp_grad(dys, args, ys, axis, keepdims):
    x = args[0]
    return [_spread(dys[0], x, axis, keepdims) * np.exp(x - _spread(ys[0], x, axis, keepdims))]


def _var_grad(dys, args, ys, axis, keepdims):
    x = args[0]
    centred = x - np.mean(x, axis=axis, keepdims=True)
    return [_spread(dys[0], x, axis, keepdims) * 2 * centred / _count(x, axis)]


def _std_grad(dys, args, ys, axis, keepdims):
    x = args[0]
    centred = x - np.mean(x, axis=axis, keepdims=True)
    std = _spread(ys[0], x, axis, keepdims)
    with np.errstate(divide="ignore", invalid="ignore"):
        scale = np.where(std > 0, centred / (std * _count(x, axis)), 0)
    return [_spread(dys[0], x, axis, keepdims) * scale]


sum = _reduction("sum", np.sum, _sum_grad, result=_int_sum_dtype)  # noqa: A001
mean = _reduction("mean", np.mean, _mean_grad, roles="f")
max = _reduction("max", np.max, _extreme_grad)  # noqa: A001
min = _reduction("min", np.min, _extreme_grad)  # noqa: A001
amax, amin = max, min
prod = _reduction("prod", np.prod, _prod_grad, result=_int_sum_dtype)
logsumexp = _reduction("logsumexp", _logsumexp, _logsumexp_grad, roles="f")
var = _reduction("var", np.var, _var_grad, roles="f")
std = _reduction("std", np.std, _std_grad, roles="f")
all = _reduction("all", np.all, None, roles="b")  # noqa: A001
any = _reduction("any", np.any, None, roles="b")  # noqa: A001
count_nonzero = _reduction("count_nonzero", np.count_nonzero, None, roles="-",
                           result=lambda x: np.int32)


def _arg_extreme(name: str, compute: Callable[..., Any]) -> Callable[..., Tensor]:
    def wrapped(x, axis=None, keepdims=False):
        if axis is None:
            value = compute(x.reshape(-1))
            return np.asarray(value, np.int32).reshape((1,) * x.ndim if keepdims else ())
        return compute(x, axis=axis, keepdims=keepdims).astype(np.int32)
    primitive = Primitive(name, wrapped, None)

    def op(x: TensorLike, axis: Optional[int] = None, keepdims: bool = False) -> Tensor:
        if axis is not None and not isinstance(axis, (int, np.integer)):
            raise TypeError(f"ops.{name}: axis: expected an int or None, received {axis!r}")
        return apply(primitive, [x], axis=None if axis is None else int(axis),
                     keepdims=bool(keepdims))
    op.__name__ = op.__qualname__ = name
    op.__doc__ = f"Index (int32) of the {name[3:]} along `axis`, as keras.ops.{name}."
    return op


argmax = _arg_extreme("argmax", np.argmax)
argmin = _arg_extreme("argmin", np.argmin)
