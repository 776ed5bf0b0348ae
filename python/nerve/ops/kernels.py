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
from typing import TYPE_CHECKING, Callable, Dict, Optional, Tuple

import numpy as np

from .. import _core
from .._typing import ArrayLike
from ..reference.activations import ACTIVATIONS

__all__ = ["matmul", "dense", "activation", "softmax", *[
    name for name in ACTIVATIONS if name != "softmax"]]


def _as_float_arrays(named: Dict[str, ArrayLike]) -> Tuple[Dict[str, np.ndarray], type]:
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
    """Matrix product of 2-D arrays, like ``np.matmul(a, b, out=out)``."""
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
    """``activation(x @ w + b)`` fused: x (batch, in), w (in, units) as in Keras, b (units,)."""
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
    """Apply activation `name` element-wise (softmax: over the last axis).

    ``alpha`` is leaky_relu's slope (default 0.2), elu's alpha (1.0) or step's threshold
    (0.0: step fires 1 where x >= threshold); the other activations take none.
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
    """Stable softmax along `axis` (default the last), like scipy.special.softmax."""
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


def leaky_relu(x: ArrayLike, alpha: float = 0.2, out: Optional[np.ndarray] = None) -> np.ndarray:
    """x where x > 0, else alpha * x."""
    return activation("leaky_relu", x, out=out, alpha=alpha)


def elu(x: ArrayLike, alpha: float = 1.0, out: Optional[np.ndarray] = None) -> np.ndarray:
    """x where x > 0, else alpha * (exp(x) - 1)."""
    return activation("elu", x, out=out, alpha=alpha)


def step(x: ArrayLike, threshold: float = 0.0, out: Optional[np.ndarray] = None) -> np.ndarray:
    """The threshold unit of the perceptron: 1 where x >= threshold, else 0 (not trainable)."""
    return activation("step", x, out=out, alpha=threshold)


def _make_activation(name: str) -> Callable[..., np.ndarray]:
    def apply(x: ArrayLike, out: Optional[np.ndarray] = None) -> np.ndarray:
        return activation(name, x, out=out)
    apply.__name__ = apply.__qualname__ = name
    apply.__doc__ = f"Element-wise {name}, like ``activation({name!r}, x)``."
    return apply


for _name in ACTIVATIONS:
    if _name not in globals():
        globals()[_name] = _make_activation(_name)
del _name
if TYPE_CHECKING:  # what the loop above defines, named for type checkers
    linear = relu = selu = sigmoid = hard_sigmoid = tanh = softplus = softsign = silu = \
        swish = gelu = gelu_tanh = exponential = _make_activation("")
