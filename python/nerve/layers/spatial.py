"""Argument parsing and geometry shared by the convolution, pooling and resizing layers.

Sizes follow Keras (and TensorFlow): "valid" keeps only windows inside the input; "same" gives
ceil(n / stride) outputs and pads the shortfall, the smaller half before (an even kernel pads
one more after).
"""
import numbers

from ..utils import LARGEST_DIMENSION, is_count

__all__ = ["int_tuple", "padding_arg", "data_format_arg", "output_length", "padding_amounts",
           "spatial_axes", "require_rank"]


def int_tuple(value, rank, name, layer, smallest=1):
    """`value` (an int, or a sequence of `rank` ints >= smallest) as a tuple of `rank` ints."""
    items = (value,) * rank if isinstance(value, numbers.Integral) else value
    try:
        items = tuple(items)
    except TypeError:
        items = None
    if items is None or len(items) != rank or not all(is_count(v, smallest, LARGEST_DIMENSION)
                                                      for v in items):
        raise ValueError(f"{layer}: {name} expected an int >= {smallest} (at most "
                         f"{LARGEST_DIMENSION}) or a tuple of {rank} such ints, received "
                         f"{value!r}")
    return tuple(int(v) for v in items)


def padding_arg(value, layer, allowed=("valid", "same")):
    padding = value.lower() if isinstance(value, str) else value
    if padding not in allowed:
        raise ValueError(f"{layer}: padding expected one of {list(allowed)}, received {value!r}")
    return padding


def data_format_arg(value, layer):
    data_format = "channels_last" if value is None else value
    if data_format not in ("channels_last", "channels_first"):
        raise ValueError(f"{layer}: data_format expected 'channels_last' or 'channels_first', "
                         f"received {value!r}")
    return data_format


def spatial_axes(rank, data_format):
    """The axes of the `rank` spatial dimensions of a (batch, ..., channels) or
    (batch, channels, ...) shape."""
    first = 1 if data_format == "channels_last" else 2
    return tuple(range(first, first + rank))


def require_rank(layer, input_shape, rank, data_format):
    """ValueError naming `layer` unless input_shape has `rank` spatial dimensions."""
    if len(input_shape) != rank + 2:
        dims = "steps" if rank == 1 else "rows, cols" if rank == 2 else "spatial dims"
        layout = (f"(batch, {dims}, channels)" if data_format == "channels_last"
                  else f"(batch, channels, {dims})")
        raise ValueError(f"{layer.name}: {type(layer).__name__} takes {rank + 2}-D inputs of "
                         f"shape {layout}, received {tuple(input_shape)}")


def output_length(length, kernel, stride, dilation, padding):
    """Outputs along one axis of `length` inputs (None stays None); below 1 means the window
    does not fit."""
    if length is None:
        return None
    if padding == "same":
        return -(-length // stride)
    span = (kernel - 1) * dilation + 1
    return (length - span) // stride + 1 if length >= span else 0


def padding_amounts(length, kernel, stride, dilation, padding):
    """(before, after): the zeros "same" padding adds along an axis; (0, 0) for "valid"."""
    if padding != "same":
        return 0, 0
    span = (kernel - 1) * dilation + 1
    total = max((output_length(length, kernel, stride, dilation, padding) - 1) * stride + span
                - length, 0)
    return total // 2, total - total // 2
