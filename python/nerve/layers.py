"""Layers (keras.layers): Input, Dense, Activation, Dropout, Flatten.

A built layer's weights (Dense.kernel (in, units), Dense.bias) are NumPy views into its
model's flat parameter buffer. Layers do not run themselves: for each batch size a model asks
them for their buffers and the backend calls that compute them (_forward / _backward), and
then runs those calls in a tight loop.
"""
import collections
import math
import numbers

import numpy as np

from . import activations, initializers, regularizers, utils

__all__ = ["Layer", "InputLayer", "Input", "Dense", "Activation", "Dropout", "Flatten",
           "serialize", "deserialize", "get"]

_name_counts = collections.Counter()


def unique_name(prefix):
    """"dense", then "dense_1", "dense_2", ... per process, as Keras names objects."""
    count = _name_counts[prefix]
    _name_counts[prefix] += 1
    return prefix if count == 0 else f"{prefix}_{count}"


def _snake_case(name):
    return "".join("_" + c.lower() if c.isupper() else c for c in name).lstrip("_")


def _shape(value, name):
    """A shape tuple of positive ints (without the batch dimension)."""
    try:
        shape = (value,) if isinstance(value, (int, np.integer)) else tuple(value)
        if all(isinstance(d, (int, np.integer)) and d > 0 for d in shape) and shape:
            return tuple(int(d) for d in shape)
    except TypeError:
        pass
    raise ValueError(f"{name}: expected a tuple of positive ints such as (8,), received {value!r}")


class Layer:
    """Base layer: name, trainable, dtype (float32 unless nerve.utils.set_floatx changed it)
    and, on the first layer of a Sequential, input_shape= or input_dim=."""

    def __init__(self, name=None, trainable=True, dtype=None, input_shape=None, input_dim=None,
                 **kwargs):
        if kwargs:
            raise ValueError(f"Unrecognized keyword arguments passed to {type(self).__name__}: "
                             f"{kwargs}")
        if name is not None and not (isinstance(name, str) and name):
            raise ValueError(f"name: expected a non-empty str, received {name!r}")
        self.name = name or unique_name(_snake_case(type(self).__name__))
        self.trainable = bool(trainable)
        self.dtype = utils.standardize_dtype(dtype or utils.floatx())
        if input_dim is not None:
            input_shape = (input_dim,)
        self._input_shape_arg = None if input_shape is None else _shape(input_shape, "input_shape")
        self.built = False
        self._grads = {}

    # -- weights, in Keras order
    _variables = ()  # attribute names of the weights, e.g. ("kernel", "bias")

    def _regularizer(self, variable):
        return None

    @property
    def weights(self):
        return [getattr(self, v) for v in self._variables] if self.built else []

    @property
    def trainable_weights(self):
        return self.weights if self.trainable else []

    @property
    def non_trainable_weights(self):
        return [] if self.trainable else self.weights

    def count_params(self):
        return sum(w.size for w in self.weights)

    def get_weights(self):
        return [w.copy() for w in self.weights]

    def set_weights(self, weights):
        """Copy `weights` (Keras order and shapes) into the layer; nothing changes on error."""
        arrays = _checked_weights(weights, [w.shape for w in self.weights], self.name)
        for target, value in zip(self.weights, arrays):
            target[...] = value

    # -- shapes and building
    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def build(self, input_shape):
        self.compute_output_shape(input_shape)  # validates
        self.built = True

    # -- config
    def get_config(self):
        return {"name": self.name, "trainable": self.trainable, "dtype": self.dtype}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name}>"

    # -- the kernel calls a model runs; see the module docstring
    def _forward(self, backend, x, training):
        """(output buffer, [(function, args), ...], context for _backward) for input buffer x."""
        return x, [], None

    def _backward(self, backend, context, dy, need_dx, fused):
        """(dx buffer or None, calls) given dy, the gradient of the output. `fused`: the loss
        already differentiated through this layer's activation (logits kinds)."""
        raise NotImplementedError

    output_activation = None  # name of the activation ending this layer, if any

    def _logits(self, context):
        """The buffer holding this layer's pre-activation (for the fused logits losses)."""
        raise NotImplementedError


def _checked_weights(weights, shapes, owner):
    """The arrays of `weights` after checking count and shapes against `shapes`."""
    weights = list(weights)
    if len(weights) != len(shapes):
        raise ValueError(f"weights: {owner} expects {len(shapes)} arrays, received {len(weights)}")
    arrays = []
    for i, (value, shape) in enumerate(zip(weights, shapes)):
        array = np.asarray(value)
        if array.shape != tuple(shape):
            raise ValueError(f"weights[{i}]: {owner} expects shape {tuple(shape)}, received "
                             f"{array.shape}")
        if not np.issubdtype(array.dtype, np.number) or np.issubdtype(array.dtype, np.complexfloating):
            raise TypeError(f"weights[{i}]: expected real numbers, received dtype {array.dtype}")
        arrays.append(array)
    return arrays


class InputLayer(Layer):
    """The model's input shape; Input(shape=(8,)) creates one for Sequential([...])."""

    def __init__(self, shape=None, batch_size=None, dtype=None, batch_shape=None, name=None,
                 **kwargs):
        if batch_shape is not None:
            shape, batch_size = batch_shape[1:], batch_shape[0]
        if shape is None:
            raise ValueError("shape: expected the shape of one sample, such as (8,)")
        super().__init__(name=name or unique_name("input_layer"), dtype=dtype,
                         input_shape=shape, **kwargs)
        self.batch_shape = (batch_size,) + self._input_shape_arg

    def get_config(self):
        return {"batch_shape": list(self.batch_shape), "dtype": self.dtype, "name": self.name}


def Input(shape=None, batch_size=None, dtype=None, batch_shape=None, name=None):
    """The input of a Sequential model: Sequential([Input(shape=(8,)), Dense(1)])."""
    return InputLayer(shape, batch_size, dtype, batch_shape, name)


class Dense(Layer):
    """y = activation(x @ kernel + bias), kernel (input_dim, units)."""

    def __init__(self, units, activation=None, use_bias=True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None,
                 **kwargs):
        super().__init__(**kwargs)
        if not (isinstance(units, (int, np.integer)) and units > 0):
            raise ValueError(f"units: expected a positive int, received {units!r}")
        self.units = int(units)
        self.activation = activations.get(activation)
        self._activation_name, self._alpha = activations.kernel_args(self.activation)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.kernel = self.bias = None

    @property
    def _variables(self):
        return ("kernel", "bias") if self.use_bias else ("kernel",)

    def _regularizer(self, variable):
        return self.kernel_regularizer if variable == "kernel" else self.bias_regularizer

    @property
    def output_activation(self):
        return self._activation_name

    def compute_output_shape(self, input_shape):
        if len(input_shape) != 2:
            raise ValueError(f"{self.name}: Dense takes inputs of shape (batch, features), "
                             f"received {tuple(input_shape)}; add a Flatten layer before it")
        return (input_shape[0], self.units)

    def build(self, input_shape):
        super().build(input_shape)
        inputs = input_shape[-1]
        self.kernel = self.kernel_initializer((inputs, self.units), self.dtype)
        if self.use_bias:
            self.bias = self.bias_initializer((self.units,), self.dtype)

    def get_config(self):
        serialize = utils.serialize
        return {**super().get_config(), "units": self.units,
                "activation": activations.serialize(self.activation), "use_bias": self.use_bias,
                "kernel_initializer": serialize(self.kernel_initializer),
                "bias_initializer": serialize(self.bias_initializer),
                "kernel_regularizer": self.kernel_regularizer and serialize(self.kernel_regularizer),
                "bias_regularizer": self.bias_regularizer and serialize(self.bias_regularizer)}

    def _forward(self, backend, x, training):
        y = np.empty((x.shape[0], self.units), self.dtype)
        z = y if self._activation_name == "linear" else np.empty_like(y)
        call = (backend.dense_forward,
                (y, x, self.kernel, self.bias, self._activation_name, self._alpha, z))
        return y, [call], (x, z, y)

    def _backward(self, backend, context, dy, need_dx, fused):
        x, z, y = context
        dx = np.empty_like(x) if need_dx else None
        activation = "linear" if fused else self._activation_name
        call = (backend.dense_backward, (dx, self._grads["kernel"], self._grads.get("bias"), dy,
                                         dy, x, self.kernel, z, y, activation, self._alpha))
        return dx, [call]

    def _logits(self, context):
        return context[1]


class Activation(Layer):
    def __init__(self, activation, **kwargs):
        super().__init__(**kwargs)
        self.activation = activations.get(activation)
        self._activation_name, self._alpha = activations.kernel_args(self.activation)

    @property
    def output_activation(self):
        return self._activation_name

    def get_config(self):
        return {**super().get_config(), "activation": activations.serialize(self.activation)}

    def _forward(self, backend, x, training):
        y = np.empty_like(x)
        call = (backend.activation_forward, (y, x, self._activation_name, self._alpha))
        return y, [call], (x, y)

    def _backward(self, backend, context, dy, need_dx, fused):
        if not need_dx or fused:
            return (dy if need_dx else None), []
        x, y = context
        # dy belongs to this layer alone: the kernel may overwrite it with dx
        return dy, [(backend.activation_backward, (dy, dy, x, y, self._activation_name,
                                                   self._alpha))]

    def _logits(self, context):
        return context[0]


class Dropout(Layer):
    """Zeroes a `rate` fraction of the inputs in training and scales the rest by
    1 / (1 - rate); does nothing in predict and evaluate."""

    def __init__(self, rate, noise_shape=None, seed=None, **kwargs):
        super().__init__(**kwargs)
        if not (isinstance(rate, numbers.Real) and 0 <= rate < 1):
            raise ValueError(f"rate: expected a number in [0, 1), received {rate!r}")
        if noise_shape is not None:
            raise ValueError("noise_shape: expected None (nerve drops elements independently)")
        self.rate, self.seed = float(rate), seed
        self._generator = None if seed is None else np.random.default_rng(seed)

    def get_config(self):
        return {**super().get_config(), "rate": self.rate, "seed": self.seed}

    def _forward(self, backend, x, training):
        if not training or self.rate == 0:
            return x, [], None
        y, mask = np.empty_like(x), np.empty_like(x)
        generator = self._generator or utils.generator()
        rate, scale, dtype = self.rate, 1.0 / (1.0 - self.rate), x.dtype

        def drop():
            generator.random(dtype=dtype, out=mask)
            np.greater_equal(mask, rate, out=mask)
            np.multiply(mask, scale, out=mask)
            np.multiply(x, mask, out=y)
        return y, [(drop, ())], mask

    def _backward(self, backend, mask, dy, need_dx, fused):
        if not need_dx or mask is None:
            return (dy if need_dx else None), []
        return dy, [(np.multiply, (dy, mask, dy))]


class Flatten(Layer):
    """(batch, d1, d2, ...) -> (batch, d1 * d2 * ...), as a view: it costs nothing."""

    def compute_output_shape(self, input_shape):
        return (input_shape[0], math.prod(input_shape[1:]))

    def _forward(self, backend, x, training):
        return x.reshape(x.shape[0], -1), [], x.shape

    def _backward(self, backend, input_shape, dy, need_dx, fused):
        return (dy.reshape(input_shape) if need_dx else None), []


_CLASSES = (InputLayer, Dense, Activation, Dropout, Flatten)
_REGISTRY = {cls.__name__: cls for cls in _CLASSES}
serialize = utils.serialize


def deserialize(config):
    """A layer from {"class_name": ..., "config": {...}} (or an existing layer)."""
    return utils.lookup(config, _REGISTRY, "layer", Layer)


get = deserialize
