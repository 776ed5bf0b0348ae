"""NumPy twins of nerve._core's pooling kernels (NHWC; contract in cpp/pooling.h).

Output (oh, ow) pools rows [oh * stride_h - pad_top, + pool_h) and columns likewise, clipped
to the image: padding only moves the windows and is never a value. Same arguments, checks (in
the same order, with the same messages) and in-place semantics as the bindings.
"""
import numbers

import numpy as np

from ._checks import (as_array, float_dtype, raise_type, raise_value, require_c_contiguous,
                      require_disjoint, require_input, require_int64, require_ndim,
                      require_output, require_shape, require_writable, shape_str)

__all__ = ["max_pool2d_forward", "max_pool2d_backward", "avg_pool2d_forward",
           "avg_pool2d_backward"]

# As the bindings: larger pools and strides mean nothing and would overflow int64 geometry.
_MAX_WINDOW = 2**31 - 1


def max_pool2d_forward(y, argmax, x, pool_h, pool_w, stride_h, stride_w, pad_top, pad_left):
    """y, argmax (N, OH, OW, C) = each window's maximum of x (N, H, W, C) and its flat index
    h * W + w in the image: the first maximum in row-major window order, a NaN beating every
    number (np.argmax's rule)."""
    y, argmax, x = as_array(y, "y"), as_array(argmax, "argmax"), as_array(x, "x")
    window = _window_args(pool_h, pool_w, stride_h, stride_w, pad_top, pad_left)
    _require_forward_pair(y, x, window)
    require_int64(argmax, "argmax")
    require_c_contiguous(argmax, "argmax")
    require_writable(argmax, "argmax")
    require_shape(argmax, "argmax", y.shape)
    require_disjoint(y, "y", x, "x")
    require_disjoint(argmax, "argmax", x, "x")
    require_disjoint(argmax, "argmax", y, "y")
    n, _, width, channels = x.shape
    for oh, ow, rows, cols in _windows(x.shape, y.shape, window):
        span = cols.stop - cols.start
        patch = x[:, rows, cols, :].reshape(n, (rows.stop - rows.start) * span, channels)
        k = np.argmax(patch, axis=1)  # (N, C): position in the window, row-major
        y[:, oh, ow, :] = np.take_along_axis(patch, k[:, None, :], axis=1)[:, 0, :]
        argmax[:, oh, ow, :] = (rows.start + k // span) * width + cols.start + k % span


def max_pool2d_backward(dx, dy, argmax):
    """dx (N, H, W, C) = 0, then dx[n, argmax, c] += dy, for dy and argmax (N, OH, OW, C)."""
    dx, dy, argmax = as_array(dx, "dx"), as_array(dy, "dy"), as_array(argmax, "argmax")
    dtype = float_dtype(dy, "dy")
    _require_images(dy, "dy", dtype)
    require_int64(argmax, "argmax")
    require_c_contiguous(argmax, "argmax")
    require_shape(argmax, "argmax", dy.shape)
    require_output(dx, "dx", dtype)
    _require_like(dx, "dx", dy)
    _require_pixels(dx, "dx")
    require_disjoint(dx, "dx", dy, "dy")
    require_disjoint(dx, "dx", argmax, "argmax")
    pixels = dx.shape[1] * dx.shape[2]
    bad = (argmax < 0) | (argmax >= pixels)
    if bad.any():
        raise_value("argmax", f"indices in [0, {pixels}) (h * W + w)", str(argmax[bad][0]))
    n, channels = dx.shape[0], dx.shape[3]
    flat = dx.reshape(n, pixels, channels)
    flat[...] = 0
    images = np.arange(n).reshape(n, 1, 1, 1)
    lanes = np.arange(channels).reshape(1, 1, 1, channels)
    # Unbuffered, in output order: the C++ scatter's order of additions.
    np.add.at(flat, (images, argmax, lanes), dy)


def avg_pool2d_forward(y, x, pool_h, pool_w, stride_h, stride_w, pad_top, pad_left):
    """y (N, OH, OW, C) = the mean of each window's elements inside x (N, H, W, C)."""
    y, x = as_array(y, "y"), as_array(x, "x")
    window = _window_args(pool_h, pool_w, stride_h, stride_w, pad_top, pad_left)
    _require_forward_pair(y, x, window)
    require_disjoint(y, "y", x, "x")
    for oh, ow, rows, cols in _windows(x.shape, y.shape, window):
        y[:, oh, ow, :] = x[:, rows, cols, :].astype(np.float64).mean(axis=(1, 2))


def avg_pool2d_backward(dx, dy, pool_h, pool_w, stride_h, stride_w, pad_top, pad_left):
    """dx (N, H, W, C) = 0, then each window's in-bounds elements get dy / their count."""
    dx, dy = as_array(dx, "dx"), as_array(dy, "dy")
    window = _window_args(pool_h, pool_w, stride_h, stride_w, pad_top, pad_left)
    dtype = float_dtype(dy, "dy")
    require_input(dy, "dy", dtype)
    require_ndim(dy, "dy", 4)
    require_output(dx, "dx", dtype)
    require_ndim(dx, "dx", 4)
    _require_pixels(dx, "dx")
    _require_like(dy, "dy", dx)
    _require_output_grid(dy, "dy", dx, window)
    require_disjoint(dx, "dx", dy, "dy")
    total = np.zeros(dx.shape, np.float64)
    for oh, ow, rows, cols in _windows(dx.shape, dy.shape, window):
        count = (rows.stop - rows.start) * (cols.stop - cols.start)
        total[:, rows, cols, :] += (dy[:, oh, ow, :] / count)[:, None, None, :]
    dx[...] = total


# ---- geometry and checks ------------------------------------------------------------------

def _windows(in_shape, out_shape, window):
    """(oh, ow, rows, cols) of every output: the window's in-bounds rows and columns."""
    pool_h, pool_w, stride_h, stride_w, pad_top, pad_left = window
    for oh in range(out_shape[1]):
        top = oh * stride_h - pad_top
        rows = slice(max(top, 0), min(top + pool_h, in_shape[1]))
        for ow in range(out_shape[2]):
            left = ow * stride_w - pad_left
            yield oh, ow, rows, slice(max(left, 0), min(left + pool_w, in_shape[2]))


def _require_int(value, name, low, high):
    """An integer (int, NumPy integer or bool; not a float) in [low, high]."""
    if not isinstance(value, numbers.Integral):
        raise_type(name, "an integer", type(value).__name__)
    if not low <= int(value) <= high:
        raise_value(name, f"an integer in [{low}, {high}]", str(int(value)))
    return int(value)


def _window_args(pool_h, pool_w, stride_h, stride_w, pad_top, pad_left):
    pool_h = _require_int(pool_h, "pool_h", 1, _MAX_WINDOW)
    pool_w = _require_int(pool_w, "pool_w", 1, _MAX_WINDOW)
    stride_h = _require_int(stride_h, "stride_h", 1, _MAX_WINDOW)
    stride_w = _require_int(stride_w, "stride_w", 1, _MAX_WINDOW)
    return (pool_h, pool_w, stride_h, stride_w, _require_int(pad_top, "pad_top", 0, pool_h - 1),
            _require_int(pad_left, "pad_left", 0, pool_w - 1))


def _require_pixels(a, name):
    if a.shape[1] < 1 or a.shape[2] < 1:
        raise_value(name, "height and width >= 1", f"shape {shape_str(a.shape)}")


def _require_images(a, name, dtype):
    """A 4-D (N, H, W, C) input of dtype with at least one pixel per image."""
    require_input(a, name, dtype)
    require_ndim(a, name, 4)
    _require_pixels(a, name)


def _require_like(a, name, other):
    """4-D with other's batch and channels (any height and width)."""
    if a.ndim != 4 or a.shape[0] != other.shape[0] or a.shape[3] != other.shape[3]:
        raise_value(name, f"shape ({other.shape[0]}, any, any, {other.shape[3]})",
                    f"shape {shape_str(a.shape)}")


def _require_forward_pair(y, x, window):
    """x (N, H, W, C) and the output y (N, OH, OW, C) of a pass whose windows fit x."""
    dtype = float_dtype(x, "x")
    _require_images(x, "x", dtype)
    require_output(y, "y", dtype)
    _require_like(y, "y", x)
    _require_output_grid(y, "y", x, window)


def _require_output_grid(out, name, image, window):
    """1 to (size - 1 + pad) // stride + 1 rows and columns: every window overlaps the image."""
    _, _, stride_h, stride_w, pad_top, pad_left = window
    height, width = image.shape[1], image.shape[2]
    most_rows = (height - 1 + pad_top) // stride_h + 1
    most_cols = (width - 1 + pad_left) // stride_w + 1
    if not (1 <= out.shape[1] <= most_rows and 1 <= out.shape[2] <= most_cols):
        raise_value(name, f"1 to {most_rows} rows and 1 to {most_cols} columns (every window "
                          f"overlapping the input's {height}x{width} image)",
                    f"shape {shape_str(out.shape)}")
