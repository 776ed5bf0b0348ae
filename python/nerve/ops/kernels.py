"""NumPy-like functions over nerve's fast kernels, for use without the model API.

    import nerve.ops as nops
    c = nops.matmul(a, b)                  # like a @ b for 2-D arrays
    y = nops.dense(x, w, b, "relu")        # relu(x @ w + b) in one fused pass
    p = nops.softmax(logits)               # row-wise, stable
    y = nops.activation("gelu", x)         # any activation by name; nops.gelu(x) too

Conversion rules (documented, NumPy-like):
- Inputs may be any array-like. They are computed in float32 when every input is float32,
  otherwise in float64 (integers and bools promote to float64, as in ``np.true_divide``).
  Complex, object and string data raise TypeError.
- Inputs that are not C-contiguous or not aligned are copied, except transposed 2-D views
  (``x.T``) given to ``matmul``/``dense``, which the kernels read in place.
- ``out=`` must be an ndarray of the result's dtype and shape, C-contiguous, aligned and
  writable; it is written in place (never through a temporary copy) and returned. ``out``
  may be the input of an element-wise activation. If ``out`` overlaps an input of ``matmul``/``dense``,
  that input is copied first, so the result is still right.
- Results are NumPy arrays.
"""
from typing import TYPE_CHECKING, Any, Callable, Dict, Optional, Tuple

import numpy as np

from .. import _core
from .._typing import ArrayLike
from ._doc import docstring, documented
from ..reference.activations import ACTIVATIONS

__all__ = ["matmul", "dense", "activation", "softmax", *[
    name for name in ACTIVATIONS if name != "softmax"]]


def _as_float_arrays(named: Dict[str, Any]) -> Tuple[Dict[str, np.ndarray], type]:
    """Convert named array-likes to one common float dtype (float32 only if all are)."""
    arrays: Dict[str, np.ndarray] = {}
    for name, value in named.items():
        array = np.asarray(value)
        if array.dtype.kind not in "biuf":
            raise TypeError(f"{name}: expected real numbers, received dtype {array.dtype}")
        arrays[name] = array
    dtype = np.float32 if all(a.dtype == np.float32 for a in arrays.values()) else np.float64
    # Misaligned views (of byte buffers) are copied: the kernels read whole elements.
    return {name: np.require(a.astype(dtype, copy=False), requirements="A")
            for name, a in arrays.items()}, dtype


def _check_out(out, shape, dtype):
    if not isinstance(out, np.ndarray):
        raise TypeError(f"out: expected a numpy.ndarray, received {type(out).__name__}")
    if out.dtype != dtype:
        raise TypeError(f"out: expected dtype {np.dtype(dtype)}, received dtype {out.dtype}")
    if out.shape != tuple(shape):
        raise ValueError(f"out: expected shape {tuple(shape)}, received shape {out.shape}")
    if not out.flags.c_contiguous:
        raise ValueError("out: expected a C-contiguous array, received a non-contiguous one")
    if not out.flags.writeable:
        raise ValueError("out: expected a writable array, received a read-only array")
    if not out.flags.aligned:
        raise ValueError("out: expected an aligned array (data address a multiple of its "
                         "item size), received a misaligned view")
    return out


def _require_2d(array, name):
    if array.ndim != 2:
        raise ValueError(f"{name}: expected a 2-D array, received shape {array.shape}")


def _operand(array, out):
    """(C-contiguous array, transposed?) for a gemm operand, avoiding copies of x.T views."""
    if out is not None and np.may_share_memory(array, out):
        return np.array(array, order="C"), False  # out would be written while read
    operand, transposed = _kernel_operand(array)
    if operand is None:
        return np.ascontiguousarray(array), False
    return operand, transposed


def _output(out, shape, dtype):
    return np.empty(shape, dtype) if out is None else _check_out(out, shape, dtype)


_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))


def _kernel_operand(x):
    """(x as the kernel reads it, transposed?) for a 2-D float ndarray that needs no copy."""
    if x.flags.c_contiguous:
        return x, False
    if x.flags.f_contiguous:
        return x.T, True
    return None, False


def _matmul_in_place(a, b, out):
    """The common case in about a microsecond: float ndarrays of one dtype that the kernel
    reads as they are (C-contiguous, or transposed views of such). Returns None when the
    general path must convert or explain; the binding validates everything (dtypes, shapes,
    out, aliasing) before computing anything."""
    if type(a) is not np.ndarray or type(b) is not np.ndarray:
        return None
    try:
        if out is None:
            return _core.matmul(a, b)
        if a.ndim != 2 or b.ndim != 2:
            return None
        (a_op, trans_a), (b_op, trans_b) = _kernel_operand(a), _kernel_operand(b)
        if a_op is None or b_op is None:
            return None
        _core.gemm(out, a_op, b_op, trans_a, trans_b)
    except (TypeError, ValueError):
        return None
    return out


def matmul(a: ArrayLike, b: ArrayLike, out: Optional[np.ndarray] = None) -> np.ndarray:
    """The matrix product of 2-D arrays on nerve's gemm kernel, like np.matmul(a, b, out=out).

    Args:
        a: 2-D array-like of real numbers, (m, k); a transposed view (x.T) is read in place.
        b: 2-D array-like of real numbers, (k, n).
        out: A NumPy array to write the result into, default None (see the module's
            conversion rules: the result's dtype and shape, C-contiguous, aligned, writable).
            It may overlap a or b (they are copied first).

    Returns:
        A NumPy array (m, n): float32 when a and b are float32, else float64; `out` when
        given.

    Raises:
        TypeError: When an input is not real numbers, or out is not an ndarray of the result's
            dtype.
        ValueError: When a or b is not 2-D, b's rows differ from a's columns, or out has
            another shape or is not C-contiguous, aligned and writable.

    Example:
        >>> import numpy as np
        >>> from nerve.ops import kernels
        >>> kernels.matmul([[1, 2]], [[3], [4]])
        array([[11.]])
    """
    c = _matmul_in_place(a, b, out)
    if c is not None:
        return c
    arrays, dtype = _as_float_arrays({"a": a, "b": b})
    a, b = arrays["a"], arrays["b"]
    _require_2d(a, "a")
    _require_2d(b, "b")
    if a.shape[1] != b.shape[0]:
        raise ValueError(f"b: expected {a.shape[1]} rows to match a's columns, "
                         f"received shape {b.shape}")
    c = _output(out, (a.shape[0], b.shape[1]), dtype)
    (a_op, trans_a), (b_op, trans_b) = _operand(a, c), _operand(b, c)
    _core.gemm(c, a_op, b_op, trans_a, trans_b)
    return c


def dense(x: ArrayLike, w: ArrayLike, b: Optional[ArrayLike] = None, activation: Optional[str] = None,
          out: Optional[np.ndarray] = None, alpha: Optional[float] = None) -> np.ndarray:
    """activation(x @ w + b) in one fused kernel pass, as a Keras Dense layer computes it.

    Args:
        x: 2-D array-like of real numbers, (batch, in).
        w: 2-D array-like of real numbers, (in, units), as Keras stores a Dense kernel.
        b: Array-like (units,), default None: no bias.
        activation: An activation's name (see nerve.reference.activations.ACTIVATIONS),
            default None: linear.
        out: A NumPy array to write the result into, default None (see the module's
            conversion rules: the result's dtype and shape, C-contiguous, aligned, writable).
        alpha: Float, default None: the activation's parameter (leaky_relu 0.2, elu 1.0,
            step's threshold 0.0).

    Returns:
        A NumPy array (batch, units): float32 when every input is float32, else float64;
        `out` when given.

    Raises:
        TypeError: When an input is not real numbers, or out is not an ndarray of the result's
            dtype.
            Also when activation is not a str or None.
        ValueError: When x or w is not 2-D, the shapes do not match, activation is
            unknown, or out has another shape or layout.

    Example:
        >>> import numpy as np
        >>> from nerve.ops import kernels
        >>> x, w = np.ones((2, 3), "float32"), np.ones((3, 2), "float32")
        >>> kernels.dense(x, w, np.array([-4.0, 1.0], "float32"), "relu")
        array([[0., 4.],
               [0., 4.]], dtype=float32)
    """
    named = {"x": x, "w": w} if b is None else {"x": x, "w": w, "b": b}
    arrays, dtype = _as_float_arrays(named)
    x, w = arrays["x"], arrays["w"]
    _require_2d(x, "x")
    _require_2d(w, "w")
    if x.shape[1] != w.shape[0]:
        raise ValueError(f"w: expected {x.shape[1]} rows to match x's columns, "
                         f"received shape {w.shape}")
    y = _output(out, (x.shape[0], w.shape[1]), dtype)
    # The fused kernel takes row-major x and w; transposed views are copied here (once).
    x = np.array(x, order="C") if np.may_share_memory(x, y) else np.ascontiguousarray(x)
    w = np.array(w, order="C") if np.may_share_memory(w, y) else np.ascontiguousarray(w)
    bias = None
    if b is not None:
        bias = np.ascontiguousarray(arrays["b"])
        if bias.shape != (w.shape[1],):
            raise ValueError(f"b: expected shape ({w.shape[1]},), received shape {bias.shape}")
    name, alpha = _resolve(activation, alpha)
    _core.dense_forward(y, x, w, bias, name, alpha)
    return y


# Keras defaults of the parametrised activations: (parameter name, default).
_ALPHA_DEFAULTS = {"leaky_relu": 0.2, "elu": 1.0, "step": 0.0}


def _resolve(name, alpha):
    name = "linear" if name is None else name
    if not isinstance(name, str):
        raise TypeError(f"activation: expected a name (str) or None, received {type(name).__name__}")
    if name not in ACTIVATIONS:
        raise ValueError(f"activation: expected one of {', '.join(ACTIVATIONS)}, received {name!r}")
    if alpha is None:
        alpha = _ALPHA_DEFAULTS.get(name, 0.0)
    return name, float(alpha)


def activation(name: Optional[str], x: ArrayLike, out: Optional[np.ndarray] = None,
               alpha: Optional[float] = None) -> np.ndarray:
    """The activation `name` applied element by element (softmax: over the last axis).

    Args:
        name: An activation's name: linear, relu, leaky_relu, elu, selu, sigmoid,
            hard_sigmoid, tanh, softplus, softsign, silu, swish, gelu (exact erf form),
            gelu_tanh, exponential, softmax or step; None: linear.
        x: Array-like of real numbers (softmax: at least 1-D).
        out: A NumPy array to write the result into, default None (see the module's
            conversion rules: the result's dtype and shape, C-contiguous, aligned, writable).
            It may be x itself.
        alpha: Float, default None: leaky_relu's slope (default 0.2), elu's alpha (1.0) or
            step's threshold (0.0: step fires 1 where x >= threshold); others ignore it.

    Returns:
        A NumPy array of x's shape: float32 for float32 x, else float64; `out` when given.

    Raises:
        TypeError: When an input is not real numbers, or out is not an ndarray of the result's
            dtype.
            Also when name is not a str or None.
        ValueError: When name is unknown, x is a scalar for softmax, or out has another
            shape or layout.

    Example:
        >>> import numpy as np
        >>> from nerve.ops import kernels
        >>> kernels.activation("leaky_relu", np.array([-1.0, 2.0], "float32"), alpha=0.5)
        array([-0.5,  2. ], dtype=float32)
    """
    name, alpha = _resolve(name, alpha)
    arrays, dtype = _as_float_arrays({"x": x})
    x = arrays["x"]
    y = _output(out, x.shape, dtype)
    if x.ndim == 0 and name == "softmax":
        raise ValueError("x: expected at least 1 dimension for softmax, received a scalar")
    if x is not y:
        x = np.ascontiguousarray(x)
        if np.may_share_memory(x, y):
            x = x.copy()
    # Kernels see (rows, cols); a scalar is one element.
    _core.activation_forward(y.reshape(-1) if y.ndim == 0 else y,
                             x.reshape(-1) if x.ndim == 0 else x, name, alpha)
    return y


def softmax(x: ArrayLike, axis: int = -1, out: Optional[np.ndarray] = None) -> np.ndarray:
    """exp(x) / sum(exp(x)) along `axis`, stable, like scipy.special.softmax.

    Args:
        x: Array-like of real numbers, at least 1-D.
        axis: Int, default -1 (the last axis).
        out: A NumPy array to write the result into, default None (see the module's
            conversion rules: the result's dtype and shape, C-contiguous, aligned, writable).

    Returns:
        A NumPy array of x's shape: float32 for float32 x, else float64; `out` when given.

    Raises:
        TypeError: When an input is not real numbers, or out is not an ndarray of the result's
            dtype.
        ValueError: When x is a scalar, axis is out of range, or out has another shape or
            layout.

    Example:
        >>> import numpy as np
        >>> from nerve.ops import kernels
        >>> kernels.softmax(np.array([[0.0, 1.0]], "float32")).round(4)
        array([[0.2689, 0.7311]], dtype=float32)
    """
    arrays, dtype = _as_float_arrays({"x": x})
    x = arrays["x"]
    if x.ndim == 0:
        raise ValueError("x: expected at least 1 dimension for softmax, received a scalar")
    if not -x.ndim <= axis < x.ndim:
        raise ValueError(f"axis: expected an axis of a {x.ndim}-D array, received {axis}")
    if axis % x.ndim == x.ndim - 1:
        return activation("softmax", x, out=out)
    y = _output(out, x.shape, dtype)
    moved = np.ascontiguousarray(np.moveaxis(x, axis, -1))
    np.moveaxis(y, axis, -1)[...] = activation("softmax", moved)
    return y


def _activation_doc(summary: str, example: str, result: str,
                    parameter: Optional[Tuple[str, str]] = None) -> str:
    """The docstring of an activation function below: `summary`, its (name, description)
    `parameter`, and the example kernels.<example> of x = [-1, 0, 2] printing `result`."""
    return docstring(
        summary, [("x", "Array-like of real numbers."), *([parameter] if parameter else []),
                  ("out", "A NumPy array to write the result into, default None (the "
                   "result's dtype and shape, C-contiguous, aligned, writable); it may be x.")],
        "A NumPy array of x's shape: float32 for float32 x, else float64; `out` when given.",
        [("TypeError", "When x is not real numbers, or out is not an ndarray of the result's "
          "dtype."), ("ValueError", "When out has another shape or is not C-contiguous, "
                      "aligned and writable.")],
        ['>>> x = np.array([-1.0, 0.0, 2.0], "float32")', f">>> kernels.{example}", result],
        imports=">>> from nerve.ops import kernels")


@documented(_activation_doc(
    "x where x > 0, else alpha * x, element by element.", "leaky_relu(x)",
    "array([-0.2,  0. ,  2. ], dtype=float32)",
    ("alpha", "Float, default 0.2: the slope below 0.")))
def leaky_relu(x: ArrayLike, alpha: float = 0.2, out: Optional[np.ndarray] = None) -> np.ndarray:
    return activation("leaky_relu", x, out=out, alpha=alpha)


@documented(_activation_doc(
    "x where x > 0, else alpha * (exp(x) - 1), element by element.", "elu(x).round(4)",
    "array([-0.6321,  0.    ,  2.    ], dtype=float32)",
    ("alpha", "Float, default 1.0: elu tends to -alpha as x goes to -inf.")))
def elu(x: ArrayLike, alpha: float = 1.0, out: Optional[np.ndarray] = None) -> np.ndarray:
    return activation("elu", x, out=out, alpha=alpha)


@documented(_activation_doc(
    "The perceptron's threshold unit: 1 where x >= threshold, else 0 (no derivative).",
    "step(x, threshold=0.5)", "array([0., 0., 1.], dtype=float32)",
    ("threshold", "Float, default 0.0.")))
def step(x: ArrayLike, threshold: float = 0.0, out: Optional[np.ndarray] = None) -> np.ndarray:
    return activation("step", x, out=out, alpha=threshold)


# The generated activations' docstrings: what each computes, and what its example prints.
_SUMMARIES = {
    "linear": ("x itself (copied), element by element.", "array([-1.,  0.,  2.], dtype=float32)"),
    "relu": ("max(x, 0), element by element.", "array([0., 0., 2.], dtype=float32)"),
    "selu": ("scale * (x if x > 0 else alpha * (exp(x) - 1)) with Keras's constants, element "
             "by element.", "array([-1.1113,  0.    ,  2.1014], dtype=float32)"),
    "sigmoid": ("1 / (1 + exp(-x)), element by element (stable for any x).",
                "array([0.2689, 0.5   , 0.8808], dtype=float32)"),
    "hard_sigmoid": ("clip(x / 6 + 0.5, 0, 1), element by element.",
                     "array([0.3333, 0.5   , 0.8333], dtype=float32)"),
    "tanh": ("The hyperbolic tangent of x, element by element.",
             "array([-0.7616,  0.    ,  0.964 ], dtype=float32)"),
    "softplus": ("log(1 + exp(x)), element by element (stable for any x).",
                 "array([0.3133, 0.6931, 2.1269], dtype=float32)"),
    "softsign": ("x / (1 + |x|), element by element.",
                 "array([-0.5   ,  0.    ,  0.6667], dtype=float32)"),
    "silu": ("x * sigmoid(x), element by element.",
             "array([-0.2689,  0.    ,  1.7616], dtype=float32)"),
    "swish": ("x * sigmoid(x) (silu), element by element.",
              "array([-0.2689,  0.    ,  1.7616], dtype=float32)"),
    "gelu": ("The exact GELU x * P(X <= x), X standard normal (the erf form), element by "
             "element.", "array([-0.1587,  0.    ,  1.9545], dtype=float32)"),
    "gelu_tanh": ("The tanh approximation of GELU, element by element (keras.ops.gelu's "
                  "default).", "array([-0.1588,  0.    ,  1.9546], dtype=float32)"),
    "exponential": ("exp(x), element by element.",
                    "array([0.3679, 1.    , 7.3891], dtype=float32)"),
}


def _make_activation(name: str) -> Callable[..., np.ndarray]:
    def apply(x: ArrayLike, out: Optional[np.ndarray] = None) -> np.ndarray:
        return activation(name, x, out=out)
    apply.__name__ = apply.__qualname__ = name
    summary, result = _SUMMARIES.get(name, (f"The activation {name}, element by element.", "..."))
    apply.__doc__ = _activation_doc(summary, f"{name}(x).round(4)", result)
    return apply


for _name in ACTIVATIONS:
    if _name not in globals():
        globals()[_name] = _make_activation(_name)
del _name
if TYPE_CHECKING:  # what the loop above defines, named for type checkers
    linear = relu = selu = sigmoid = hard_sigmoid = tanh = softplus = softsign = silu = \
        swish = gelu = gelu_tanh = exponential = _make_activation("")
