"""Neural-network functions of nerve.ops (as keras.ops): activations and cross-entropies.

Activations run on the backend's activation kernels (nerve._core, or its NumPy twin), in a
plan as on arrays; their gradient is the kernels' backward, written over dy (each op owns
the dy the plan gives it). The cross-entropies are compositions of other ops, clipped as
Keras clips them (epsilon 1e-7), so their gradients come from those ops' rules.
"""
import inspect
import warnings
from typing import Any, Callable, Dict, Optional, Tuple

import numpy as np

from .._typing import Tensor, TensorLike
from ..backend import get_backend
from . import kernels
from ._doc import SYMBOLIC, TENSOR, docstring, documented
from .core import Primitive, apply
from .math import abs as absolute
from .math import add, cast, clip, divide, exp, log, log1p, maximum, multiply, negative, subtract
from .reductions import logsumexp
from .reductions import sum as reduce_sum
from .indexing import one_hot
from .shaping import squeeze

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


_X = 'np.array([-1.0, 0.0, 2.0], "float32")'  # the activations' examples' x
_OUT = ("A NumPy array to write the result into, default None (arrays only: x's shape, "
        "float32 when x is float32 else float64, C-contiguous, writable; it may be x itself).")
_OUT_VALUE_ERROR = ("ValueError", "When out has another shape, or is not C-contiguous, "
                    "aligned and writable.")
_ACTIVATION_RESULT = ("An array of x's shape, of x's float dtype (ints and bools: floatx, "
                      f"float32), or `out` when given; {SYMBOLIC}.")


def _activation_doc(summary: str, example: str, result: str, parameter: Optional[str],
                    default: Optional[float], meaning: str) -> str:
    args = [("x", f"{TENSOR} of real numbers or booleans.")]
    if parameter:
        args.append((parameter, f"Float, default {default}: {meaning}."))
    accepted = f"x, {parameter}" if parameter else "x"
    type_error = ("TypeError", "When x is not real numbers or booleans, out is not an array "
                  f"of the result's dtype, or an argument other than {accepted} and out is "
                  "given.")
    return docstring(summary, args + [("out", _OUT)], _ACTIVATION_RESULT,
                     [type_error, _OUT_VALUE_ERROR], [f">>> x = {_X}", f">>> {example}", result])


def _activation(name: str, summary: str, example: Tuple[str, str],
                default_alpha: Optional[float] = None, parameter: Optional[str] = None,
                meaning: str = "") -> Callable[..., Tensor]:
    """keras.ops.<name>(x[, parameter]); `out=` (arrays only) writes in place, as nerve.ops
    always allowed. The docstring: `summary`, the example example[0] (of x = _X) printing
    example[1], and the parameter's `meaning`."""
    primitive = _activation_primitive(name)

    @documented(_activation_doc(summary, *example, parameter, default_alpha, meaning))
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
    setattr(op, "__signature__", _signature(parameter, default_alpha))
    return op


def _signature(parameter: Optional[str], default: Optional[float]) -> inspect.Signature:
    """What help() shows of an activation: x, its parameter, out= (the op takes *args)."""
    kinds = inspect.Parameter
    parameters = [kinds("x", kinds.POSITIONAL_OR_KEYWORD)]
    if parameter:
        parameters.append(kinds(parameter, kinds.POSITIONAL_OR_KEYWORD, default=default))
    return inspect.Signature(parameters + [kinds("out", kinds.KEYWORD_ONLY, default=None)])


relu = _activation("relu", "max(x, 0), element by element.",
                   ("ops.relu(x)", "array([0., 0., 2.], dtype=float32)"))
sigmoid = _activation("sigmoid", "1 / (1 + exp(-x)), element by element (stable for any x).",
                      ("ops.sigmoid(x).round(4)", "array([0.2689, 0.5   , 0.8808], dtype=float32)"))
tanh = _activation("tanh", "The hyperbolic tangent of x, element by element.",
                   ("ops.tanh(x).round(4)", "array([-0.7616,  0.    ,  0.964 ], dtype=float32)"))
silu = _activation("silu", "x * sigmoid(x), element by element; swish is the same function.",
                   ("ops.silu(x).round(4)", "array([-0.2689,  0.    ,  1.7616], dtype=float32)"))
swish = silu
softplus = _activation("softplus", "log(1 + exp(x)), element by element (stable for any x).",
                       ("ops.softplus(x).round(4)", "array([0.3133, 0.6931, 2.1269], "
                        "dtype=float32)"))
softsign = _activation("softsign", "x / (1 + |x|), element by element.",
                       ("ops.softsign(x).round(4)",
                        "array([-0.5   ,  0.    ,  0.6667], dtype=float32)"))
selu = _activation("selu", "scale * (x if x > 0 else alpha * expm1(x)), element by element, "
                   "Keras's constants.",
                   ("ops.selu(x).round(4)", "array([-1.1113,  0.    ,  2.1014], dtype=float32)"))
hard_sigmoid = _activation("hard_sigmoid", "clip(x / 6 + 0.5, 0, 1), element by element (as "
                           "Keras 3).", ("ops.hard_sigmoid(x).round(4)",
                                         "array([0.3333, 0.5   , 0.8333], dtype=float32)"))
exponential = _activation("exponential", "exp(x), element by element.",
                          ("ops.exponential(x).round(4)",
                           "array([0.3679, 1.    , 7.3891], dtype=float32)"))
elu = _activation("elu", "x where x > 0, else alpha * (exp(x) - 1), element by element.",
                  ("ops.elu(x).round(4)", "array([-0.6321,  0.    ,  2.    ], dtype=float32)"), 1.0,
                  "alpha", "the value elu approaches as x goes to -inf is -alpha")
leaky_relu = _activation("leaky_relu", "x where x > 0, else negative_slope * x, element by "
                         "element.", ("ops.leaky_relu(x)",
                                      "array([-0.2,  0. ,  2. ], dtype=float32)"),
                         0.2, "negative_slope", "the slope below 0 (its old name alpha= still "
                         "works, with a DeprecationWarning)")


def relu6(x: TensorLike) -> Tensor:
    """min(max(x, 0), 6), element by element.

    Args:
        x: Array-like, Variable or SymbolicTensor of real numbers or booleans.

    Returns:
        An array of x's shape, of x's float dtype (ints and bools: floatx, float32); a
        SymbolicTensor when x is symbolic.

    Raises:
        TypeError: When x is not real numbers or booleans.

    Example:
        >>> import numpy as np
        >>> from nerve import ops
        >>> ops.relu6(np.array([-1.0, 3.0, 8.0], "float32"))
        array([0., 3., 6.], dtype=float32)
    """
    return clip(relu(x), 0.0, 6.0)


def gelu(x: TensorLike, approximate: bool = True, out: Optional[np.ndarray] = None) -> Tensor:
    """The Gaussian error linear unit x * P(X <= x), X standard normal, element by element.

    Args:
        x: Array-like, Variable or SymbolicTensor of real numbers or booleans.
        approximate: Bool, default True (Keras's default): the tanh form
            0.5 x (1 + tanh(sqrt(2 / pi) (x + 0.044715 x^3))); False: the exact erf form.
        out: A NumPy array to write the result into, default None (arrays only: x's shape,
            float32 when x is float32 else float64, C-contiguous, writable; it may be x).

    Returns:
        An array of x's shape, of x's float dtype (ints and bools: floatx, float32), or `out`
        when given; a SymbolicTensor when x is symbolic (a graph node, with its gradient).

    Raises:
        TypeError: When x is not real numbers or booleans, or out is not an array of the
            result's dtype.
        ValueError: When out has another shape, or is not C-contiguous, aligned and writable.

    Example:
        >>> import numpy as np
        >>> from nerve import ops
        >>> x = np.array([-1.0, 0.0, 2.0], "float32")
        >>> ops.gelu(x).round(4)
        array([-0.1588,  0.    ,  1.9546], dtype=float32)
        >>> ops.gelu(x, approximate=False).round(4)
        array([-0.1587,  0.    ,  1.9545], dtype=float32)
    """
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
    """exp(x) / sum(exp(x)) along `axis`, computed stably (x - max first).

    Args:
        x: Array-like, Variable or SymbolicTensor of real numbers or booleans, at least 1-D.
        axis: Int, default -1 (the last axis): the axis whose entries sum to 1.
        out: A NumPy array to write the result into, default None (arrays only: x's shape,
            float32 when x is float32 else float64, C-contiguous, writable).

    Returns:
        An array of x's shape, of x's float dtype (ints and bools: floatx, float32), or `out`
        when given; a SymbolicTensor when x is symbolic (a graph node, with its gradient).

    Raises:
        ValueError: When axis is None or out of range, x is a scalar, or out has another
            shape or layout or is read-only.
        TypeError: When x is not real numbers or booleans, or out is not an array of the
            result's dtype.

    Example:
        >>> import numpy as np
        >>> from nerve import ops
        >>> ops.softmax(np.array([[0.0, 0.0], [0.0, 1.0]], "float32")).round(4)
        array([[0.5   , 0.5   ],
               [0.2689, 0.7311]], dtype=float32)
    """
    if axis is None:
        raise ValueError("ops.softmax: expected an int axis, received None")
    if out is not None:
        return kernels.softmax(x, axis=axis, out=out)
    return apply(_SOFTMAX, [x], axis=int(axis))


def log_softmax(x: TensorLike, axis: int = -1) -> Tensor:
    """x - logsumexp(x) along `axis`: the log of softmax without its underflow.

    Args:
        x: Array-like, Variable or SymbolicTensor of real numbers or booleans.
        axis: Int, default -1 (the last axis): the axis softmax normalizes.

    Returns:
        An array of x's shape, of x's float dtype (ints and bools: floatx, float32); a
        SymbolicTensor when x is symbolic (a graph node, with its gradient).

    Raises:
        ValueError: When axis is out of range.
        TypeError: When x is not real numbers or booleans.

    Example:
        >>> import numpy as np
        >>> from nerve import ops
        >>> ops.log_softmax(np.array([0.0, 0.0], "float32")).round(4)
        array([-0.6931, -0.6931], dtype=float32)
    """
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
    """The binary cross-entropy -(t log(p) + (1 - t) log(1 - p)) of each element.

    Probabilities are clipped to [1e-7, 1 - 1e-7] as Keras clips them; from_logits uses the
    exact stable form max(z, 0) - z t + log(1 + exp(-|z|)) (as Keras on torch). Per element:
    nothing is averaged.

    Args:
        target: Array-like, Variable or SymbolicTensor of labels in [0, 1].
        output: Of target's shape: probabilities, or logits when from_logits.
        from_logits: Bool, default False: whether output is logits (before a sigmoid).

    Returns:
        An array of their shape in their common float dtype (floatx for ints); a
        SymbolicTensor when an argument is symbolic (a graph node, with its gradient).

    Raises:
        ValueError: When target and output differ in shape (a batch None matches any size).
        TypeError: When an argument is not real numbers or booleans.

    Example:
        >>> import numpy as np
        >>> from nerve import ops
        >>> target = np.array([1.0, 0.0], "float32")
        >>> ops.binary_crossentropy(target, np.array([0.9, 0.2], "float32")).round(4)
        array([0.1054, 0.2231], dtype=float32)
    """
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
    """The categorical cross-entropy -sum(t log(p)) of one-hot (or soft) targets along `axis`.

    Probabilities are first scaled to sum to 1 along axis and clipped to [1e-7, 1 - 1e-7]
    as Keras does; from_logits uses log_softmax (stable for any logits).

    Args:
        target: Array-like, Variable or SymbolicTensor: class probabilities along axis.
        output: Of target's shape: probabilities, or logits when from_logits.
        from_logits: Bool, default False: whether output is logits (before a softmax).
        axis: Int, default -1: the class axis.

    Returns:
        An array of their shape without axis, in their common float dtype (floatx for ints);
        a SymbolicTensor when an argument is symbolic (a graph node, with its gradient).

    Raises:
        ValueError: When target and output differ in shape (a batch None matches any size),
            or axis is out of range.
        TypeError: When an argument is not real numbers or booleans.

    Example:
        >>> import numpy as np
        >>> from nerve import ops
        >>> target = np.array([[0.0, 1.0], [1.0, 0.0]], "float32")
        >>> output = np.array([[0.2, 0.8], [0.5, 0.5]], "float32")
        >>> ops.categorical_crossentropy(target, output).round(4)
        array([0.2231, 0.6931], dtype=float32)
    """
    _same_shapes("categorical_crossentropy", target, output)
    return negative(reduce_sum(multiply(target, _log_probabilities(output, from_logits, axis)),
                               axis=axis))


def sparse_categorical_crossentropy(target: TensorLike, output: TensorLike, from_logits: bool = False,
                                    axis: int = -1) -> Tensor:
    """As categorical_crossentropy, with integer class labels instead of one-hot targets.

    Labels outside [0, classes) give a row of zeros as target (a loss of 0, as one_hot).

    Args:
        target: Array-like, Variable or SymbolicTensor of integer labels (floats are
            truncated to ints): output's shape without axis, or with a trailing 1.
        output: Probabilities along axis, or logits when from_logits.
        from_logits: Bool, default False: whether output is logits (before a softmax).
        axis: Int, default -1: output's class axis.

    Returns:
        An array of output's shape without axis, of output's float dtype (float32 for ints);
        a SymbolicTensor when an argument is symbolic (a graph node, with its gradient).

    Raises:
        ValueError: When target's shape is not output's without axis, or axis is out of
            range.
        TypeError: When an argument is not real numbers or booleans.

    Example:
        >>> import numpy as np
        >>> from nerve import ops
        >>> output = np.array([[0.2, 0.8], [0.5, 0.5]], "float32")
        >>> ops.sparse_categorical_crossentropy(np.array([1, 0]), output).round(4)
        array([0.2231, 0.6931], dtype=float32)
    """
    target_ndim, output_ndim = len(np.shape(target)), len(np.shape(output))
    if target_ndim == output_ndim and np.shape(target)[-1] == 1:
        target = squeeze(target, axis=-1)
    classes = np.shape(output)[axis]
    hot = one_hot(cast(target, "int64"), classes, axis=axis, dtype=_float_dtype(output))
    return categorical_crossentropy(hot, output, from_logits=from_logits, axis=axis)


def _float_dtype(value):
    dtype = np.dtype(value.dtype if hasattr(value, "dtype") else np.asarray(value).dtype)
    return dtype.name if dtype.kind == "f" else "float32"

