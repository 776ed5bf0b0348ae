"""Neural-network functions of nerve.ops (as keras.ops): activations and cross-entropies.

Activations run on the backend's activation kernels (nerve._core, or its NumPy twin), in a
plan as on arrays; their gradient is the kernels' backward, written over dy (each op owns
the dy the plan gives it). The cross-entropies are compositions of other ops, clipped as
Keras clips them (epsilon 1e-7), so their gradients come from those ops' rules.
"""
import warnings
from typing import Any, Callable, Dict, Optional

import numpy as np

from .._typing import Tensor, TensorLike
from ..backend import get_backend
from . import kernels
from .core import Primitive, apply
from .math import abs as absolute
from .math import add, cast, clip, divide, exp, log, log1p, maximum, multiply, negative, subtract
from .reductions import logsumexp
from .reductions import sum as reduce_sum
from .shaping import one_hot, squeeze

__all__ = ["relu", "relu6", "sigmoid", "softmax", "log_softmax", "tanh", "gelu", "silu", "swish",
           "softplus", "softsign", "elu", "selu", "leaky_relu", "hard_sigmoid", "exponential",
           "binary_crossentropy", "categorical_crossentropy", "sparse_categorical_crossentropy",
           "EPSILON"]

EPSILON = 1e-7  # keras.config.epsilon()


def _rows(array):
    """The kernels' view of an array: a scalar is one element."""
    return array.reshape(1) if array.ndim == 0 else array


def _lower_activation(lowering, ys, args, name, alpha):
    return [(lowering.backend.activation_forward, (_rows(ys[0]), _rows(args[0]), name, alpha))]


def _lower_activation_grad(lowering, dys, args, ys, wanted, name, alpha):
    if not wanted[0]:
        return [None], []
    dy = _rows(dys[0])
    return [dys[0]], [(lowering.backend.activation_backward,
                       (dy, dy, _rows(args[0]), _rows(ys[0]), name, alpha))]


def _activation_grad(dys, args, ys, name, alpha):
    dx = np.empty_like(args[0])
    get_backend().activation_backward(_rows(dx), _rows(np.ascontiguousarray(dys[0])),
                                      _rows(args[0]), _rows(ys[0]), name, alpha)
    return [dx]


def _activation_compute(x, name, alpha):
    return kernels.activation(name, x, alpha=alpha)


def _activation_primitive(name: str) -> Primitive:
    primitive = Primitive(name, _activation_compute, _activation_grad, roles="f")
    primitive.lower, primitive.lower_grad = _lower_activation, _lower_activation_grad
    primitive.kernel_activation = True  # graph.fusion folds it into a dense kernel
    return primitive


def _activation(name: str, default_alpha: Optional[float] = None,
                parameter: Optional[str] = None) -> Callable[..., Tensor]:
    """keras.ops.<name>(x[, parameter]); `out=` (arrays only) writes in place, as nerve.ops
    always allowed."""
    primitive = _activation_primitive(name)

    def op(x: TensorLike, *args: float, out: Optional[np.ndarray] = None,
           **kwargs: float) -> Tensor:
        if parameter == "negative_slope" and "alpha" in kwargs:  # its name before keras.ops
            warnings.warn("ops.leaky_relu(alpha=) is deprecated: use negative_slope= as "
                          "keras.ops does", DeprecationWarning, stacklevel=2)
            kwargs["negative_slope"] = kwargs.pop("alpha")
        given: Dict[Any, float] = dict(zip([parameter] if parameter else [], args), **kwargs)
        if len(args) > (parameter is not None) or set(given) - {parameter}:
            raise TypeError(f"ops.{name}: takes x" + (f" and {parameter}" if parameter else ""))
        alpha = float(given.get(parameter, default_alpha or 0.0))
        if out is not None:
            return kernels.activation(name, x, out=out, alpha=alpha)
        return apply(primitive, [x], name=name, alpha=alpha)
    op.__name__ = op.__qualname__ = name
    op.__doc__ = f"Element-wise {name}, as keras.ops.{name}."
    return op


relu = _activation("relu")
sigmoid = _activation("sigmoid")
tanh = _activation("tanh")
silu = _activation("silu")
swish = silu
softplus = _activation("softplus")
softsign = _activation("softsign")
selu = _activation("selu")
hard_sigmoid = _activation("hard_sigmoid")
exponential = _activation("exponential")
elu = _activation("elu", 1.0, "alpha")
leaky_relu = _activation("leaky_relu", 0.2, "negative_slope")


def relu6(x: TensorLike) -> Tensor:
    return clip(relu(x), 0.0, 6.0)


def gelu(x: TensorLike, approximate: bool = True, out: Optional[np.ndarray] = None) -> Tensor:
    """GELU; approximate=True (Keras's default) is the tanh form, False the exact erf one."""
    if out is not None:
        return kernels.activation("gelu_tanh" if approximate else "gelu", x, out=out)
    name = "gelu_tanh" if approximate else "gelu"
    return apply(_GELU[name], [x], name=name, alpha=0.0)


_GELU = {name: _activation_primitive(name) for name in ("gelu", "gelu_tanh")}


def _softmax(x, axis):
    if x.ndim == 0:
        raise ValueError("x: expected at least 1 dimension, received a scalar")
    return kernels.softmax(x, axis=axis)


def _softmax_grad(dys, args, ys, axis):
    y, dy = ys[0], dys[0]
    return [y * (dy - np.sum(dy * y, axis=axis, keepdims=True))]


_SOFTMAX = Primitive("softmax", _softmax, _softmax_grad, roles="f")


def softmax(x: TensorLike, axis: int = -1, out: Optional[np.ndarray] = None) -> Tensor:
    """exp(x) / sum(exp(x)) along `axis`, stable; `out=` (arrays only) writes in place."""
    if axis is None:
        raise ValueError("ops.softmax: expected an int axis, received None")
    if out is not None:
        return kernels.softmax(x, axis=axis, out=out)
    return apply(_SOFTMAX, [x], axis=int(axis))


def log_softmax(x: TensorLike, axis: int = -1) -> Tensor:
    """x - logsumexp(x) along `axis`: the log of softmax without its underflow."""
    return subtract(x, logsumexp(x, axis=axis, keepdims=True))


# ---- cross-entropies, per element (binary) or per row (categorical), as keras.ops -----------
def _same_shapes(name, target, output):
    """Keras refuses targets and outputs of different shapes (they would broadcast)."""
    shapes = tuple(np.shape(target)), tuple(np.shape(output))
    if len(shapes[0]) != len(shapes[1]) or any(
            a != b and None not in (a, b) for a, b in zip(*shapes)):
        raise ValueError(f"ops.{name}: target and output must have the same shape, received "
                         f"{shapes[0]} and {shapes[1]}")


def binary_crossentropy(target: TensorLike, output: TensorLike, from_logits: bool = False) -> Tensor:
    """Per element; from_logits uses the exact stable form (as Keras on torch)."""
    _same_shapes("binary_crossentropy", target, output)
    if from_logits:  # max(z, 0) - z * t + log(1 + exp(-|z|)), stable for any z
        return add(subtract(maximum(output, 0.0), multiply(output, target)),
                   log1p(exp(negative(absolute(output)))))
    output = clip(output, EPSILON, 1.0 - EPSILON)
    return negative(add(multiply(target, log(output)),
                        multiply(subtract(1.0, target), log(subtract(1.0, output)))))


def _log_probabilities(output, from_logits, axis):
    if from_logits:
        return log_softmax(output, axis=axis)
    output = divide(output, reduce_sum(output, axis=axis, keepdims=True))
    return log(clip(output, EPSILON, 1.0 - EPSILON))


def categorical_crossentropy(target: TensorLike, output: TensorLike, from_logits: bool = False,
                             axis: int = -1) -> Tensor:
    _same_shapes("categorical_crossentropy", target, output)
    return negative(reduce_sum(multiply(target, _log_probabilities(output, from_logits, axis)),
                               axis=axis))


def sparse_categorical_crossentropy(target: TensorLike, output: TensorLike, from_logits: bool = False,
                                    axis: int = -1) -> Tensor:
    """As categorical_crossentropy with integer class labels (shape of output without axis,
    or with a trailing 1)."""
    target_ndim, output_ndim = len(np.shape(target)), len(np.shape(output))
    if target_ndim == output_ndim and np.shape(target)[-1] == 1:
        target = squeeze(target, axis=-1)
    classes = np.shape(output)[axis]
    hot = one_hot(cast(target, "int64"), classes, axis=axis, dtype=_float_dtype(output))
    return categorical_crossentropy(hot, output, from_logits=from_logits, axis=axis)


def _float_dtype(value):
    dtype = np.dtype(value.dtype if hasattr(value, "dtype") else np.asarray(value).dtype)
    return dtype.name if dtype.kind == "f" else "float32"

