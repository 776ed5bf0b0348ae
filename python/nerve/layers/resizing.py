"""Padding and resizing layers for images (keras.layers): ZeroPadding2D and UpSampling2D.

Both move memory only, so they are NumPy calls writing into the plan's buffers (out=), the same
calls on both backends: ZeroPadding2D zero-fills its output and copies the input into the
middle (its gradient is that middle); UpSampling2D repeats every pixel size[0] x size[1] times
through a broadcast copy into a 6-D view of its output (its gradient sums each block).
"""
import numbers
from typing import Any, Dict, Optional, Sequence, Union

import numpy as np

from .layer import Layer, Shape, ShapeLike
from .spatial import data_format_arg, int_tuple, require_rank, spatial_axes

__all__ = ["ZeroPadding2D", "UpSampling2D"]

# Keras's interpolations; only nearest is implemented here.
_INTERPOLATIONS = ("bicubic", "bilinear", "lanczos3", "lanczos5", "nearest")


def _padding_pairs(value, layer):
    """((top, bottom), (left, right)) from an int, a pair of ints (symmetric height and width
    padding) or a pair of pairs."""
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        value = (value, value)
    try:
        entries = tuple(value)
    except TypeError:
        entries = ()
    if len(entries) != 2:
        raise ValueError(f"{layer}: padding expected an int, a tuple of 2 ints or a tuple of 2 "
                         f"tuples of 2 ints, received {value!r}")
    return tuple(int_tuple(entry, 2, "padding", layer, smallest=0) for entry in entries)


class ZeroPadding2D(Layer):
    """Adds rows and columns of zeros around each image.

    Input shape: (batch, rows, cols, channels), or (batch, channels, rows, cols) with
    channels_first. Output shape: the same with rows + top + bottom and cols + left + right.

    Args:
        padding: Int (all sides), pair of ints (symmetric rows, symmetric cols) or
            ((top, bottom), (left, right)) of ints >= 0, default (1, 1).
        data_format: "channels_last" or "channels_first", default None (channels_last).
        **kwargs: The base Layer's arguments (name, trainable, dtype, input_shape).

    Raises:
        ValueError: When padding is none of those or data_format not one of those; when
            called, on inputs not 4-D.

    Example:
        >>> import numpy as np, nerve
        >>> layer = nerve.layers.ZeroPadding2D(((1, 0), (2, 2)))
        >>> layer(np.ones((1, 2, 2, 3), "float32")).shape
        (1, 3, 6, 3)
    """

    def __init__(self, padding: Union[int, Sequence[Any]] = (1, 1),
                 data_format: Optional[str] = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.data_format = data_format_arg(data_format, self.name)
        self.padding = _padding_pairs(padding, self.name)

    def compute_output_shape(self, input_shape: ShapeLike) -> Shape:
        require_rank(self, input_shape, 2, self.data_format)
        shape = list(input_shape)
        for axis, (before, after) in zip(spatial_axes(2, self.data_format), self.padding):
            if shape[axis] is not None:
                shape[axis] += before + after
        return tuple(shape)

    def get_config(self) -> Dict[str, Any]:
        return {**super().get_config(), "padding": self.padding, "data_format": self.data_format}

    def _inside(self, shape):
        """The index of the input's place in the padded output."""
        index = [slice(None)] * 4
        for axis, (before, after) in zip(spatial_axes(2, self.data_format), self.padding):
            index[axis] = slice(before, shape[axis] - after)
        return tuple(index)

    def _forward(self, lowering, x, training):
        y = lowering.empty(self.compute_output_shape(x.shape), x.dtype)
        inside = y[self._inside(y.shape)]
        return y, [(y.fill, (0,)), (np.copyto, (inside, x))], x.shape

    def _backward(self, lowering, input_shape, dy, need_dx, fused):
        if not need_dx:
            return None, []
        dx = lowering.empty(input_shape, dy.dtype)
        return dx, [(np.copyto, (dx, dy[self._inside(dy.shape)]))]


class UpSampling2D(Layer):
    """Enlarges images by repeating each row size[0] times and each column size[1] times.

    Input shape: (batch, rows, cols, channels), or (batch, channels, rows, cols) with
    channels_first. Output shape: the same with rows * size[0] and cols * size[1].

    Args:
        size: Int or pair of ints >= 1, default (2, 2).
        data_format: "channels_last" or "channels_first", default None (channels_last).
        interpolation: Default "nearest", the only one nerve implements (case-insensitive).
        **kwargs: The base Layer's arguments (name, trainable, dtype, input_shape).

    Raises:
        ValueError: When size is not such an int or pair, data_format not one of those,
            or interpolation not "nearest" (Keras's others are named as unsupported); when
            called, on inputs not 4-D.

    Example:
        >>> import numpy as np, nerve
        >>> x = np.array([[[[1.0], [2.0]]]], "float32")
        >>> nerve.layers.UpSampling2D((1, 2))(x)[0, :, :, 0]
        array([[1., 1., 2., 2.]], dtype=float32)
    """

    def __init__(self, size: Union[int, Sequence[int]] = (2, 2),
                 data_format: Optional[str] = None, interpolation: str = "nearest",
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.data_format = data_format_arg(data_format, self.name)
        self.size = int_tuple(size, 2, "size", self.name)
        name = interpolation.lower() if isinstance(interpolation, str) else interpolation
        if name not in _INTERPOLATIONS:
            raise ValueError(f"{self.name}: interpolation expected one of "
                             f"{list(_INTERPOLATIONS)}, received {interpolation!r}")
        if name != "nearest":
            raise ValueError(f"{self.name}: interpolation {name!r} is not supported by nerve; "
                             f"only 'nearest' is")
        self.interpolation = name

    def compute_output_shape(self, input_shape: ShapeLike) -> Shape:
        require_rank(self, input_shape, 2, self.data_format)
        shape = list(input_shape)
        for axis, factor in zip(spatial_axes(2, self.data_format), self.size):
            if shape[axis] is not None:
                shape[axis] *= factor
        return tuple(shape)

    def get_config(self) -> Dict[str, Any]:
        return {**super().get_config(), "size": self.size, "data_format": self.data_format,
                "interpolation": self.interpolation}

    def _blocks(self, array, input_shape):
        """A 6-D view of an upsampled array: each spatial axis split into (input, repeat)."""
        axes, shape = spatial_axes(2, self.data_format), []
        for axis, n in enumerate(input_shape):
            shape += [n, self.size[axes.index(axis)]] if axis in axes else [n]
        return array.reshape(shape)

    def _repeat_axes(self):
        """The repeat axes of _blocks' view."""
        first = spatial_axes(2, self.data_format)[0]
        return (first + 1, first + 3)

    def _forward(self, lowering, x, training):
        y = lowering.empty(self.compute_output_shape(x.shape), x.dtype)
        spread = np.expand_dims(x, self._repeat_axes())
        return y, [(np.copyto, (self._blocks(y, x.shape), spread))], x.shape

    def _backward(self, lowering, input_shape, dy, need_dx, fused):
        if not need_dx:
            return None, []
        dx = lowering.empty(input_shape, dy.dtype)
        blocks = self._blocks(dy, input_shape)
        return dx, [(np.sum, (blocks, self._repeat_axes(), None, dx))]
