"""Core layers (keras.layers): Input, Dense, Activation, Dropout, Flatten.

A built Dense layer's kernel (in, units) and bias are Variables; `layer.kernel` is the array
itself, a view into the model's flat parameter buffer once the layer is in a model.
"""
import math
import numbers
from typing import Any, Dict, Optional, Sequence, Tuple

import numpy as np

from .. import activations, constraints, initializers, regularizers, utils
from .._typing import Activation as ActivationLike
from .._typing import DTypeLike
from ..graph import Node, SymbolicTensor
from .layer import Layer, Shape, ShapeLike, unique_name

__all__ = ["InputLayer", "Input", "Dense", "Activation", "Dropout", "Flatten"]


class InputLayer(Layer):
    """The source of a model's input tensor (`Input` makes one and returns its tensor).

    Args:
        shape: Tuple of positive ints, the shape of one sample (no batch), default None
            (then batch_shape is required).
        batch_size: Int, default None: recorded in `batch_shape` only (nerve takes any
            batch size).
        dtype: "float32" or "float64" (default None: nerve.utils.floatx()), or "int32" /
            "int64" for indices fed to an Embedding.
        batch_shape: Tuple, default None: (batch_size,) + shape, overriding both.
        name: str, default None ("input_layer", "input_layer_1", ...).
        **kwargs: The base Layer's arguments (trainable).

    Raises:
        ValueError: When neither shape nor batch_shape is given, a size is not a positive
            int, or the dtype is not one of those.

    Example:
        >>> import nerve
        >>> layer = nerve.layers.InputLayer(shape=(3,))
        >>> layer.output.shape, layer.batch_shape
        ((None, 3), (None, 3))
    """

    def __init__(self, shape: Optional[Sequence[int]] = None, batch_size: Optional[int] = None,
                 dtype: Optional[DTypeLike] = None,
                 batch_shape: Optional[Sequence[Optional[int]]] = None,
                 name: Optional[str] = None, **kwargs: Any) -> None:
        if batch_shape is not None:
            batch_shape = tuple(batch_shape)
            shape, batch_size = batch_shape[1:], batch_shape[0]  # type: ignore[assignment]
        if shape is None:
            raise ValueError("shape: expected the shape of one sample, such as (8,)")
        super().__init__(name=name or unique_name("input_layer"), input_shape=shape, **kwargs)
        self.dtype = utils.standardize_dtype(dtype or utils.floatx(), integers=True)
        assert self._input_shape_arg is not None  # shape is required above
        self.batch_shape = (batch_size,) + self._input_shape_arg
        self.built = True
        tensor = SymbolicTensor((None,) + self._input_shape_arg, self.dtype, self.name)
        self._inbound_nodes.append(Node(self, [], [tensor], None))

    def get_config(self) -> Dict[str, Any]:
        return {"batch_shape": list(self.batch_shape), "dtype": self.dtype, "name": self.name}


def Input(shape: Optional[Sequence[int]] = None, batch_size: Optional[int] = None,
          dtype: Optional[DTypeLike] = None,
          batch_shape: Optional[Sequence[Optional[int]]] = None,
          name: Optional[str] = None) -> SymbolicTensor:
    """A symbolic input tensor, the start of a functional model (as keras.Input).

    Call layers on it, then make Model(inputs, outputs); it may also be the first entry of
    Sequential([Input(shape=(8,)), ...]).

    Args:
        shape: Tuple of positive ints, the shape of one sample (no batch), default None
            (then batch_shape is required).
        batch_size: Int, default None: recorded only (nerve takes any batch size).
        dtype: Default None (nerve.utils.floatx()); "int32" or "int64" for Embedding
            indices.
        batch_shape: Tuple, default None: (batch_size,) + shape, overriding both.
        name: str, default None ("input_layer", "input_layer_1", ...).

    Returns:
        A SymbolicTensor of shape (None,) + shape.

    Raises:
        ValueError: When neither shape nor batch_shape is given, a size is not a positive
            int, or the dtype is not float32, float64, int32 or int64.

    Example:
        >>> import nerve
        >>> inputs = nerve.layers.Input(shape=(4,))
        >>> outputs = nerve.layers.Dense(2)(inputs)
        >>> inputs.shape, outputs.shape
        ((None, 4), (None, 2))
    """
    return InputLayer(shape, batch_size, dtype, batch_shape, name).output


class KernelLayer(Layer):
    """A layer with Keras's `kernel` and optional `bias` weights and their options."""

    def _weight_options(self, use_bias, kernel_initializer, bias_initializer, kernel_regularizer,
                        bias_regularizer, kernel_constraint, bias_constraint):
        self.use_bias = bool(use_bias)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.bias_constraint = constraints.get(bias_constraint)
        self._kernel = self._bias = None

    @property
    def kernel(self) -> Optional[np.ndarray]:
        """The kernel's array (a view into the model's parameters), None before build.

        Returns:
            The array itself: writing into it changes the layer.

        Example:
            >>> import nerve
            >>> layer = nerve.layers.Dense(3)
            >>> layer.kernel is None, layer.build((None, 2)), layer.kernel.shape
            (True, None, (2, 3))
        """
        return None if self._kernel is None else self._kernel.value

    @property
    def bias(self) -> Optional[np.ndarray]:
        """The bias's array, None before build or with use_bias=False.

        Returns:
            The array itself: writing into it changes the layer.

        Example:
            >>> import nerve
            >>> layer = nerve.layers.Dense(3, use_bias=False)
            >>> layer.build((None, 2))
            >>> layer.bias is None
            True
        """
        return None if self._bias is None else self._bias.value

    def _add_kernel_and_bias(self, kernel_shape):
        """The kernel of `kernel_shape` and, with use_bias, a bias of its last dimension."""
        self._kernel = self.add_weight(kernel_shape, self.kernel_initializer,
                                       regularizer=self.kernel_regularizer,
                                       constraint=self.kernel_constraint, name="kernel")
        if self.use_bias:
            self._bias = self.add_weight(kernel_shape[-1:], self.bias_initializer,
                                         regularizer=self.bias_regularizer,
                                         constraint=self.bias_constraint, name="bias")

    def _weight_config(self):
        optional = lambda value: value and utils.serialize(value)  # noqa: E731
        return {"use_bias": self.use_bias,
                "kernel_initializer": utils.serialize(self.kernel_initializer),
                "bias_initializer": utils.serialize(self.bias_initializer),
                "kernel_regularizer": optional(self.kernel_regularizer),
                "bias_regularizer": optional(self.bias_regularizer),
                "kernel_constraint": optional(self.kernel_constraint),
                "bias_constraint": optional(self.bias_constraint)}


class Dense(KernelLayer):
    """The fully connected layer: y = activation(x @ kernel + bias), one kernel call.

    Input shape: (batch, input_dim), 2-D only (unlike Keras, which also takes (batch, ...,
    input_dim): add a Flatten before it). Output shape: (batch, units). Weights: kernel
    (input_dim, units), then bias (units,).

    Args:
        units: Positive int, the output size.
        activation: Name or nerve.activations function, default None (linear); the kernels
            implement the built-in ones only, so another callable is refused.
        use_bias: bool, default True.
        kernel_initializer: Default "glorot_uniform".
        bias_initializer: Default "zeros".
        kernel_regularizer: Default None.
        bias_regularizer: Default None.
        kernel_constraint: Default None.
        bias_constraint: Default None.
        **kwargs: The base Layer's arguments (name, trainable, dtype, input_shape,
            input_dim).

    Raises:
        ValueError: When units is not a positive int, the activation or an initializer,
            regularizer or constraint is unknown; when called, on inputs not 2-D or with
            other features than it was built for.

    Example:
        >>> import numpy as np, nerve
        >>> layer = nerve.layers.Dense(3, activation="relu")
        >>> layer(np.ones((2, 4), "float32")).shape
        (2, 3)
        >>> layer.kernel.shape, layer.bias.shape
        ((4, 3), (3,))
    """

    def __init__(self, units: int, activation: ActivationLike = None, use_bias: bool = True,
                 kernel_initializer: Any = "glorot_uniform", bias_initializer: Any = "zeros",
                 kernel_regularizer: Any = None, bias_regularizer: Any = None,
                 kernel_constraint: Any = None, bias_constraint: Any = None,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.units = utils.size_argument(units, "units")
        self.activation = activations.get(activation)
        self._activation_name, self._alpha = activations.kernel_args(self.activation)
        self._weight_options(use_bias, kernel_initializer, bias_initializer, kernel_regularizer,
                             bias_regularizer, kernel_constraint, bias_constraint)

    @property
    def output_activation(self) -> str:  # type: ignore[override]  # Layer: a class attribute
        """The name of the activation ending the layer (a loss may fuse with it).

        Returns:
            A str, "linear" without an activation.

        Example:
            >>> import nerve
            >>> nerve.layers.Dense(3, activation="softmax").output_activation
            'softmax'
        """
        return self._activation_name

    def compute_output_shape(self, input_shape: ShapeLike) -> Shape:
        if len(input_shape) != 2:
            raise ValueError(f"{self.name}: Dense takes inputs of shape (batch, features), "
                             f"received {tuple(input_shape)}; add a Flatten layer before it")
        return (input_shape[0], self.units)

    def _check_input_shapes(self, shapes):
        if self._kernel is not None and len(shapes[0]) == 2 \
                and shapes[0][-1] != self._kernel.shape[0]:
            raise ValueError(f"input: layer {self.name!r} takes {self._kernel.shape[0]} "
                             f"features, received {shapes[0][-1]}")

    def build(self, input_shape: ShapeLike) -> None:
        self.compute_output_shape(input_shape)  # validates before any weight exists
        self._add_kernel_and_bias((input_shape[-1], self.units))
        self.built = True

    def get_config(self) -> Dict[str, Any]:
        return {**super().get_config(), "units": self.units,
                "activation": activations.serialize(self.activation), **self._weight_config()}

    def _forward(self, lowering, x, training):
        y = lowering.empty((x.shape[0], self.units), self.dtype)
        z = y if self._activation_name == "linear" else lowering.empty_like(y)
        call = (lowering.backend.dense_forward,
                (y, x, self.kernel, self.bias, self._activation_name, self._alpha, z))
        return y, [call], (x, z, y)

    def _backward(self, lowering, context, dy, need_dx, fused):
        x, z, y = context
        dx = lowering.empty_like(x) if need_dx else None
        dw, accumulate = lowering.grad(self._kernel)
        db = lowering.grad(self._bias)[0] if self.use_bias else None
        activation = "linear" if fused else self._activation_name
        call = (lowering.backend.dense_backward, (dx, dw, db, dy, dy, x, self.kernel, z, y,
                                                  activation, self._alpha, accumulate))
        return dx, [call]

    def _logits(self, context):
        return context[1]


class KernelActivation(Layer):
    """Base of the layers computed by the backend's activation kernels (element-wise, softmax
    over the last axis): a subclass sets `_activation_name` and `_alpha` (the kernels' slope,
    elu alpha or step threshold). Its name is the output activation a loss may fuse with."""

    _activation_name: Optional[str] = "linear"
    _alpha = 0.0

    @property
    def output_activation(self):
        return self._activation_name

    def _forward(self, lowering, x, training):
        y = lowering.empty_like(x)
        call = (lowering.backend.activation_forward, (y, x, self._activation_name, self._alpha))
        return y, [call], (x, y)

    def _backward(self, lowering, context, dy, need_dx, fused):
        if not need_dx or fused:
            return (dy if need_dx else None), []
        x, y = context
        # The plan gives each layer a dy of its own: the kernel may overwrite it with dx.
        return dy, [(lowering.backend.activation_backward,
                     (dy, dy, x, y, self._activation_name, self._alpha))]

    def _logits(self, context):
        return context[0]


class Activation(KernelActivation):
    """Applies an activation function element-wise (softmax: over the last axis).

    Input shape: any. Output shape: the input's.

    Args:
        activation: Name or nerve.activations function ("relu", "sigmoid", "softmax", ...);
            None is linear. The kernels implement the built-in ones only.
        **kwargs: The base Layer's arguments (name, trainable, dtype, input_shape).

    Raises:
        ValueError: When the activation is unknown or another callable.

    Example:
        >>> import numpy as np, nerve
        >>> nerve.layers.Activation("relu")(np.array([[-1.0, 2.0]], "float32"))
        array([[0., 2.]], dtype=float32)
    """

    def __init__(self, activation: ActivationLike, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.activation = activations.get(activation)
        self._activation_name, self._alpha = activations.kernel_args(self.activation)

    def get_config(self) -> Dict[str, Any]:
        return {**super().get_config(), "activation": activations.serialize(self.activation)}


class Dropout(Layer):
    """Zeroes a `rate` fraction of the inputs in training and scales the rest by 1/(1 - rate).

    It does nothing in predict and evaluate (training=False). Input shape: any. Output
    shape: the input's.

    Args:
        rate: Float in [0, 1), the fraction of values dropped.
        noise_shape: Tuple, default None (the input's shape): the mask's shape, None entries
            taken from the input, broadcast over the axes of size 1, as Keras: (None, 1,
            features) drops the same features at every timestep.
        seed: Int, default None: a generator of the layer's own (otherwise the one
            nerve.utils.set_random_seed seeds).
        **kwargs: The base Layer's arguments (name, trainable, dtype, input_shape).

    Raises:
        ValueError: When rate is not in [0, 1) or noise_shape not a tuple of ints >= 1 or
            None; when called, if noise_shape does not fit the inputs.

    Example:
        >>> import numpy as np, nerve
        >>> layer = nerve.layers.Dropout(0.5, seed=0)
        >>> x = np.ones((2, 4), "float32")
        >>> layer(x, training=True).shape
        (2, 4)
        >>> sorted(set(layer(x, training=True).ravel().tolist()) - {0.0})
        [2.0]
        >>> layer(x).tolist() == x.tolist()
        True
    """

    def __init__(self, rate: float, noise_shape: Optional[Sequence[Optional[int]]] = None,
                 seed: Optional[int] = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if not (isinstance(rate, numbers.Real) and 0 <= rate < 1):
            raise ValueError(f"rate: expected a number in [0, 1), received {rate!r}")
        if noise_shape is not None:
            if not isinstance(noise_shape, (list, tuple)) or not all(
                    d is None or (isinstance(d, numbers.Integral) and not isinstance(d, bool)
                                  and d >= 1) for d in noise_shape):
                raise ValueError(f"noise_shape: expected a tuple of ints >= 1 or None, "
                                 f"received {noise_shape!r}")
            noise_shape = tuple(None if d is None else int(d) for d in noise_shape)
        self.rate: float = float(rate)
        self.seed: Optional[int] = seed
        self.noise_shape: Optional[Tuple[Optional[int], ...]] = noise_shape
        self._generator = None if seed is None else np.random.default_rng(seed)

    def get_config(self) -> Dict[str, Any]:
        return {**super().get_config(), "rate": self.rate, "noise_shape": self.noise_shape,
                "seed": self.seed}

    def _check_input_shapes(self, shapes):
        self._mask_shape(shapes[0])

    def _mask_shape(self, shape):
        """The mask's shape for inputs of `shape` (None entries: unknown batch size)."""
        if self.noise_shape is None:
            return tuple(shape)
        if len(self.noise_shape) != len(shape):
            raise ValueError(f"noise_shape: expected {len(shape)} entries for inputs of shape "
                             f"{tuple(shape)}, received {self.noise_shape}")
        mask = tuple(d if n is None else n for n, d in zip(self.noise_shape, shape))
        if any(m is not None and d is not None and m not in (1, d) for m, d in zip(mask, shape)):
            raise ValueError(f"noise_shape: each entry must be None, 1 or the input's size, "
                             f"received {self.noise_shape} for inputs of shape {tuple(shape)}")
        return mask

    def _forward(self, lowering, x, training):
        if not training or self.rate == 0:
            return x, [], None
        y, mask = lowering.empty_like(x), lowering.empty(self._mask_shape(x.shape), x.dtype)
        generator = self._generator or utils.generator()
        rate, scale, dtype = self.rate, 1.0 / (1.0 - self.rate), x.dtype

        def drop():
            generator.random(dtype=dtype, out=mask)
            np.greater_equal(mask, rate, out=mask)
            np.multiply(mask, scale, out=mask)
            np.multiply(x, mask, out=y)  # broadcasts a noise_shape mask
        return y, [(drop, ())], mask

    def _backward(self, lowering, mask, dy, need_dx, fused):
        if not need_dx or mask is None:
            return (dy if need_dx else None), []
        return dy, [(np.multiply, (dy, mask, dy))]


class Flatten(Layer):
    """(batch, d1, d2, ...) -> (batch, d1 * d2 * ...), as a view: it costs nothing.

    Keras's data_format argument is not taken (the values keep their order in memory).

    Args:
        **kwargs: The base Layer's arguments (name, trainable, dtype, input_shape).

    Raises:
        ValueError: For an unknown keyword argument.

    Example:
        >>> import numpy as np, nerve
        >>> nerve.layers.Flatten()(np.ones((2, 3, 4), "float32")).shape
        (2, 12)
    """

    def compute_output_shape(self, input_shape: ShapeLike) -> Shape:
        return (input_shape[0], math.prod(input_shape[1:]))

    def _forward(self, lowering, x, training):
        return x.reshape(x.shape[0], -1), [], x.shape

    def _backward(self, lowering, input_shape, dy, need_dx, fused):
        return (dy.reshape(input_shape) if need_dx else None), []

