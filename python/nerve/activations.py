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
    return _apply("linear", x)


def relu(x: ArrayLike) -> np.ndarray:
    return _apply("relu", x)


def leaky_relu(x: ArrayLike, negative_slope: float = 0.2) -> np.ndarray:
    return _apply("leaky_relu", x, negative_slope)


def elu(x: ArrayLike, alpha: float = 1.0) -> np.ndarray:
    return _apply("elu", x, alpha)


def selu(x: ArrayLike) -> np.ndarray:
    return _apply("selu", x)


def sigmoid(x: ArrayLike) -> np.ndarray:
    return _apply("sigmoid", x)


def hard_sigmoid(x: ArrayLike) -> np.ndarray:
    """clip(x / 6 + 0.5, 0, 1), as Keras 3."""
    return _apply("hard_sigmoid", x)


def tanh(x: ArrayLike) -> np.ndarray:
    return _apply("tanh", x)


def softplus(x: ArrayLike) -> np.ndarray:
    return _apply("softplus", x)


def softsign(x: ArrayLike) -> np.ndarray:
    return _apply("softsign", x)


def silu(x: ArrayLike) -> np.ndarray:
    return _apply("silu", x)


def gelu(x: ArrayLike, approximate: bool = False) -> np.ndarray:
    return _apply("gelu_tanh" if approximate else "gelu", x)


def exponential(x: ArrayLike) -> np.ndarray:
    return _apply("exponential", x)


def softmax(x: ArrayLike, axis: int = -1) -> np.ndarray:
    if axis not in (-1, np.ndim(x) - 1):
        raise ValueError(f"axis: expected the last axis (-1), received {axis}")
    return _apply("softmax", x)


def step(x: ArrayLike, threshold: float = 0.0) -> np.ndarray:
    """1 where x >= threshold, else 0 (forward only: not trainable)."""
    return _apply("step", x, threshold)


swish = silu
_FUNCTIONS = (linear, relu, leaky_relu, elu, selu, sigmoid, hard_sigmoid, tanh, softplus,
              softsign, silu, gelu, exponential, softmax, step)
_REGISTRY = {**{f.__name__: f for f in _FUNCTIONS}, "swish": silu}
# The kernel's alpha when a layer uses the function by name: Keras's default arguments.
_DEFAULT_ALPHA = {"leaky_relu": 0.2, "elu": 1.0}


def get(identifier: Union[Activation, Dict[str, Any]]) -> Callable[..., np.ndarray]:
    """The activation function for a name, one of these functions, or None (linear)."""
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
    """The Keras name of an activation function."""
    return get(activation).__name__


deserialize = get


def kernel_args(activation: Activation) -> Tuple[str, float]:
    """(kernel name, alpha) for the dense and activation kernels."""
    name = get(activation).__name__
    return name, _DEFAULT_ALPHA.get(name, 0.0)
