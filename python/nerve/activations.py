"""Activation functions (keras.activations), computed by the active backend's kernels.

Layers take them by name (`Dense(10, activation="relu")`) or as these functions; models fuse
them into the dense kernels. `step` (1 where x >= threshold, else 0) is nerve's addition: it
has no derivative, so a model using it can predict but not train.
"""
from typing import Any, Callable, Dict, Tuple, Union

import numpy as np

from ._typing import Activation, ArrayLike
from .backend import get_backend

__all__ = ["linear", "relu", "leaky_relu", "elu", "selu", "sigmoid", "hard_sigmoid", "tanh",
           "softplus", "softsign", "silu", "swish", "gelu", "exponential", "softmax", "step",
           "get", "serialize", "deserialize"]


def _apply(name: str, x: ArrayLike, alpha: float = 0.0) -> np.ndarray:
    """name applied to a float copy of x along its last axis (softmax is row-wise)."""
    x = np.asarray(x)
    if x.dtype not in (np.float32, np.float64):
        x = x.astype(np.float32)
    rows = np.ascontiguousarray(x.reshape(-1, x.shape[-1]) if x.ndim else x.reshape(1, 1))
    out = np.empty_like(rows)
    get_backend().activation_forward(out, rows, name, alpha)
    return out.reshape(x.shape)


def linear(x: ArrayLike) -> np.ndarray:
    """x itself, as a new float array (the identity).

    Args:
        x: Array-like (computed in float32, or float64 when x is float64).

    Returns:
        A new array of x's shape and that dtype.

    Example:
        >>> import numpy as np, nerve
        >>> nerve.activations.linear([1, 2])
        array([1., 2.], dtype=float32)
    """
    return _apply("linear", x)


def relu(x: ArrayLike) -> np.ndarray:
    """max(x, 0), element-wise.

    Args:
        x: Array-like (computed in float32, or float64 when x is float64).

    Returns:
        A new array of x's shape and that dtype.

    Example:
        >>> import numpy as np, nerve
        >>> nerve.activations.relu(np.array([-1.0, 2.0]))
        array([0., 2.])
    """
    return _apply("relu", x)


def leaky_relu(x: ArrayLike, negative_slope: float = 0.2) -> np.ndarray:
    """x where x >= 0, negative_slope * x elsewhere.

    Args:
        x: Array-like (computed in float32, or float64 when x is float64).
        negative_slope: Float, default 0.2.

    Returns:
        A new array of x's shape and that dtype.

    Example:
        >>> import numpy as np, nerve
        >>> nerve.activations.leaky_relu(np.array([-1.0, 2.0]))
        array([-0.2,  2. ])
    """
    return _apply("leaky_relu", x, negative_slope)


def elu(x: ArrayLike, alpha: float = 1.0) -> np.ndarray:
    """x where x > 0, alpha * (exp(x) - 1) elsewhere.

    Args:
        x: Array-like (computed in float32, or float64 when x is float64).
        alpha: Float, default 1.0.

    Returns:
        A new array of x's shape and that dtype.

    Example:
        >>> import numpy as np, nerve
        >>> nerve.activations.elu(np.array([0.0, 2.0]))
        array([0., 2.])
    """
    return _apply("elu", x, alpha)


def selu(x: ArrayLike) -> np.ndarray:
    """scale * elu(x, alpha), with Keras's constants (scale ~ 1.0507, alpha ~ 1.6733).

    Args:
        x: Array-like (computed in float32, or float64 when x is float64).

    Returns:
        A new array of x's shape and that dtype.

    Example:
        >>> import numpy as np, nerve
        >>> nerve.activations.selu(np.array([0.0, 1.0])).round(4)
        array([0.    , 1.0507])
    """
    return _apply("selu", x)


def sigmoid(x: ArrayLike) -> np.ndarray:
    """1 / (1 + exp(-x)), element-wise.

    Args:
        x: Array-like (computed in float32, or float64 when x is float64).

    Returns:
        A new array of x's shape and that dtype.

    Example:
        >>> import numpy as np, nerve
        >>> nerve.activations.sigmoid(np.array([0.0]))
        array([0.5])
    """
    return _apply("sigmoid", x)


def hard_sigmoid(x: ArrayLike) -> np.ndarray:
    """clip(x / 6 + 0.5, 0, 1), as Keras 3.

    Args:
        x: Array-like (computed in float32, or float64 when x is float64).

    Returns:
        A new array of x's shape and that dtype.

    Example:
        >>> import numpy as np, nerve
        >>> nerve.activations.hard_sigmoid(np.array([-3.0, 0.0, 3.0]))
        array([0. , 0.5, 1. ])
    """
    return _apply("hard_sigmoid", x)


def tanh(x: ArrayLike) -> np.ndarray:
    """The hyperbolic tangent, element-wise.

    Args:
        x: Array-like (computed in float32, or float64 when x is float64).

    Returns:
        A new array of x's shape and that dtype.

    Example:
        >>> import numpy as np, nerve
        >>> nerve.activations.tanh(np.array([0.0]))
        array([0.])
    """
    return _apply("tanh", x)


def softplus(x: ArrayLike) -> np.ndarray:
    """log(1 + exp(x)), element-wise (computed without overflow).

    Args:
        x: Array-like (computed in float32, or float64 when x is float64).

    Returns:
        A new array of x's shape and that dtype.

    Example:
        >>> import numpy as np, nerve
        >>> nerve.activations.softplus(np.array([0.0])).round(4)
        array([0.6931])
    """
    return _apply("softplus", x)


def softsign(x: ArrayLike) -> np.ndarray:
    """x / (1 + |x|), element-wise.

    Args:
        x: Array-like (computed in float32, or float64 when x is float64).

    Returns:
        A new array of x's shape and that dtype.

    Example:
        >>> import numpy as np, nerve
        >>> nerve.activations.softsign(np.array([1.0, -3.0]))
        array([ 0.5 , -0.75])
    """
    return _apply("softsign", x)


def silu(x: ArrayLike) -> np.ndarray:
    """x * sigmoid(x) (also called swish), element-wise.

    Args:
        x: Array-like (computed in float32, or float64 when x is float64).

    Returns:
        A new array of x's shape and that dtype.

    Example:
        >>> import numpy as np, nerve
        >>> nerve.activations.silu(np.array([0.0]))
        array([0.])
    """
    return _apply("silu", x)


def gelu(x: ArrayLike, approximate: bool = False) -> np.ndarray:
    """The Gaussian error linear unit x * P(X <= x), X ~ N(0, 1).

    Args:
        x: Array-like (computed in float32, or float64 when x is float64).
        approximate: Bool, default False: the tanh approximation instead of the exact erf.

    Returns:
        A new array of x's shape and that dtype.

    Example:
        >>> import numpy as np, nerve
        >>> nerve.activations.gelu(np.array([0.0]))
        array([0.])
    """
    return _apply("gelu_tanh" if approximate else "gelu", x)


def exponential(x: ArrayLike) -> np.ndarray:
    """exp(x), element-wise.

    Args:
        x: Array-like (computed in float32, or float64 when x is float64).

    Returns:
        A new array of x's shape and that dtype.

    Example:
        >>> import numpy as np, nerve
        >>> nerve.activations.exponential(np.array([0.0]))
        array([1.])
    """
    return _apply("exponential", x)


def softmax(x: ArrayLike, axis: int = -1) -> np.ndarray:
    """exp(x) / sum(exp(x)) over the last axis (each row sums to 1).

    Args:
        x: Array-like (computed in float32, or float64 when x is float64).
        axis: Int, default -1: the last axis, the only one the kernels normalize over.

    Returns:
        A new array of x's shape and that dtype.

    Raises:
        ValueError: When `axis` is not the last axis.

    Example:
        >>> import numpy as np, nerve
        >>> nerve.activations.softmax(np.array([[0.0, 0.0], [0.0, np.log(3.0)]]))
        array([[0.5 , 0.5 ],
               [0.25, 0.75]])
    """
    if axis not in (-1, np.ndim(x) - 1):
        raise ValueError(f"axis: expected the last axis (-1), received {axis}")
    return _apply("softmax", x)


def step(x: ArrayLike, threshold: float = 0.0) -> np.ndarray:
    """1 where x >= threshold, 0 elsewhere: nerve's addition, forward only.

    It has no derivative: a model using it can predict but not train.

    Args:
        x: Array-like (computed in float32, or float64 when x is float64).
        threshold: Float, default 0.0.

    Returns:
        A new array of x's shape and that dtype.

    Example:
        >>> import numpy as np, nerve
        >>> nerve.activations.step(np.array([-1.0, 0.0, 1.0]))
        array([0., 1., 1.])
    """
    return _apply("step", x, threshold)


swish = silu
_FUNCTIONS = (linear, relu, leaky_relu, elu, selu, sigmoid, hard_sigmoid, tanh, softplus,
              softsign, silu, gelu, exponential, softmax, step)
_REGISTRY = {**{f.__name__: f for f in _FUNCTIONS}, "swish": silu}
# The kernel's alpha when a layer uses the function by name: Keras's default arguments.
_DEFAULT_ALPHA = {"leaky_relu": 0.2, "elu": 1.0}


def get(identifier: Union[Activation, Dict[str, Any]]) -> Callable[..., np.ndarray]:
    """The activation function an identifier names, as Keras's activations.get.

    Args:
        identifier: None (linear), a name ("relu", "swish", ...), one of this module's
            functions, or a Keras config dict ({"class_name": ..., "config": {"name": ...}}).

    Returns:
        One of this module's functions.

    Raises:
        ValueError: When the name is unknown or `identifier` is another callable (the kernels
            implement these functions only).

    Example:
        >>> import nerve
        >>> nerve.activations.get("swish").__name__
        'silu'
        >>> nerve.activations.get(None).__name__
        'linear'
    """
    if identifier is None:
        return linear
    if isinstance(identifier, dict):
        identifier = identifier.get("config", {}).get("name", identifier.get("class_name"))
    if isinstance(identifier, str):
        found = _REGISTRY.get(identifier)
        if found is None:
            raise ValueError(f"Unknown activation {identifier!r}; valid: "
                             f"{', '.join(sorted(_REGISTRY))}")
        return found
    if identifier in _FUNCTIONS:
        return identifier
    raise ValueError(f"activation: expected one of {', '.join(sorted(_REGISTRY))} or the "
                     f"function of that name in nerve.activations (the kernels implement "
                     f"these only), received {identifier!r}")


def serialize(activation: Activation) -> str:
    """The Keras name of an activation function.

    Args:
        activation: As get: None, a name or one of this module's functions.

    Returns:
        The function's name, a str.

    Raises:
        ValueError: As get.

    Example:
        >>> import nerve
        >>> nerve.activations.serialize(nerve.activations.relu)
        'relu'
    """
    return get(activation).__name__


deserialize = get


def kernel_args(activation: Activation) -> Tuple[str, float]:
    """(kernel name, alpha) for the dense and activation kernels.

    Args:
        activation: As get.

    Returns:
        A tuple (name, alpha): Keras's default slope or alpha for leaky_relu and elu, else 0.

    Raises:
        ValueError: As get.

    Example:
        >>> import nerve
        >>> nerve.activations.kernel_args("leaky_relu")
        ('leaky_relu', 0.2)
    """
    name = get(activation).__name__
    return name, _DEFAULT_ALPHA.get(name, 0.0)
