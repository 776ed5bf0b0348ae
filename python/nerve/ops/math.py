"""Element-wise ops of nerve.ops (as keras.ops), each beside its gradient.

Broadcasting is NumPy's; dtypes follow Keras (see core.result_dtype). Comparisons and logical
ops return booleans and pass no gradient; nor do the step functions (sign, floor, round),
whose gradient is zero.
"""
from typing import Any, Callable, Optional

import numpy as np

from .. import utils
from .._typing import DTypeLike, Tensor, TensorLike
from .core import Primitive, apply

__all__ = ["add", "subtract", "multiply", "divide", "true_divide", "negative", "power", "square",
           "sqrt", "exp", "log", "log1p", "expm1", "abs", "absolute", "sign", "maximum",
           "minimum", "clip", "where", "equal", "not_equal", "greater", "greater_equal", "less",
           "less_equal", "logical_and", "logical_or", "logical_not", "logical_xor", "cast",
           "stop_gradient", "sin", "cos", "floor", "ceil", "round", "reciprocal"]


def _first(function):
    """A gradient rule for a one-argument op: function(dy, x, y) -> dx."""
    return lambda dys, args, ys: [function(dys[0], args[0], ys[0])]


def _sum_back_into(out, dy, axes):
    np.sum(dy, axis=axes, out=out)


def _broadcast_grad(lowering, dy, arg, negate=False):
    """(gradient of `arg` from `dy` of a broadcast result, calls): dy itself when no
    broadcasting happened; else summed over the broadcast dimensions into a buffer."""
    if arg.shape == dy.shape and not negate:
        return dy, []
    out = lowering.empty(arg.shape, arg.dtype)
    if arg.shape == dy.shape:
        return out, [(np.negative, (dy, out))]
    extra = dy.ndim - arg.ndim
    axes = tuple(range(extra)) + tuple(extra + i for i, d in enumerate(arg.shape)
                                       if d == 1 and dy.shape[extra + i] != 1)
    kept = tuple(d for i, d in enumerate(dy.shape) if i not in axes)
    calls = [(_sum_back_into, (out.reshape(kept), dy, axes))]
    if negate:
        calls.append((np.negative, (out, out)))
    return out, calls


def _additive(signs):
    def lower_grad(lowering, dys, args, ys, wanted):
        grads, calls = [], []
        for arg, want, sign in zip(args, wanted, signs):
            if not want:
                grads.append(None)
                continue
            grad, more = _broadcast_grad(lowering, dys[0], arg, negate=sign < 0)
            grads.append(grad)
            calls += more
        return grads, calls
    return lower_grad


_ADD = Primitive("add", np.add, lambda dys, a, ys: [dys[0], dys[0]],
                 into=lambda out, a, b: np.add(a, b, out=out))
_ADD.lower_grad = _additive((1, 1))
_SUBTRACT = Primitive("subtract", np.subtract, lambda dys, a, ys: [dys[0], -dys[0]],
                      into=lambda out, a, b: np.subtract(a, b, out=out))
_SUBTRACT.lower_grad = _additive((1, -1))
_MULTIPLY = Primitive("multiply", np.multiply,
                      lambda dys, a, ys: [dys[0] * a[1], dys[0] * a[0]],
                      into=lambda out, a, b: np.multiply(a, b, out=out))
_DIVIDE = Primitive("divide", np.true_divide,
                    lambda dys, a, ys: [dys[0] / a[1], -dys[0] * ys[0] / a[1]], roles="f",
                    into=lambda out, a, b: np.true_divide(a, b, out=out))


def _power_grad(dys, args, ys):
    (dy,), (x, p), (y,) = dys, args, ys
    dp = dy * np.where(x > 0, y * np.log(np.where(x > 0, x, 1)), 0)
    return [dy * p * np.power(x, p - 1), dp]


_POWER = Primitive("power", np.power, _power_grad)


def add(x1: TensorLike, x2: TensorLike) -> Tensor:
    return apply(_ADD, [x1, x2])


def subtract(x1: TensorLike, x2: TensorLike) -> Tensor:
    return apply(_SUBTRACT, [x1, x2])


def multiply(x1: TensorLike, x2: TensorLike) -> Tensor:
    return apply(_MULTIPLY, [x1, x2])


def divide(x1: TensorLike, x2: TensorLike) -> Tensor:
    return apply(_DIVIDE, [x1, x2])


true_divide = divide


def power(x1: TensorLike, x2: TensorLike) -> Tensor:
    return apply(_POWER, [x1, x2])


def _unary(name: str, compute: Callable[..., Any], derivative: Optional[Callable[..., Any]],
           roles: str = "d", doc: Optional[str] = None) -> Callable[[TensorLike], Tensor]:
    """An element-wise op whose gradient is dy * derivative(x, y); None: a step function,
    whose gradient is zero, so no gradient flows through it."""
    grad = None if derivative is None else _first(lambda dy, x, y: dy * derivative(x, y))
    primitive = Primitive(name, compute, grad, roles=roles,
                          into=lambda out, x: compute(x, out=out))

    def op(x: TensorLike) -> Tensor:
        return apply(primitive, [x])
    op.__name__ = op.__qualname__ = name
    op.__doc__ = doc or f"Element-wise {name}, as keras.ops.{name}."
    return op


def _square(x, out=None):
    return np.square(x.astype(np.int32) if x.dtype == bool else x, out=out)  # Keras: bool int32


negative = _unary("negative", np.negative, lambda x, y: -1)
square = _unary("square", _square, lambda x, y: 2 * x)
sqrt = _unary("sqrt", np.sqrt, lambda x, y: 0.5 / y, "f")
exp = _unary("exp", np.exp, lambda x, y: y, "f")
expm1 = _unary("expm1", np.expm1, lambda x, y: y + 1, "f")
log = _unary("log", np.log, lambda x, y: 1 / x, "f")
log1p = _unary("log1p", np.log1p, lambda x, y: 1 / (1 + x), "f")
abs = _unary("abs", np.absolute, lambda x, y: np.sign(x))  # noqa: A001 (Keras's name)
absolute = abs
sign = _unary("sign", np.sign, None)
sin = _unary("sin", np.sin, lambda x, y: np.cos(x), "f")
cos = _unary("cos", np.cos, lambda x, y: -np.sin(x), "f")
floor = _unary("floor", np.floor, None, "f")  # ints: floatx, as Keras
ceil = _unary("ceil", np.ceil, None, "f")
reciprocal = _unary("reciprocal", np.reciprocal, lambda x, y: -y * y, "f")
_ROUND = Primitive("round", lambda x, decimals=0: np.round(x, decimals))


def round(x: TensorLike, decimals: int = 0) -> Tensor:  # noqa: A001 (Keras's name)
    return apply(_ROUND, [x], decimals=int(decimals))


def _extreme_grad(pick):
    """maximum/minimum: the gradient goes to the chosen argument, split evenly on ties."""
    def grad(dys, args, ys):
        (dy,), (a, b) = dys, args
        first = np.where(pick(a, b), 1.0, np.where(a == b, 0.5, 0.0))
        return [dy * first, dy * (1.0 - first)]
    return grad


_MAXIMUM = Primitive("maximum", np.maximum, _extreme_grad(np.greater),
                     into=lambda out, a, b: np.maximum(a, b, out=out))
_MINIMUM = Primitive("minimum", np.minimum, _extreme_grad(np.less),
                     into=lambda out, a, b: np.minimum(a, b, out=out))


def maximum(x1: TensorLike, x2: TensorLike) -> Tensor:
    return apply(_MAXIMUM, [x1, x2])


def minimum(x1: TensorLike, x2: TensorLike) -> Tensor:
    return apply(_MINIMUM, [x1, x2])


def _clip_grad(dys, args, ys):
    (dy,), (x, low, high) = dys, args
    return [dy * ((x >= low) & (x <= high)), dy * (x < low), dy * (x > high)]


_CLIP = Primitive("clip", lambda x, low, high: np.minimum(np.maximum(x, low), high), _clip_grad)


def clip(x: TensorLike, x_min: TensorLike, x_max: TensorLike) -> Tensor:
    """x limited to [x_min, x_max]; the gradient passes where x is inside (ends included)."""
    return apply(_CLIP, [x, x_min, x_max])


_WHERE = Primitive("where", np.where, lambda dys, a, ys: [
    None, np.where(a[0], dys[0], 0), np.where(a[0], 0, dys[0])], roles="bdd")


def where(condition: TensorLike, x1: Optional[TensorLike] = None,
          x2: Optional[TensorLike] = None) -> Tensor:
    if x1 is None or x2 is None:
        raise ValueError("ops.where: expected both x1 and x2 (nerve has no one-argument form)")
    return apply(_WHERE, [condition, x1, x2])


def _boolean(name: str, compute: Callable[..., Any],
             roles: str = "d") -> Callable[..., Tensor]:
    primitive = Primitive(name, compute, None, roles=roles)

    def op(*args: TensorLike) -> Tensor:
        return apply(primitive, list(args))
    op.__name__ = op.__qualname__ = name
    op.__doc__ = f"Element-wise {name} (booleans, no gradient), as keras.ops.{name}."
    return op


equal = _boolean("equal", np.equal)
not_equal = _boolean("not_equal", np.not_equal)
greater = _boolean("greater", np.greater)
greater_equal = _boolean("greater_equal", np.greater_equal)
less = _boolean("less", np.less)
less_equal = _boolean("less_equal", np.less_equal)
logical_and = _boolean("logical_and", np.logical_and, "b")
logical_or = _boolean("logical_or", np.logical_or, "b")
logical_xor = _boolean("logical_xor", np.logical_xor, "b")
logical_not = _boolean("logical_not", np.logical_not, "b")


def _dtype(dtype: DTypeLike) -> np.dtype:
    if dtype is None:
        return np.dtype(utils.floatx())
    try:
        dtype = np.dtype(getattr(dtype, "name", dtype))
    except TypeError:
        raise TypeError(f"dtype: expected a NumPy dtype or its name, received {dtype!r}") from None
    if dtype.kind not in "biuf":
        raise TypeError(f"dtype: expected a real or boolean dtype, received {dtype}")
    return dtype


def _cast_grad(dys, args, ys, dtype):
    both_float = args[0].dtype.kind == "f" and np.dtype(dtype).kind == "f"
    return [dys[0].astype(args[0].dtype) if both_float else None]


_CAST = Primitive("cast", lambda x, dtype: x.astype(dtype), _cast_grad, roles="-",
                  into=lambda out, x, dtype: np.copyto(out, x, casting="unsafe"))


def cast(x: TensorLike, dtype: DTypeLike) -> Tensor:
    """x converted to `dtype`; float to float passes the gradient, to int or bool not."""
    return apply(_CAST, [x], dtype=_dtype(dtype).name)


_STOP = Primitive("stop_gradient", lambda x: x, None, roles="-",
                  into=lambda out, x: np.copyto(out, x))


def stop_gradient(variable: TensorLike) -> Tensor:
    """Its input's value, through which no gradient flows."""
    return apply(_STOP, [variable])
