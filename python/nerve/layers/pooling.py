"""Pooling layers (keras.layers): MaxPooling1D/2D, AveragePooling1D/2D and the global
GlobalMaxPooling1D/2D, GlobalAveragePooling1D/2D.

All of them run the backend's NHWC pooling kernels (max keeps its argmax for the backward
pass). A 1-D layer's (batch, steps, channels) is a (batch, 1, steps, channels) view; a
channels_first input is transposed into an NHWC buffer and the output back (a copy each way);
a global layer is one window covering the whole image. Padding "same" follows Keras: the
windows move, the padding is never a value (an average counts only the inputs it covers).
"""
import functools
from typing import Any, Dict, Optional, Sequence, Union

import numpy as np

from .layer import Layer, Shape, ShapeLike
from .spatial import (data_format_arg, int_tuple, output_length, padding_amounts, padding_arg,
                      require_rank, spatial_axes)

__all__ = ["MaxPooling1D", "MaxPooling2D", "AveragePooling1D", "AveragePooling2D",
           "GlobalMaxPooling1D", "GlobalMaxPooling2D", "GlobalAveragePooling1D",
           "GlobalAveragePooling2D"]


class _Pooling(Layer):
    """Shared by the pooling layers: the layout views, the kernel calls and their gradients.
    Subclasses give `rank` (spatial dimensions), `mode` ("max" or "avg"), the window of an
    NHWC input (`_window`) and the output's shape and NHWC view."""

    rank: Any = None  # set by each subclass
    mode: Any = None

    def _image_view(self, array):
        """An array in the layer's layout viewed as (N, H, W, C) (a view, maybe strided)."""
        if self.data_format == "channels_first":
            array = np.moveaxis(array, 1, -1)
        return array[:, None] if self.rank == 1 else array

    def _output_view(self, array):
        """The layer's output (or its gradient) viewed as the kernels' NHWC output."""
        return self._image_view(array)

    def _forward(self, lowering, x, training):
        calls = []
        image = _contiguous(lowering, calls, self._image_view(x))
        window = self._window(image.shape[1], image.shape[2])
        y = lowering.empty(self.compute_output_shape(x.shape), x.dtype)
        pooled, copy_out = _writable_view(lowering, self._output_view(y))
        backend = lowering.backend
        if self.mode == "max":
            argmax = lowering.empty(pooled.shape, np.int64)
            calls.append((backend.max_pool2d_forward, (pooled, argmax, image) + window))
        else:
            argmax = None
            calls.append((backend.avg_pool2d_forward, (pooled, image) + window))
        return y, calls + copy_out, (x, image.shape, window, argmax)

    def _backward(self, lowering, context, dy, need_dx, fused):
        if not need_dx:
            return None, []
        x, image_shape, window, argmax = context
        calls = []
        grad = _contiguous(lowering, calls, self._output_view(dy))
        dx = lowering.empty(x.shape, x.dtype)
        target, copy_out = _writable_view(lowering, self._image_view(dx))
        backend = lowering.backend
        if self.mode == "max":
            calls.append((backend.max_pool2d_backward, (target, grad, argmax)))
        else:
            calls.append((backend.avg_pool2d_backward, (target, grad) + window))
        return dx, calls + copy_out


def _contiguous(lowering, calls, view):
    """`view` itself when C-contiguous, else a buffer a call copies it into."""
    if view.flags.c_contiguous:
        return view
    buffer = lowering.empty(view.shape, view.dtype)
    calls.append((np.copyto, (buffer, view)))
    return buffer


def _writable_view(lowering, view):
    """(where a kernel writes, calls after it) for an output view: the view itself when
    C-contiguous, else a buffer copied into the view afterwards."""
    if view.flags.c_contiguous:
        return view, []
    buffer = lowering.empty(view.shape, view.dtype)
    return buffer, [(np.copyto, (view, buffer))]


class _LocalPooling(_Pooling):
    """Windows of pool_size (an int: the same along every axis) moved by strides (default:
    pool_size), "valid" or "same"."""

    def __init__(self, pool_size: Union[int, Sequence[int]] = 2,
                 strides: Optional[Union[int, Sequence[int]]] = None, padding: str = "valid",
                 data_format: Optional[str] = None, name: Optional[str] = None,
                 **kwargs: Any) -> None:
        super().__init__(name=name, **kwargs)
        self.pool_size = int_tuple(pool_size, self.rank, "pool_size", self.name)
        self.strides = (self.pool_size if strides is None
                        else int_tuple(strides, self.rank, "strides", self.name))
        self.padding = padding_arg(padding, self.name)
        self.data_format = data_format_arg(data_format, self.name)

    def compute_output_shape(self, input_shape: ShapeLike) -> Shape:
        require_rank(self, input_shape, self.rank, self.data_format)
        axes = spatial_axes(self.rank, self.data_format)
        sizes = []
        for axis, pool, stride in zip(axes, self.pool_size, self.strides):
            size = output_length(input_shape[axis], pool, stride, 1, self.padding)
            if size is not None and size < 1:
                raise ValueError(f"{self.name}: pool_size {self.pool_size} does not fit inputs "
                                 f"of shape {tuple(input_shape)} with padding "
                                 f"{self.padding!r} (axis {axis} has {input_shape[axis]})")
            sizes.append(size)
        shape = list(input_shape)
        for axis, size in zip(axes, sizes):
            shape[axis] = size
        return tuple(shape)

    def _window(self, height, width):
        """The kernels' window arguments for an NHWC image of height x width (a 1-D layer's
        height is 1, pooled 1 at a time)."""
        pool = (1,) * (2 - self.rank) + self.pool_size
        strides = (1,) * (2 - self.rank) + self.strides
        pads = tuple(padding_amounts(n, k, s, 1, self.padding)[0]
                     for n, k, s in zip((height, width), pool, strides))
        return (*pool, *strides, *pads)

    def get_config(self) -> Dict[str, Any]:
        return {**super().get_config(), "pool_size": self.pool_size, "padding": self.padding,
                "strides": self.strides, "data_format": self.data_format}


# The shapes, arguments and errors of the local pooling layers, for their docstrings.
_LOCAL = """

    Input shape: {last},
    or {first} with channels_first.
    Output shape: the same with each spatial size n made ceil(n / stride) with "same" (a
    window partly outside counts only the inputs it covers), else (n - pool) // stride + 1.

    Args:
        pool_size: Int or {tuple} >= 1, default 2 (an int: the same along every axis).
        strides: Int or {tuple} >= 1, default None (pool_size).
        padding: "valid" or "same", default "valid" (case-insensitive).
        data_format: "channels_last" or "channels_first", default None (channels_last).
        name: str, default None (the class name in snake_case, made unique).
        **kwargs: The base Layer's arguments (trainable, dtype, input_shape).

    Raises:
        ValueError: When a size is not a positive int (or {tuple}), or padding or
            data_format is not one of those; when called, if the input's rank is not {ndim}
            or the window does not fit it.
"""
_LAYOUTS = {1: ("(batch, steps, channels)", "(batch, channels, steps)"),
            2: ("(batch, rows, cols, channels)", "(batch, channels, rows, cols)")}


def _with_shared_doc(cls, shared):
    """`cls` with its docstring's {shared} filled from the template for its rank."""
    last, first = _LAYOUTS[cls.rank]
    cls.__doc__ = cls.__doc__.format(shared=shared.format(
        tuple="tuple of 1 int" if cls.rank == 1 else "pair of ints", ndim=cls.rank + 2,
        last=last, first=first).strip())
    return cls


@functools.partial(_with_shared_doc, shared=_LOCAL)
class MaxPooling1D(_LocalPooling):
    """The maximum over windows of pool_size steps, moved by strides (alias MaxPool1D).

    {shared}

    Example:
        >>> import numpy as np, nerve
        >>> x = np.array([[[1.0], [3.0], [2.0], [0.0]]], "float32")
        >>> nerve.layers.MaxPooling1D(2)(x).ravel()
        array([3., 2.], dtype=float32)
    """
    rank, mode = 1, "max"


@functools.partial(_with_shared_doc, shared=_LOCAL)
class MaxPooling2D(_LocalPooling):
    """The maximum over windows of pool_size, moved by strides (alias MaxPool2D).

    {shared}

    Example:
        >>> import numpy as np, nerve
        >>> nerve.layers.MaxPooling2D((2, 2))(np.ones((1, 4, 5, 3), "float32")).shape
        (1, 2, 2, 3)
    """
    rank, mode = 2, "max"


@functools.partial(_with_shared_doc, shared=_LOCAL)
class AveragePooling1D(_LocalPooling):
    """The mean over windows of pool_size steps, moved by strides (alias AvgPool1D).

    {shared}

    Example:
        >>> import numpy as np, nerve
        >>> x = np.array([[[1.0], [3.0], [2.0], [0.0]]], "float32")
        >>> nerve.layers.AveragePooling1D(2, strides=1)(x).ravel()
        array([2. , 2.5, 1. ], dtype=float32)
    """
    rank, mode = 1, "avg"


@functools.partial(_with_shared_doc, shared=_LOCAL)
class AveragePooling2D(_LocalPooling):
    """The mean over windows of pool_size, moved by strides (alias AvgPool2D).

    {shared}

    Example:
        >>> import numpy as np, nerve
        >>> layer = nerve.layers.AveragePooling2D(2, padding="same")
        >>> layer(np.ones((1, 3, 3, 2), "float32")).shape
        (1, 2, 2, 2)
    """
    rank, mode = 2, "avg"


class _GlobalPooling(_Pooling):
    """One window over every step or pixel: (batch, channels), or with keepdims the spatial
    dimensions kept as 1s."""

    def __init__(self, data_format: Optional[str] = None, keepdims: bool = False,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.data_format = data_format_arg(data_format, self.name)
        self.keepdims = bool(keepdims)

    def compute_output_shape(self, input_shape: ShapeLike) -> Shape:
        require_rank(self, input_shape, self.rank, self.data_format)
        batch = input_shape[0]
        channels = input_shape[-1] if self.data_format == "channels_last" else input_shape[1]
        if not self.keepdims:
            return (batch, channels)
        ones = (1,) * self.rank
        return ((batch,) + ones + (channels,) if self.data_format == "channels_last"
                else (batch, channels) + ones)

    def _output_view(self, array):
        # One value per image and channel: every layout of it is (N, 1, 1, C) in memory.
        return array.reshape(array.shape[0], 1, 1, -1)

    def _window(self, height, width):
        return (height, width, 1, 1, 0, 0)

    def get_config(self) -> Dict[str, Any]:
        return {**super().get_config(), "data_format": self.data_format,
                "keepdims": self.keepdims}


_GLOBAL = """

    Input shape: {last},
    or {first} with channels_first.
    Output shape: (batch, channels), or with keepdims=True the input's rank with 1 for each
    spatial size.

    Args:
        data_format: "channels_last" or "channels_first", default None (channels_last).
        keepdims: bool, default False.
        **kwargs: The base Layer's arguments (name, trainable, dtype, input_shape).

    Raises:
        ValueError: When data_format is not one of those; when called, if the input's rank
            is not {ndim}.
"""


@functools.partial(_with_shared_doc, shared=_GLOBAL)
class GlobalMaxPooling1D(_GlobalPooling):
    """The maximum over all steps, per channel (alias GlobalMaxPool1D).

    {shared}

    Example:
        >>> import numpy as np, nerve
        >>> x = np.array([[[1.0, 0.0], [3.0, -1.0]]], "float32")
        >>> nerve.layers.GlobalMaxPooling1D()(x)
        array([[3., 0.]], dtype=float32)
    """
    rank, mode = 1, "max"


@functools.partial(_with_shared_doc, shared=_GLOBAL)
class GlobalMaxPooling2D(_GlobalPooling):
    """The maximum over all rows and columns, per channel (alias GlobalMaxPool2D).

    {shared}

    Example:
        >>> import numpy as np, nerve
        >>> layer = nerve.layers.GlobalMaxPooling2D(keepdims=True)
        >>> layer(np.ones((2, 4, 4, 3), "float32")).shape
        (2, 1, 1, 3)
    """
    rank, mode = 2, "max"


@functools.partial(_with_shared_doc, shared=_GLOBAL)
class GlobalAveragePooling1D(_GlobalPooling):
    """The mean over all steps, per channel (alias GlobalAvgPool1D).

    {shared}

    Example:
        >>> import numpy as np, nerve
        >>> x = np.array([[[1.0, 0.0], [3.0, -1.0]]], "float32")
        >>> nerve.layers.GlobalAveragePooling1D()(x)
        array([[ 2. , -0.5]], dtype=float32)
    """
    rank, mode = 1, "avg"


@functools.partial(_with_shared_doc, shared=_GLOBAL)
class GlobalAveragePooling2D(_GlobalPooling):
    """The mean over all rows and columns, per channel (alias GlobalAvgPool2D).

    {shared}

    Example:
        >>> import numpy as np, nerve
        >>> nerve.layers.GlobalAveragePooling2D()(np.ones((2, 4, 4, 3), "float32")).shape
        (2, 3)
    """
    rank, mode = 2, "avg"
