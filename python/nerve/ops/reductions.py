"""Reductions of nerve.ops (as keras.ops): `axis` an int, a tuple or None (all), `keepdims`.

Gradients spread dy back over the reduced axes: evenly for sum and mean, to the extremes
(split evenly among ties, as torch and JAX) for max and min, by the product of the others
for prod (exact with zeros), by softmax for logsumexp.
"""
import builtins
from typing import Any, Callable, Optional, Sequence, Tuple

import numpy as np

from .._typing import Axis, Tensor, TensorLike
from ._doc import SYMBOLIC, SYMBOLIC_NO_GRADIENT, TENSOR, docstring, documented
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
    # (this module defines ops.all and ops.any: no builtins here)
    if isinstance(axis, (tuple, list)) and not [a for a in axis
                                                if not isinstance(a, (int, np.integer))]:
        return tuple(int(a) for a in axis)
    raise TypeError(f"axis: expected an int, a tuple of ints or None, received {axis!r}")


_AXIS = "Int, tuple of ints or None, default None (all axes): the axes reduced."
_KEEPDIMS = "Bool, default False: whether the reduced axes stay, with length 1."
_AXIS_ERRORS = [("ValueError", "When an axis is out of range for x."),
                ("TypeError", "When axis is not an int, a tuple of ints or None, or x is not "
                 "real numbers or booleans.")]
_X = 'np.array([[1, 2], [3, 4]], "float32")'  # the examples' x
_INTS = "x's dtype (bools and ints narrower than 32 bits: int32, unsigned: uint32)"
_FLOAT = "x's float dtype (ints and bools: floatx, float32)"


def _reduction_doc(name: str, summary: str, dtype: str, example: str, result: str,
                   gradient: Optional[str], raises: Sequence[Tuple[str, str]] = ()) -> str:
    return docstring(
        summary, [("x", f"{TENSOR} of real numbers or booleans."), ("axis", _AXIS),
                  ("keepdims", _KEEPDIMS)],
        f"An array of x's shape without the reduced axes (or with them of length 1), of "
        f"{dtype}; {SYMBOLIC if gradient else SYMBOLIC_NO_GRADIENT}.",
        [*raises, *_AXIS_ERRORS], [f">>> x = {_X}", f">>> ops.{example}", result], gradient)


def _reduction(name: str, compute: Callable[..., Any], grad: Optional[Callable[..., Any]],
               doc: str, roles: str = "d",
               result: Optional[Callable[..., Any]] = None) -> Callable[..., Tensor]:
    def wrapped(x, axis=None, keepdims=False):
        axes = None if axis is None else _axes(axis, np.ndim(x))
        value = compute(x, axis=axes, keepdims=keepdims)
        return value if result is None else np.asarray(value).astype(result(x))
    primitive = Primitive(name, wrapped, grad, roles=roles)

    @documented(doc)
    def op(x: TensorLike, axis: Axis = None, keepdims: bool = False) -> Tensor:
        return apply(primitive, [x], axis=_axis_argument(axis), keepdims=bool(keepdims))
    op.__name__ = op.__qualname__ = name
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


_EMPTY = [("ValueError", "When a reduced axis has length 0 (no identity).")]
sum = _reduction("sum", np.sum, _sum_grad, _reduction_doc(  # noqa: A001
    "sum", "The sum of x's elements over `axis`.", _INTS, "sum(x, axis=0)",
    "array([4., 6.], dtype=float32)", "The gradient spreads dy evenly over the reduced axes."),
    result=_int_sum_dtype)
mean = _reduction("mean", np.mean, _mean_grad, _reduction_doc(
    "mean", "The arithmetic mean of x's elements over `axis` (nan over an empty axis).",
    _FLOAT, "mean(x)", "np.float32(2.5)",
    "The gradient spreads dy / count evenly over the reduced axes."), roles="f")
max = _reduction("max", np.max, _extreme_grad, _reduction_doc(  # noqa: A001
    "max", "The largest of x's elements over `axis`; amax is the same function.", "x's dtype",
    "max(x, axis=1, keepdims=True)", "array([[2.],\n       [4.]], dtype=float32)",
    "The gradient goes to the largest elements (split evenly among ties).", _EMPTY))
min = _reduction("min", np.min, _extreme_grad, _reduction_doc(  # noqa: A001
    "min", "The smallest of x's elements over `axis`; amin is the same function.", "x's dtype",
    "min(x, axis=1)", "array([1., 3.], dtype=float32)",
    "The gradient goes to the smallest elements (split evenly among ties).", _EMPTY))
amax, amin = max, min
prod = _reduction("prod", np.prod, _prod_grad, _reduction_doc(
    "prod", "The product of x's elements over `axis`.", _INTS, "prod(x, axis=0)",
    "array([3., 8.], dtype=float32)",
    "The gradient of each element is dy times the product of the others (exact with zeros)."),
    result=_int_sum_dtype)
logsumexp = _reduction("logsumexp", _logsumexp, _logsumexp_grad, _reduction_doc(
    "logsumexp", "log(sum(exp(x))) over `axis`, computed stably (the maximum taken out first).",
    _FLOAT, "logsumexp(x, axis=1).round(4)", "array([2.3133, 4.3133], dtype=float32)",
    "The gradient is dy times softmax(x) over the reduced axes."), roles="f")
var = _reduction("var", np.var, _var_grad, _reduction_doc(
    "var", "The variance (mean squared deviation, no Bessel correction) over `axis`.", _FLOAT,
    "var(x, axis=0)", "array([1., 1.], dtype=float32)",
    "The gradient is dy * 2 (x - mean) / count."), roles="f")
std = _reduction("std", np.std, _std_grad, _reduction_doc(
    "std", "The standard deviation (no Bessel correction) over `axis`.", _FLOAT,
    "std(x, axis=1)", "array([0.5, 0.5], dtype=float32)",
    "The gradient is dy (x - mean) / (std * count), 0 where std is 0."), roles="f")
all = _reduction("all", np.all, None, _reduction_doc(  # noqa: A001
    "all", "Whether every element of x (cast to bool) over `axis` is true.", "bool",
    "all(x > 1, axis=1)", "array([False,  True])", None), roles="b")
any = _reduction("any", np.any, None, _reduction_doc(  # noqa: A001
    "any", "Whether some element of x (cast to bool) over `axis` is true.", "bool",
    "any(x > 3, axis=1)", "array([False,  True])", None), roles="b")
count_nonzero = _reduction("count_nonzero", np.count_nonzero, None, _reduction_doc(
    "count_nonzero", "How many elements of x over `axis` are not zero.", "int32",
    "count_nonzero(x - 1)", "array(3, dtype=int32)", None), roles="-", result=lambda x: np.int32)


def _arg_extreme(name: str, compute: Callable[..., Any], example: str) -> Callable[..., Tensor]:
    """argmax / argmin; `example`: what the docstring's ops.<name>(x, axis=1) prints."""
    def wrapped(x, axis=None, keepdims=False):
        if axis is None:
            value = compute(x.reshape(-1))
            return np.asarray(value, np.int32).reshape((1,) * x.ndim if keepdims else ())
        return compute(x, axis=axis, keepdims=keepdims).astype(np.int32)
    primitive = Primitive(name, wrapped, None)

    @documented(docstring(
        f"The index of the {name[3:]}imum of x along `axis` (the first on ties).",
        [("x", f"{TENSOR} of real numbers or booleans."),
         ("axis", "Int or None, default None: the axis searched; None: x flattened."),
         ("keepdims", "Bool, default False: whether the axis stays, with length 1.")],
        f"An int32 array of x's shape without axis (0-d for axis None, unless keepdims); "
        f"{SYMBOLIC_NO_GRADIENT}.",
        [("TypeError", "When axis is not an int or None, or x is not real numbers or "
          "booleans."), ("ValueError", "When axis is out of range or x is empty.")],
        [f">>> x = {_X}", f">>> ops.{name}(x, axis=1)", example]))
    def op(x: TensorLike, axis: Optional[int] = None, keepdims: bool = False) -> Tensor:
        if axis is not None and not isinstance(axis, (int, np.integer)):
            raise TypeError(f"ops.{name}: axis: expected an int or None, received {axis!r}")
        return apply(primitive, [x], axis=None if axis is None else int(axis),
                     keepdims=bool(keepdims))
    op.__name__ = op.__qualname__ = name
    return op


argmax = _arg_extreme("argmax", np.argmax, "array([1, 1], dtype=int32)")
argmin = _arg_extreme("argmin", np.argmin, "array([0, 0], dtype=int32)")
