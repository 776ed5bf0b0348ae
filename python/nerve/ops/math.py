"""Element-wise ops of nerve.ops (as keras.ops), each beside its gradient.

Broadcasting is NumPy's; dtypes follow Keras (see core.result_dtype). The step functions
(sign, floor, round) pass no gradient: theirs is zero. The comparisons, logical ops and
where: nerve.ops.logic.
"""
from typing import Any, Callable, Optional, Tuple

import numpy as np

from .. import utils
from .._typing import DTypeLike, Tensor, TensorLike
from ._doc import REAL_TYPE_ERROR, SYMBOLIC, TENSOR, docstring, documented
from .core import Primitive, apply

__all__ = ["add", "subtract", "multiply", "divide", "true_divide", "negative", "power", "square",
           "sqrt", "exp", "log", "log1p", "expm1", "abs", "absolute", "sign", "maximum",
           "minimum", "clip", "cast", "stop_gradient", "sin", "cos", "floor", "ceil", "round",
           "reciprocal"]


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


BROADCAST_ERROR = ("ValueError", "When the shapes of x1 and x2 do not broadcast.")
_PAIR = [("x1", f"{TENSOR} of real numbers or booleans."),
         ("x2", "The same, broadcast against x1 as NumPy broadcasts.")]
_PROMOTED = ("An array of the broadcast shape in the dtypes' common type (Keras's rules: a "
             "Python scalar takes the other's dtype, ints meeting floats give the float); "
             f"{SYMBOLIC}.")


def _binary_doc(summary: str, example: str, result: str, returns: str = _PROMOTED,
                description: Optional[str] = None) -> str:
    return docstring(summary, _PAIR, returns, [BROADCAST_ERROR, REAL_TYPE_ERROR],
                     [f">>> ops.{example}", result], description)


@documented(_binary_doc("x1 + x2, element by element (broadcasting).",
                        'add(np.array([1, 2], "float32"), 0.5)',
                        "array([1.5, 2.5], dtype=float32)"))
def add(x1: TensorLike, x2: TensorLike) -> Tensor:
    return apply(_ADD, [x1, x2])


@documented(_binary_doc("x1 - x2, element by element (broadcasting).",
                        'subtract(np.array([[1], [2]]), np.array([1, 2]))',
                        "array([[ 0, -1],\n       [ 1,  0]])"))
def subtract(x1: TensorLike, x2: TensorLike) -> Tensor:
    return apply(_SUBTRACT, [x1, x2])


@documented(_binary_doc("x1 * x2, element by element (broadcasting).",
                        'multiply(np.array([1, 2], "float32"), 3)',
                        "array([3., 6.], dtype=float32)"))
def multiply(x1: TensorLike, x2: TensorLike) -> Tensor:
    return apply(_MULTIPLY, [x1, x2])


@documented(_binary_doc(
    "x1 / x2, element by element (broadcasting); true_divide is the same function.",
    'divide(np.array([1, 2], "int32"), 4)', "array([0.25, 0.5 ], dtype=float32)",
    "A float array of the broadcast shape: the inputs' common float type, floatx (float32) "
    f"when both are ints or bools; {SYMBOLIC}."))
def divide(x1: TensorLike, x2: TensorLike) -> Tensor:
    return apply(_DIVIDE, [x1, x2])


true_divide = divide


@documented(_binary_doc("x1 ** x2, element by element (broadcasting).",
                        'power(np.array([1, 2, 3], "float32"), 2)',
                        "array([1., 4., 9.], dtype=float32)"))
def power(x1: TensorLike, x2: TensorLike) -> Tensor:
    return apply(_POWER, [x1, x2])


_FLOATS = "x's float dtype, or floatx (float32) for ints and bools"
_STEP = "Its gradient is zero almost everywhere: none flows through it."
_NO_BOOL = ("TypeError", "When x is boolean (NumPy defines no boolean {name}), or not real "
            "numbers.")


def _unary(name: str, compute: Callable[..., Any], derivative: Optional[Callable[..., Any]],
           summary: str, example: Tuple[str, str], roles: str = "d", dtype: str = "x's dtype",
           raises: Tuple[str, str] = REAL_TYPE_ERROR) -> Callable[[TensorLike], Tensor]:
    """An element-wise op whose gradient is dy * derivative(x, y); None: a step function,
    whose gradient is zero, so no gradient flows through it. The docstring: `summary`, the
    result's dtype, and the example ops.<name>(example[0]) printing example[1]."""
    grad = None if derivative is None else _first(lambda dy, x, y: dy * derivative(x, y))
    primitive = Primitive(name, compute, grad, roles=roles,
                          into=lambda out, x: compute(x, out=out))

    @documented(docstring(
        summary, [("x", f"{TENSOR} of real numbers or booleans.")],
        f"An array of x's shape, of {_FLOATS if roles == 'f' else dtype}; {SYMBOLIC}.",
        [(raises[0], raises[1].format(name=name))],
        [f">>> ops.{name}({example[0]})", example[1]], None if grad else _STEP))
    def op(x: TensorLike) -> Tensor:
        return apply(primitive, [x])
    op.__name__ = op.__qualname__ = name
    return op


def _square(x, out=None):
    return np.square(x.astype(np.int32) if x.dtype == bool else x, out=out)  # Keras: bool int32


_SMALL = 'np.array([1, 4], "float32")'
_MIXED = 'np.array([-1.5, 0.5, 2.0], "float32")'
negative = _unary("negative", np.negative, lambda x, y: -1, "-x, element by element.",
                  (_MIXED, "array([ 1.5, -0.5, -2. ], dtype=float32)"), raises=_NO_BOOL)
square = _unary("square", _square, lambda x, y: 2 * x, "x * x, element by element.",
                ("np.array([1, -3])", "array([1, 9])"),
                dtype="x's dtype (booleans give int32, as Keras)")
sqrt = _unary("sqrt", np.sqrt, lambda x, y: 0.5 / y, "The square root of x, element by element "
              "(nan below 0).", (_SMALL, "array([1., 2.], dtype=float32)"), "f")
exp = _unary("exp", np.exp, lambda x, y: y, "e to the power x, element by element.",
             ("np.array([0, 1])", "array([1.      , 2.718282], dtype=float32)"), "f")
expm1 = _unary("expm1", np.expm1, lambda x, y: y + 1, "exp(x) - 1, element by element, exact "
               "for small x.", ("np.array([0.0, 1e-10])", "array([0.e+00, 1.e-10])"), "f")
log = _unary("log", np.log, lambda x, y: 1 / x, "The natural logarithm of x, element by element "
             "(-inf at 0, nan below).", (_SMALL, "array([0.       , 1.3862944], dtype=float32)"),
             "f")
log1p = _unary("log1p", np.log1p, lambda x, y: 1 / (1 + x), "log(1 + x), element by element, "
               "exact for small x.", ("np.array([0.0, 1e-10])", "array([0.e+00, 1.e-10])"), "f")
abs = _unary("abs", np.absolute, lambda x, y: np.sign(x),  # noqa: A001 (Keras's name)
             "|x|, element by element; absolute is the same function.",
             (_MIXED, "array([1.5, 0.5, 2. ], dtype=float32)"))
absolute = abs
sign = _unary("sign", np.sign, None, "-1, 0 or 1 as x is negative, zero or positive.",
              (_MIXED, "array([-1.,  1.,  1.], dtype=float32)"), raises=_NO_BOOL)
sin = _unary("sin", np.sin, lambda x, y: np.cos(x), "The sine of x (radians), element by "
             "element.", ("np.array([0.0, np.pi / 2])", "array([0., 1.])"), "f")
cos = _unary("cos", np.cos, lambda x, y: -np.sin(x), "The cosine of x (radians), element by "
             "element.", ("np.array([0.0, np.pi])", "array([ 1., -1.])"), "f")
floor = _unary("floor", np.floor, None, "The largest integer <= x, element by element, as a "
               "float.", (_MIXED, "array([-2.,  0.,  2.], dtype=float32)"), "f")  # ints: floatx
ceil = _unary("ceil", np.ceil, None, "The smallest integer >= x, element by element, as a "
              "float.", (_MIXED, "array([-1.,  1.,  2.], dtype=float32)"), "f")
reciprocal = _unary("reciprocal", np.reciprocal, lambda x, y: -y * y, "1 / x, element by "
                    "element (inf at 0).", (_SMALL, "array([1.  , 0.25], dtype=float32)"), "f")
_ROUND = Primitive("round", lambda x, decimals=0: np.round(x, decimals))


def round(x: TensorLike, decimals: int = 0) -> Tensor:  # noqa: A001 (Keras's name)
    """x rounded to `decimals` decimal places, halves to even (as NumPy).

    Its gradient is zero almost everywhere: none flows through it.

    Args:
        x: Array-like, Variable or SymbolicTensor of real numbers or booleans.
        decimals: Int, default 0; negative rounds to tens, hundreds, ...

    Returns:
        An array of x's shape and dtype (ints stay ints); a SymbolicTensor when x is symbolic.

    Raises:
        TypeError: When x is not real numbers or booleans.

    Example:
        >>> import numpy as np
        >>> from nerve import ops
        >>> ops.round(np.array([0.5, 1.5, 2.567], "float32"))
        array([0., 2., 3.], dtype=float32)
        >>> ops.round(np.array([2.567], "float32"), decimals=2)
        array([2.57], dtype=float32)
    """
    return apply(_ROUND, [x], decimals=int(decimals))


def _extreme_grad(pick):
    """maximum/minimum: the gradient goes to the chosen argument, split evenly on ties."""
    def grad(dys, args, ys):
        (dy,), (a, b) = dys, args
        first = np.where(pick(a, b), 1.0, np.where(a == b, 0.5, 0.0))
        return [dy * first, dy * (1.0 - first)]
    return grad


_TIES = "On a tie the gradient is split evenly between x1 and x2."
_MAXIMUM = Primitive("maximum", np.maximum, _extreme_grad(np.greater),
                     into=lambda out, a, b: np.maximum(a, b, out=out))
_MINIMUM = Primitive("minimum", np.minimum, _extreme_grad(np.less),
                     into=lambda out, a, b: np.minimum(a, b, out=out))


@documented(_binary_doc("The larger of x1 and x2, element by element (broadcasting).",
                        'maximum(np.array([1, 5], "float32"), 3)',
                        "array([3., 5.], dtype=float32)", description=_TIES))
def maximum(x1: TensorLike, x2: TensorLike) -> Tensor:
    return apply(_MAXIMUM, [x1, x2])


@documented(_binary_doc("The smaller of x1 and x2, element by element (broadcasting).",
                        'minimum(np.array([1, 5], "float32"), 3)',
                        "array([1., 3.], dtype=float32)", description=_TIES))
def minimum(x1: TensorLike, x2: TensorLike) -> Tensor:
    return apply(_MINIMUM, [x1, x2])


def _clip_grad(dys, args, ys):
    (dy,), (x, low, high) = dys, args
    return [dy * ((x >= low) & (x <= high)), dy * (x < low), dy * (x > high)]


_CLIP = Primitive("clip", lambda x, low, high: np.minimum(np.maximum(x, low), high), _clip_grad)


def clip(x: TensorLike, x_min: TensorLike, x_max: TensorLike) -> Tensor:
    """x limited to [x_min, x_max], element by element (broadcasting).

    The gradient passes to x where x is inside (ends included), to x_min where x is below
    it and to x_max where x is above it.

    Args:
        x: Array-like, Variable or SymbolicTensor of real numbers or booleans.
        x_min: The lower bound: a scalar or anything that broadcasts against x.
        x_max: The upper bound, likewise (where x_min > x_max the result is x_max).

    Returns:
        An array of the broadcast shape in the arguments' common dtype (Python scalars take
        x's); a SymbolicTensor when an argument is symbolic.

    Raises:
        ValueError: When the shapes do not broadcast.
        TypeError: When an argument is not real numbers or booleans.

    Example:
        >>> import numpy as np
        >>> from nerve import ops
        >>> ops.clip(np.array([-2.0, 0.5, 3.0], "float32"), 0.0, 1.0)
        array([0. , 0.5, 1. ], dtype=float32)
    """
    return apply(_CLIP, [x, x_min, x_max])


def _dtype(dtype: Optional[DTypeLike]) -> np.dtype:
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
    """x converted to `dtype` (floats to ints truncate toward zero, as NumPy's astype).

    Float to float passes the gradient; to an int or bool dtype, none flows.

    Args:
        x: Array-like, Variable or SymbolicTensor of real numbers or booleans.
        dtype: A real or boolean NumPy dtype or its name ("float32", "int64", "bool", ...);
            None gives floatx (float32).

    Returns:
        An array of x's shape and `dtype`; a SymbolicTensor when x is symbolic.

    Raises:
        TypeError: When x is not real numbers or booleans, or dtype is not a real or boolean
            dtype.

    Example:
        >>> import numpy as np
        >>> from nerve import ops
        >>> ops.cast(np.array([1.7, -1.7]), "int32")
        array([ 1, -1], dtype=int32)
    """
    return apply(_CAST, [x], dtype=_dtype(dtype).name)


_STOP = Primitive("stop_gradient", lambda x: x, None, roles="-",
                  into=lambda out, x: np.copyto(out, x))


def stop_gradient(variable: TensorLike) -> Tensor:
    """Its input's value, through which no gradient flows.

    Args:
        variable: Array-like, Variable or SymbolicTensor of real numbers or booleans.

    Returns:
        `variable` as an array (an array given is returned as it is); a SymbolicTensor of its
        shape and dtype when it is symbolic, passing no gradient back.

    Raises:
        TypeError: When variable is not real numbers or booleans.

    Example:
        >>> import numpy as np
        >>> from nerve import ops
        >>> ops.stop_gradient(np.array([1.0, 2.0], "float32"))
        array([1., 2.], dtype=float32)
    """
    return apply(_STOP, [variable])
