"""Spatial dropout (keras.layers.SpatialDropout1D/2D): Dropout that drops whole channels.

Adjacent timesteps or pixels of a feature map are strongly correlated, so dropping single
values hardly regularizes; these layers drop a channel everywhere in a sample at once. They are
Dropout with a noise_shape of 1 along the steps or the rows and columns.
"""
from .core import Dropout
from .spatial import data_format_arg

__all__ = ["SpatialDropout1D", "SpatialDropout2D"]


class _SpatialDropout(Dropout):
    _rank = None  # the inputs' rank, batch included

    def __init__(self, rate, noise_shape, seed=None, **kwargs):
        super().__init__(rate, noise_shape=noise_shape, seed=seed, **kwargs)

    def _check_rank(self, shape):
        if len(shape) != self._rank:
            raise ValueError(f"{self.name}: {type(self).__name__} takes inputs of rank "
                             f"{self._rank} ({self._layout}), received shape {tuple(shape)}")

    def _check_input_shapes(self, shapes):
        self._check_rank(shapes[0])
        super()._check_input_shapes(shapes)

    def get_config(self):
        config = super().get_config()
        del config["noise_shape"]  # fixed by the layer, not an argument
        return config


class SpatialDropout1D(_SpatialDropout):
    """Drops whole channels of (batch, steps, channels) inputs: noise shape (batch, 1,
    channels)."""

    _rank, _layout = 3, "batch, steps, channels"

    def __init__(self, rate, seed=None, **kwargs):
        super().__init__(rate, (None, 1, None), seed=seed, **kwargs)


class SpatialDropout2D(_SpatialDropout):
    """Drops whole channels of (batch, rows, cols, channels) inputs, or (batch, channels,
    rows, cols) with data_format="channels_first"."""

    _rank = 4

    def __init__(self, rate, data_format=None, seed=None, **kwargs):
        self.data_format = data_format_arg(data_format, "SpatialDropout2D")
        channels_last = self.data_format == "channels_last"
        self._layout = ("batch, rows, cols, channels" if channels_last
                        else "batch, channels, rows, cols")
        super().__init__(rate, (None, 1, 1, None) if channels_last else (None, None, 1, 1),
                         seed=seed, **kwargs)

    def get_config(self):
        return {**super().get_config(), "data_format": self.data_format}
