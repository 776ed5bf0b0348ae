"""Convolution layers (keras.layers): Conv1D and Conv2D.

The kernel has Keras's shape, kernel_size + (input_channels // groups, filters), the bias
(filters,). Both run on the backend's conv2d kernels in NHWC: Conv1D as a 1-row image, and
channels_first data transposed to channels_last around the kernel (one copy each way).
"""
import numpy as np

from .. import activations
from .core import KernelLayer
from .spatial import (data_format_arg, int_tuple, output_length, padding_amounts, padding_arg,
                      require_rank, spatial_axes)

__all__ = ["Conv1D", "Conv2D"]

# Activations whose derivative the kernels can take from the output alone (relu's from y > 0):
# no pre-activation buffer is kept for them.
_FROM_OUTPUT = ("linear", "relu")


class _Conv(KernelLayer):
    rank = None  # spatial dimensions

    def __init__(self, filters, kernel_size, strides=1, padding="valid", data_format=None,
                 dilation_rate=1, groups=1, activation=None, use_bias=True,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 kernel_regularizer=None, bias_regularizer=None, kernel_constraint=None,
                 bias_constraint=None, **kwargs):
        super().__init__(**kwargs)
        kind = type(self).__name__
        self.filters = int_tuple(filters, 1, "filters", self.name)[0]
        self.kernel_size = int_tuple(kernel_size, self.rank, "kernel_size", self.name)
        self.strides = int_tuple(strides, self.rank, "strides", self.name)
        self.dilation_rate = int_tuple(dilation_rate, self.rank, "dilation_rate", self.name)
        self.groups = int_tuple(groups, 1, "groups", self.name)[0]
        allowed = ("valid", "same", "causal") if self.rank == 1 else ("valid", "same")
        self.padding = padding_arg(padding, self.name, allowed)
        self.data_format = data_format_arg(data_format, self.name)
        if max(self.strides) > 1 and max(self.dilation_rate) > 1:
            raise ValueError(f"{self.name}: {kind} takes strides > 1 or dilation_rate > 1, not "
                             f"both, received strides={self.strides}, "
                             f"dilation_rate={self.dilation_rate}")
        if self.filters % self.groups:
            raise ValueError(f"{self.name}: filters ({self.filters}) must be a multiple of "
                             f"groups ({self.groups})")
        self.activation = activations.get(activation)
        self._activation_name, self._alpha = activations.kernel_args(self.activation)
        if self._activation_name == "step":
            raise ValueError(f"{self.name}: activation 'step' has no derivative; use it in an "
                             f"Activation layer for predict-only models")
        self._weight_options(use_bias, kernel_initializer, bias_initializer, kernel_regularizer,
                             bias_regularizer, kernel_constraint, bias_constraint)

    # -- shapes
    def _channels_axis(self):
        return -1 if self.data_format == "channels_last" else 1

    def _spatial(self, shape):
        return tuple(shape[axis] for axis in spatial_axes(self.rank, self.data_format))

    def _check_rank(self, input_shape):
        require_rank(self, input_shape, self.rank, self.data_format)
        channels = input_shape[self._channels_axis()]
        if channels is None or channels % self.groups:
            raise ValueError(f"{self.name}: the input channels ({channels}) must be known and a "
                             f"multiple of groups ({self.groups})")
        return channels

    def _geometry(self, spatial):
        """Per spatial axis: (outputs, padding before, padding after)."""
        result = []
        for size, k, s, d in zip(spatial, self.kernel_size, self.strides, self.dilation_rate):
            if self.padding == "causal":
                span = (k - 1) * d + 1
                before, after = span - 1, 0
                out = None if size is None else (size + before - span) // s + 1
            else:
                out = output_length(size, k, s, d, self.padding)
                before, after = (0, 0) if size is None else padding_amounts(size, k, s, d,
                                                                            self.padding)
            result.append((out, before, after))
        return result

    def compute_output_shape(self, input_shape):
        self._check_rank(input_shape)
        spatial = self._spatial(input_shape)
        outputs = [out for out, _, _ in self._geometry(spatial)]
        if any(out is not None and out < 1 for out in outputs):
            spans = tuple((k - 1) * d + 1 for k, d in zip(self.kernel_size, self.dilation_rate))
            raise ValueError(f"{self.name}: the kernel (span {spans}) is larger than the "
                             f"{self.padding}-padded input {spatial}; use smaller kernels, "
                             f"padding='same', or larger inputs")
        if self.data_format == "channels_last":
            return (input_shape[0],) + tuple(outputs) + (self.filters,)
        return (input_shape[0], self.filters) + tuple(outputs)

    def _check_input_shapes(self, shapes):
        if self._kernel is not None and len(shapes[0]) == self.rank + 2:
            expected = self._kernel.shape[-2] * self.groups
            if shapes[0][self._channels_axis()] != expected:
                raise ValueError(f"input: layer {self.name!r} takes {expected} channels, "
                                 f"received shape {tuple(shapes[0])}")

    def build(self, input_shape):
        self.compute_output_shape(input_shape)  # validates before any weight exists
        channels = input_shape[self._channels_axis()]
        self._add_kernel_and_bias(self.kernel_size + (channels // self.groups, self.filters))
        self.built = True

    def get_config(self):
        return {**super().get_config(), "filters": self.filters,
                "kernel_size": self.kernel_size, "strides": self.strides,
                "padding": self.padding, "data_format": self.data_format,
                "dilation_rate": self.dilation_rate, "groups": self.groups,
                "activation": activations.serialize(self.activation), **self._weight_config()}

    # -- lowering: NHWC buffers for the kernel, 1-D as one row
    def _as_image(self, array):
        """An NHWC-ordered 4-D view of a (batch, [rows,] cols, channels) array."""
        return array if self.rank == 2 else array.reshape(array.shape[0], 1, *array.shape[1:])

    def _kernel_args(self, x_shape):
        geometry = self._geometry(self._spatial(x_shape))
        strides, dilation = self.strides, self.dilation_rate
        pads = [before for _, before, _ in geometry]
        if self.rank == 1:
            strides, dilation, pads = (1,) + strides, (1,) + dilation, [0] + pads
        return (*strides, *dilation, *pads, self.groups)

    def _reorder(self, lowering, calls, array, to_last):
        """`array` in the other channel order (a copy per batch), or itself for channels_last."""
        if self.data_format == "channels_last":
            return array
        middle = tuple(range(1, array.ndim - 1)) if not to_last else tuple(range(2, array.ndim))
        order = (0,) + middle + (1,) if to_last else (0, array.ndim - 1) + middle
        out = lowering.empty(tuple(array.shape[i] for i in order), array.dtype)
        calls.append((np.copyto, (out, array.transpose(order))))
        return out

    def _forward(self, lowering, x, training):
        calls = []
        x_last = self._reorder(lowering, calls, x, to_last=True)
        out_shape = self.compute_output_shape((None,) + x.shape[1:])
        out_last = (x.shape[0],) + (out_shape[1:] if self.data_format == "channels_last"
                                    else out_shape[2:] + out_shape[1:2])
        y_last = lowering.empty(out_last, x.dtype)
        keeps_z = self._activation_name not in _FROM_OUTPUT
        z = lowering.empty_like(y_last) if keeps_z else None
        kernel = self.kernel.reshape((1,) * (2 - self.rank) + self.kernel.shape)
        geometry = self._kernel_args(x.shape)
        calls.append((lowering.backend.conv2d_forward,
                      (self._as_image(y_last), self._as_image(x_last), kernel, self.bias,
                       *geometry, self._activation_name, self._alpha,
                       None if z is None else self._as_image(z))))
        y = self._reorder(lowering, calls, y_last, to_last=False)
        return y, calls, (x_last, y_last, z, geometry)

    def _backward(self, lowering, context, dy, need_dx, fused):
        x_last, y_last, z, geometry = context
        calls = []
        dy_last = self._reorder(lowering, calls, dy, to_last=True)
        dx_last = lowering.empty_like(x_last) if need_dx else None
        dw, accumulate = lowering.grad(self._kernel)
        db = lowering.grad(self._bias)[0] if self.use_bias else None
        image = self._as_image
        kernel_shape = (1,) * (2 - self.rank) + self.kernel.shape
        calls.append((lowering.backend.conv2d_backward,
                      (None if dx_last is None else image(dx_last), dw.reshape(kernel_shape), db,
                       image(dy_last), image(dy_last), image(x_last),
                       self.kernel.reshape(kernel_shape), image(z if z is not None else y_last),
                       image(y_last), *geometry, self._activation_name, self._alpha,
                       accumulate)))
        if dx_last is None:
            return None, calls
        return self._reorder(lowering, calls, dx_last, to_last=False), calls


class Conv1D(_Conv):
    """1-D convolution over (batch, steps, channels); padding also "causal" (zeros before
    only, so output t sees inputs up to t)."""

    rank = 1

    def __init__(self, filters, kernel_size, strides=1, padding="valid", data_format=None,
                 dilation_rate=1, groups=1, activation=None, use_bias=True, **kwargs):
        super().__init__(filters, kernel_size, strides, padding, data_format, dilation_rate,
                         groups, activation, use_bias, **kwargs)


class Conv2D(_Conv):
    """2-D convolution over (batch, rows, cols, channels) images:
    y = activation(conv(x, kernel) + bias), kernel (kh, kw, channels // groups, filters)."""

    rank = 2

    def __init__(self, filters, kernel_size, strides=(1, 1), padding="valid", data_format=None,
                 dilation_rate=(1, 1), groups=1, activation=None, use_bias=True, **kwargs):
        super().__init__(filters, kernel_size, strides, padding, data_format, dilation_rate,
                         groups, activation, use_bias, **kwargs)
