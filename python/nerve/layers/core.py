"""Core layers (keras.layers): Input, Dense, Activation, Dropout, Flatten.

A built Dense layer's kernel (in, units) and bias are Variables; `layer.kernel` is the array
itself, a view into the model's flat parameter buffer once the layer is in a model.
"""
import math
import numbers

import numpy as np

from .. import activations, constraints, initializers, regularizers, utils
from ..graph import Node, SymbolicTensor
from .layer import Layer, unique_name

__all__ = ["InputLayer", "Input", "Dense", "Activation", "Dropout", "Flatten"]


class InputLayer(Layer):
    """The source of a model's input tensor: Input(shape=(8,)) makes one and returns its
    tensor. Its dtype may also be "int32" or "int64": indices for an Embedding."""

    def __init__(self, shape=None, batch_size=None, dtype=None, batch_shape=None, name=None,
                 **kwargs):
        if batch_shape is not None:
            batch_shape = tuple(batch_shape)
            shape, batch_size = batch_shape[1:], batch_shape[0]
        if shape is None:
            raise ValueError("shape: expected the shape of one sample, such as (8,)")
        super().__init__(name=name or unique_name("input_layer"), input_shape=shape, **kwargs)
        self.dtype = utils.standardize_dtype(dtype or utils.floatx(), integers=True)
        self.batch_shape = (batch_size,) + self._input_shape_arg
        self.built = True
        tensor = SymbolicTensor((None,) + self._input_shape_arg, self.dtype, self.name)
        self._inbound_nodes.append(Node(self, [], [tensor], None))

    def get_config(self):
        return {"batch_shape": list(self.batch_shape), "dtype": self.dtype, "name": self.name}


def Input(shape=None, batch_size=None, dtype=None, batch_shape=None, name=None):
    """A symbolic input tensor: `x = Input(shape=(8,))`, then layers called on it and
    Model(x, outputs); also the first entry of Sequential([Input(shape=(8,)), ...])."""
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
    def kernel(self):
        return None if self._kernel is None else self._kernel.value

    @property
    def bias(self):
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
    """y = activation(x @ kernel + bias), kernel (input_dim, units)."""

    def __init__(self, units, activation=None, use_bias=True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None,
                 kernel_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(**kwargs)
        self.units = utils.size_argument(units, "units")
        self.activation = activations.get(activation)
        self._activation_name, self._alpha = activations.kernel_args(self.activation)
        self._weight_options(use_bias, kernel_initializer, bias_initializer, kernel_regularizer,
                             bias_regularizer, kernel_constraint, bias_constraint)

    @property
    def output_activation(self):
        return self._activation_name

    def compute_output_shape(self, input_shape):
        if len(input_shape) != 2:
            raise ValueError(f"{self.name}: Dense takes inputs of shape (batch, features), "
                             f"received {tuple(input_shape)}; add a Flatten layer before it")
        return (input_shape[0], self.units)

    def _check_input_shapes(self, shapes):
        if self._kernel is not None and len(shapes[0]) == 2 \
                and shapes[0][-1] != self._kernel.shape[0]:
            raise ValueError(f"input: layer {self.name!r} takes {self._kernel.shape[0]} "
                             f"features, received {shapes[0][-1]}")

    def build(self, input_shape):
        self.compute_output_shape(input_shape)  # validates before any weight exists
        self._add_kernel_and_bias((input_shape[-1], self.units))
        self.built = True

    def get_config(self):
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

    _activation_name, _alpha = "linear", 0.0

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
    def __init__(self, activation, **kwargs):
        super().__init__(**kwargs)
        self.activation = activations.get(activation)
        self._activation_name, self._alpha = activations.kernel_args(self.activation)

    def get_config(self):
        return {**super().get_config(), "activation": activations.serialize(self.activation)}


class Dropout(Layer):
    """Zeroes a `rate` fraction of the inputs in training and scales the rest by
    1 / (1 - rate); does nothing in predict and evaluate. `noise_shape` (as Keras) draws the
    mask at that shape, None entries taken from the input, and broadcasts it over the axes of
    size 1: (None, 1, features) drops the same features at every timestep."""

    def __init__(self, rate, noise_shape=None, seed=None, **kwargs):
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
        self.rate, self.seed, self.noise_shape = float(rate), seed, noise_shape
        self._generator = None if seed is None else np.random.default_rng(seed)

    def get_config(self):
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
    """(batch, d1, d2, ...) -> (batch, d1 * d2 * ...), as a view: it costs nothing."""

    def compute_output_shape(self, input_shape):
        return (input_shape[0], math.prod(input_shape[1:]))

    def _forward(self, lowering, x, training):
        return x.reshape(x.shape[0], -1), [], x.shape

    def _backward(self, lowering, input_shape, dy, need_dx, fused):
        return (dy.reshape(input_shape) if need_dx else None), []

