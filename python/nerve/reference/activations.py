"""NumPy twins of nerve._core.activation_forward / activation_backward.

Same arguments, same in-place semantics (outputs are written, nothing is returned), same
validation and exception types. The math runs in float64 and is stored into the outputs.
"""
import math

import numpy as np

from ._checks import (as_array, float_dtype, number, raise_type, raise_value, require_disjoint,
                      require_input, require_output, require_shape)

__all__ = ["ACTIVATIONS", "activation_forward", "activation_backward"]

ACTIVATIONS = ("linear", "relu", "leaky_relu", "elu", "selu", "sigmoid", "hard_sigmoid", "tanh",
               "softplus", "softsign", "silu", "swish", "gelu", "gelu_tanh", "exponential",
               "softmax", "step")

_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946
_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)
_GELU_CUBIC = 0.044715

try:
    from scipy.special import erfc as _erfc
except ImportError:  # scipy is optional: fall back to the standard library, element by element
    _erfc = np.vectorize(math.erfc, otypes=[np.float64])


# ---- validation (shared helpers in _checks.py, mirroring cpp/bindings/checks.h) ----

def _parse(activation, trainable=False):
    """The activation name, swish read as silu; with `trainable`, only names that have a
    derivative (not step). Also used by matmul.py, as C++ shares activation_arg."""
    if not isinstance(activation, str):
        raise_type("activation", "a str", type(activation).__name__)
    if activation not in ACTIVATIONS:
        raise_value("activation", f"one of {', '.join(ACTIVATIONS)}", f"'{activation}'")
    if trainable and activation == "step":
        raise_value("activation", "an activation with a derivative (trainable)",
                    "'step', which is not trainable")
    return "silu" if activation == "swish" else activation


def _require_array(a, name, dtype, shape=None, output=False):
    (require_output if output else require_input)(a, name, dtype)
    if shape is not None:
        require_shape(a, name, shape)


def _reference_shape(a, name):
    if a.ndim == 0:
        raise_value(name, "an array with at least 1 dimension", "shape ()")
    return a.shape


# ---- the math, float64 in, float64 out ----

def _sigmoid(x):
    e = np.exp(-np.abs(x))  # never overflows
    return np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def _softmax(x):
    shifted = x - np.max(x, axis=-1, keepdims=True, initial=-np.inf)  # NaN, +inf, all--inf rows: NaN
    e = np.exp(shifted)
    return e / np.sum(e, axis=-1, keepdims=True)


def _gelu_tanh_u(x):
    return _SQRT_2_OVER_PI * (x + _GELU_CUBIC * x ** 3)


_FORWARD = {
    "linear": lambda x, a: x,
    "relu": lambda x, a: np.maximum(x, 0.0),
    "leaky_relu": lambda x, a: np.where(x < 0, a * x, x),
    "elu": lambda x, a: np.where(x > 0, x, a * np.expm1(np.minimum(x, 0.0))),
    "selu": lambda x, a: _SELU_SCALE * np.where(x > 0, x, _SELU_ALPHA * np.expm1(np.minimum(x, 0.0))),
    "sigmoid": lambda x, a: _sigmoid(x),
    "hard_sigmoid": lambda x, a: np.clip(x / 6.0 + 0.5, 0.0, 1.0),
    "tanh": lambda x, a: np.tanh(x),
    "softplus": lambda x, a: np.maximum(x, 0.0) + np.log1p(np.exp(-np.abs(x))),
    "softsign": lambda x, a: x / (1.0 + np.abs(x)),
    "silu": lambda x, a: x * _sigmoid(x),
    "gelu_tanh": lambda x, a: 0.5 * x * (1.0 + np.tanh(_gelu_tanh_u(x))),
    "gelu": lambda x, a: 0.5 * x * _erfc(-x / math.sqrt(2.0)),
    "exponential": lambda x, a: np.exp(x),
    "softmax": lambda x, a: _softmax(x),
    "step": lambda x, a: (x >= a).astype(np.float64),
}


def _gelu_tanh_grad(x):
    # Beyond |x| = 20 the derivative is 1 or 0 to double precision; clipping keeps x^3 finite.
    x = np.clip(x, -20.0, 20.0)
    t = np.tanh(_gelu_tanh_u(x))
    du = _SQRT_2_OVER_PI * (1.0 + 3.0 * _GELU_CUBIC * x * x)
    return 0.5 * (1.0 + t) + 0.5 * x * (1.0 - t * t) * du


def _gelu_grad(x):
    cdf = 0.5 * _erfc(-x / math.sqrt(2.0))
    pdf = np.exp(-0.5 * x * x) / math.sqrt(2.0 * math.pi)
    return cdf + x * pdf


def _silu_grad(x):
    s = _sigmoid(x)
    return s * (1.0 + x * (1.0 - s))


# dx from (dy, x, y, alpha). Sigmoid, tanh, exponential and softmax use the forward output y.
_BACKWARD = {
    "linear": lambda dy, x, y, a: dy,
    "relu": lambda dy, x, y, a: np.where(x > 0, dy, 0.0),
    "leaky_relu": lambda dy, x, y, a: np.where(x > 0, dy, a * dy),
    "elu": lambda dy, x, y, a: np.where(x > 0, dy, dy * a * np.exp(np.minimum(x, 0.0))),
    "selu": lambda dy, x, y, a: _SELU_SCALE * dy * np.where(
        x > 0, 1.0, _SELU_ALPHA * np.exp(np.minimum(x, 0.0))),
    "sigmoid": lambda dy, x, y, a: dy * y * (1.0 - y),
    "hard_sigmoid": lambda dy, x, y, a: np.where((x > -3) & (x < 3), dy / 6.0, 0.0),
    "tanh": lambda dy, x, y, a: dy * (1.0 - y * y),
    "softplus": lambda dy, x, y, a: dy * _sigmoid(x),
    "softsign": lambda dy, x, y, a: dy / (1.0 + np.abs(x)) ** 2,
    "silu": lambda dy, x, y, a: dy * _silu_grad(x),
    "gelu_tanh": lambda dy, x, y, a: dy * _gelu_tanh_grad(x),
    "gelu": lambda dy, x, y, a: dy * _gelu_grad(x),
    "exponential": lambda dy, x, y, a: dy * y,
    "softmax": lambda dy, x, y, a: y * (dy - np.sum(dy * y, axis=-1, keepdims=True)),
}


def activation_forward(y, x, activation, alpha=0.0):
    """y = f(x) for the Keras activation `activation` (softmax over the last axis).

    y and x: the same shape (ndim >= 1) and float dtype, C-contiguous; y may be x itself.
    alpha: leaky_relu slope, elu alpha, step threshold."""
    number(alpha, "alpha")
    y, x = as_array(y, "y"), as_array(x, "x")
    kind = _parse(activation)
    dtype = float_dtype(x, "x")
    _require_array(x, "x", dtype)
    shape = _reference_shape(x, "x")
    _require_array(y, "y", dtype, shape, output=True)
    require_disjoint(y, "y", x, "x", allow_identical=True)
    alpha = float(dtype.type(alpha))  # in the arrays' precision, as the kernels see it
    with np.errstate(all="ignore"):
        y[...] = _FORWARD[kind](np.asarray(x, dtype=np.float64), alpha)


def activation_backward(dx, dy, x, y, activation, alpha=0.0):
    """dx = f'(x) * dy (softmax: y * (dy - sum(dy * y)) per row), given the forward input x
    and output y. All the same shape and float dtype, C-contiguous; dx may be dy itself."""
    number(alpha, "alpha")
    dx, dy, x, y = (as_array(a, n) for a, n in ((dx, "dx"), (dy, "dy"), (x, "x"), (y, "y")))
    kind = _parse(activation, trainable=True)
    dtype = float_dtype(dy, "dy")
    _require_array(dy, "dy", dtype)
    shape = _reference_shape(dy, "dy")
    _require_array(x, "x", dtype, shape)
    _require_array(y, "y", dtype, shape)
    _require_array(dx, "dx", dtype, shape, output=True)
    require_disjoint(dx, "dx", dy, "dy", allow_identical=True)
    require_disjoint(dx, "dx", x, "x")
    require_disjoint(dx, "dx", y, "y")
    alpha = float(dtype.type(alpha))
    as64 = (np.asarray(a, dtype=np.float64) for a in (dy, x, y))
    with np.errstate(all="ignore"):
        dx[...] = _BACKWARD[kind](*as64, alpha)
