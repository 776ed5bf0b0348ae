"""Convolution layers (keras.layers): Conv1D and Conv2D.

The kernel has Keras's shape, kernel_size + (input_channels // groups, filters), the bias
(filters,). Both run on the backend's conv2d kernels in NHWC: Conv1D as a 1-row image, and
channels_first data transposed to channels_last around the kernel (one copy each way).
"""
from typing import Any, Dict, Optional, Sequence, Union

import numpy as np

from .. import activations
from .._typing import Activation as ActivationLike
from .core import KernelLayer
from .layer import Shape, ShapeLike
from .spatial import (data_format_arg, int_tuple, output_length, padding_amounts, padding_arg,
                      require_rank, spatial_axes)

__all__ = ["Conv1D", "Conv2D"]

# Activations whose derivative the kernels can take from the output alone (relu's from y > 0):
# no pre-activation buffer is kept for them.
_FROM_OUTPUT = ("linear", "relu")

IntOrTuple = Union[int, Sequence[int]]

# The constructor arguments both layers share, for their docstrings.
_ARGS = """
        filters: Positive int, the number of output channels; a multiple of groups.
        kernel_size: Int or {tuple} >= 1, the window's size.
        strides: Int or {tuple} >= 1, default {one}.
        padding: {paddings}, default "valid" (case-insensitive).
        data_format: "channels_last" or "channels_first" (see the shapes above), default
            None (channels_last).
        dilation_rate: Int or {tuple} >= 1, default {one}; not with strides > 1.
        groups: Positive int, default 1: the input channels (and filters) split into that
            many groups convolved separately.
        activation: Name or nerve.activations function, default None (linear); not "step".
        use_bias: bool, default True.
        **kwargs: kernel_initializer (default "glorot_uniform"), bias_initializer (default
            "zeros"), kernel_regularizer, bias_regularizer, kernel_constraint,
            bias_constraint (default None), and the base Layer's arguments.

    Raises:
        ValueError: When a size is not a positive int (or {tuple}), padding or
            data_format is not one of those, both strides and dilation_rate exceed 1, filters
            is not a multiple of groups, or the activation is unknown or "step"; when called,
            if the input's rank or channels do not fit, or the kernel is larger than the
            padded input.
"""


class _Conv(KernelLayer):
    rank: Any = None  # spatial dimensions, set by each subclass

    def __init__(self, filters: int, kernel_size: IntOrTuple, strides: IntOrTuple = 1,
                 padding: str = "valid", data_format: Optional[str] = None,
                 dilation_rate: IntOrTuple = 1, groups: int = 1,
                 activation: ActivationLike = None, use_bias: bool = True,
                 kernel_initializer: Any = "glorot_uniform", bias_initializer: Any = "zeros",
                 kernel_regularizer: Any = None, bias_regularizer: Any = None,
                 kernel_constraint: Any = None, bias_constraint: Any = None,
                 **kwargs: Any) -> None:
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

    def compute_output_shape(self, input_shape: ShapeLike) -> Shape:
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

    def build(self, input_shape: ShapeLike) -> None:
        self.compute_output_shape(input_shape)  # validates before any weight exists
        channels = input_shape[self._channels_axis()]
        self._add_kernel_and_bias(self.kernel_size + (channels // self.groups, self.filters))
        self.built = True

    def get_config(self) -> Dict[str, Any]:
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
    """1-D convolution: y = activation(conv(x, kernel) + bias), over steps.

    Input shape: (batch, steps, channels), or (batch, channels, steps) with channels_first.
    Output shape: (batch, new_steps, filters) (channels_first: (batch, filters,
    new_steps)); new_steps = ceil(steps / stride) with "same", else the windows that fit.
    Padding "causal" pads zeros before only, so output t sees inputs up to t. Weights: kernel
    (kernel_size, channels // groups, filters), then bias (filters,).

    Args:{args}

    Example:
        >>> import numpy as np, nerve
        >>> layer = nerve.layers.Conv1D(4, 3, padding="causal")
        >>> layer(np.ones((2, 5, 3), "float32")).shape
        (2, 5, 4)
        >>> layer.kernel.shape
        (3, 3, 4)
    """

    rank = 1

    def __init__(self, filters: int, kernel_size: IntOrTuple, strides: IntOrTuple = 1,
                 padding: str = "valid", data_format: Optional[str] = None,
                 dilation_rate: IntOrTuple = 1, groups: int = 1,
                 activation: ActivationLike = None, use_bias: bool = True,
                 **kwargs: Any) -> None:
        super().__init__(filters, kernel_size, strides, padding, data_format, dilation_rate,
                         groups, activation, use_bias, **kwargs)


class Conv2D(_Conv):
    """2-D convolution of images: y = activation(conv(x, kernel) + bias).

    Input shape: (batch, rows, cols, channels), or (batch, channels, rows, cols) with
    channels_first. Output shape: (batch, new_rows, new_cols, filters) (channels_first:
    (batch, filters, new_rows, new_cols)); each new size is ceil(size / stride) with
    "same", else the number of windows that fit. Weights: kernel (kernel_rows,
    kernel_cols, channels // groups, filters), then bias (filters,).

    Args:{args}

    Example:
        >>> import numpy as np, nerve
        >>> layer = nerve.layers.Conv2D(8, 3, strides=2, padding="same", activation="relu")
        >>> layer(np.ones((1, 6, 6, 3), "float32")).shape
        (1, 3, 3, 8)
        >>> layer.kernel.shape
        (3, 3, 3, 8)
    """

    rank = 2

    def __init__(self, filters: int, kernel_size: IntOrTuple, strides: IntOrTuple = (1, 1),
                 padding: str = "valid", data_format: Optional[str] = None,
                 dilation_rate: IntOrTuple = (1, 1), groups: int = 1,
                 activation: ActivationLike = None, use_bias: bool = True,
                 **kwargs: Any) -> None:
        super().__init__(filters, kernel_size, strides, padding, data_format, dilation_rate,
                         groups, activation, use_bias, **kwargs)


Conv1D.__doc__ = (Conv1D.__doc__ or "").format(args=_ARGS.format(
    tuple="tuple of 1 int", one=1, paddings='"valid", "same" or "causal"').rstrip())
Conv2D.__doc__ = (Conv2D.__doc__ or "").format(args=_ARGS.format(
    tuple="pair of ints", one="(1, 1)", paddings='"valid" or "same"').rstrip())
