"""Spatial dropout (keras.layers.SpatialDropout1D/2D): Dropout that drops whole channels.

Adjacent timesteps or pixels of a feature map are strongly correlated, so dropping single
values hardly regularizes; these layers drop a channel everywhere in a sample at once. They are
Dropout with a noise_shape of 1 along the steps or the rows and columns.
"""
from typing import Any, Dict, Optional, Sequence

from .core import Dropout
from .spatial import data_format_arg

__all__ = ["SpatialDropout1D", "SpatialDropout2D"]


class _SpatialDropout(Dropout):
    _rank: Any = None  # the inputs' rank, batch included

    def __init__(self, rate: float, noise_shape: Sequence[Optional[int]],
                 seed: Optional[int] = None, **kwargs: Any) -> None:
        super().__init__(rate, noise_shape=noise_shape, seed=seed, **kwargs)

    def _check_rank(self, shape):
        if len(shape) != self._rank:
            raise ValueError(f"{self.name}: {type(self).__name__} takes inputs of rank "
                             f"{self._rank} ({self._layout}), received shape {tuple(shape)}")

    def _check_input_shapes(self, shapes):
        self._check_rank(shapes[0])
        super()._check_input_shapes(shapes)

    def get_config(self) -> Dict[str, Any]:
        config = super().get_config()
        del config["noise_shape"]  # fixed by the layer, not an argument
        return config


class SpatialDropout1D(_SpatialDropout):
    """Dropout of whole channels of (batch, steps, channels) inputs, in training only.

    A dropped channel is zero at every step of that sample (the mask's shape is (batch, 1,
    channels)); the kept values are scaled by 1 / (1 - rate). Input shape: (batch, steps,
    channels). Output shape: the input's.

    Args:
        rate: Float in [0, 1), the fraction of channels dropped.
        seed: Int, default None: a generator of the layer's own.
        **kwargs: The base Layer's arguments (name, trainable, dtype, input_shape).

    Raises:
        ValueError: When rate is not in [0, 1); when called, on inputs not 3-D.

    Example:
        >>> import numpy as np, nerve
        >>> layer = nerve.layers.SpatialDropout1D(0.5, seed=0)
        >>> y = layer(np.ones((1, 3, 4), "float32"), training=True)
        >>> y.shape, bool((y == y[:, :1]).all())
        ((1, 3, 4), True)
    """

    _rank, _layout = 3, "batch, steps, channels"

    def __init__(self, rate: float, seed: Optional[int] = None, **kwargs: Any) -> None:
        super().__init__(rate, (None, 1, None), seed=seed, **kwargs)


class SpatialDropout2D(_SpatialDropout):
    """Dropout of whole channels of images, in training only.

    A dropped channel is zero at every pixel of that sample; the kept values are scaled by
    1 / (1 - rate). Input shape: (batch, rows, cols, channels), or (batch, channels, rows,
    cols) with channels_first. Output shape: the input's.

    Args:
        rate: Float in [0, 1), the fraction of channels dropped.
        data_format: "channels_last" or "channels_first", default None (channels_last).
        seed: Int, default None: a generator of the layer's own.
        **kwargs: The base Layer's arguments (name, trainable, dtype, input_shape).

    Raises:
        ValueError: When rate is not in [0, 1) or data_format not one of those; when
            called, on inputs not 4-D.

    Example:
        >>> import numpy as np, nerve
        >>> layer = nerve.layers.SpatialDropout2D(0.5, seed=0)
        >>> y = layer(np.ones((1, 2, 2, 3), "float32"), training=True)
        >>> y.shape, bool((y == y[:, :1, :1]).all())
        ((1, 2, 2, 3), True)
    """

    _rank = 4

    def __init__(self, rate: float, data_format: Optional[str] = None,
                 seed: Optional[int] = None, **kwargs: Any) -> None:
        self.data_format = data_format_arg(data_format, "SpatialDropout2D")
        channels_last = self.data_format == "channels_last"
        self._layout = ("batch, rows, cols, channels" if channels_last
                        else "batch, channels, rows, cols")
        super().__init__(rate, (None, 1, 1, None) if channels_last else (None, None, 1, 1),
                         seed=seed, **kwargs)

    def get_config(self) -> Dict[str, Any]:
        return {**super().get_config(), "data_format": self.data_format}
