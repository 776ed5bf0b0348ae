"""Convolution, the NumPy twin of cpp/conv.h: same names, arguments, in-place outputs and
argument checks. Written tap by tap: for kernel tap (i, j) every output pixel reads the
strided slice of the zero-padded input starting at (i * dilation_h, j * dilation_w)."""
import numbers

import numpy as np

from ._checks import (number, raise_type, raise_value, require_disjoint, require_input,
                      require_output, require_shape, shape_str)
from .activations import _parse, activation_backward, activation_forward
from .matmul import _array

__all__ = ["conv2d_forward", "conv2d_backward"]


_GEOMETRY = (("stride_h", 1), ("stride_w", 1), ("dilation_h", 1), ("dilation_w", 1),
             ("pad_top", 0), ("pad_left", 0), ("groups", 1))


def _ints(values):
    """The geometry arguments as ints; like pybind11's conversion, before any other check."""
    for value, (name, _) in zip(values, _GEOMETRY):
        if not isinstance(value, numbers.Integral) or not -2**63 <= value < 2**63:
            raise_type(name, "an int that fits int64", repr(value))
    return [int(v) for v in values]


def _bounded(value, name, least):
    """Below 2**30, as the C++ binding demands (its index sums cannot overflow)."""
    if not least <= value < 2**30:
        raise_value(name, f"an int in [{least}, 2**30)", str(value))


def _axis(name, size, out, taps, stride, dilation, pad):
    span = (taps - 1) * dilation + 1
    if pad >= span:
        raise_value(name, f"padding before smaller than the kernel's span {span}", str(pad))
    if out < 1 or (out - 1) * stride - pad > size - 1:
        raise_value(name, f"an output size whose windows start inside the padded input ({size} "
                    f"inputs, span {span}, stride {stride}, padding before {pad})",
                    f"{out} outputs")


def _geometry(x, w, y, args):
    """The checked geometry, in the order cpp/bindings/conv.cpp checks it."""
    for value, (name, least) in zip(args, _GEOMETRY):
        _bounded(value, name, least)
    channels, filters = x.shape[3], w.shape[3]
    if channels % args[6] or filters % args[6]:
        raise_value("groups", f"a divisor of the channels ({channels}) and filters ({filters})",
                    str(args[6]))
    if w.shape[2] != channels // args[6]:
        raise_value("w", f"shape (any, any, {channels // args[6]}, any)",
                    f"shape {shape_str(w.shape)}")
    _bounded(w.shape[0], "w.shape[0]", 1)
    _bounded(w.shape[1], "w.shape[1]", 1)
    if y.shape[0] != x.shape[0] or y.shape[3] != filters:
        raise_value("y", f"shape ({x.shape[0]}, any, any, {filters})",
                    f"shape {shape_str(y.shape)}")
    _bounded(x.shape[1], "x.shape[1]", 1)
    _bounded(x.shape[2], "x.shape[2]", 1)
    _axis("y.shape[1]", x.shape[1], y.shape[1], w.shape[0], args[0], args[2], args[4])
    _axis("y.shape[2]", x.shape[2], y.shape[2], w.shape[1], args[1], args[3], args[5])
    return args


def _taps(x_padded_shape, w, y, args):
    """(i, j, row slice, column slice) of each kernel tap into the padded input."""
    stride_h, stride_w, dilation_h, dilation_w = args[:4]
    out_h, out_w = y.shape[1:3]
    for i in range(w.shape[0]):
        for j in range(w.shape[1]):
            rows = slice(i * dilation_h, i * dilation_h + (out_h - 1) * stride_h + 1, stride_h)
            cols = slice(j * dilation_w, j * dilation_w + (out_w - 1) * stride_w + 1, stride_w)
            yield i, j, rows, cols


def _padded_shape(x, w, y, args):
    """Input size with zeros before (the pads) and after (whatever the last window needs)."""
    spans = [(w.shape[d] - 1) * args[2 + d] + 1 for d in (0, 1)]
    needed = [(y.shape[1 + d] - 1) * args[d] + spans[d] for d in (0, 1)]
    return [max(needed[d], x.shape[1 + d] + args[4 + d]) for d in (0, 1)]


def _pad(x, w, y, args):
    height, width = _padded_shape(x, w, y, args)
    padded = np.zeros((x.shape[0], height, width, x.shape[3]), x.dtype)
    padded[:, args[4]:args[4] + x.shape[1], args[5]:args[5] + x.shape[2]] = x
    return padded


def conv2d_forward(y, x, w, b, stride_h=1, stride_w=1, dilation_h=1, dilation_w=1, pad_top=0,
                   pad_left=0, groups=1, activation="linear", alpha=0.0, z=None):
    """z = conv(x, w) + b, y = activation(z). x (N, H, W, C), w (KH, KW, C // groups, F),
    b (F,) or None, y and z (N, OH, OW, F)."""
    args = _ints((stride_h, stride_w, dilation_h, dilation_w, pad_top, pad_left, groups))
    alpha = number(alpha, "alpha")
    y = _array(y, "y", 4)
    x = _array(x, "x", 4, y.dtype)
    w = _array(w, "w", 4, y.dtype)
    _geometry(x, w, y, args)
    require_output(y, "y", y.dtype)
    require_input(x, "x", y.dtype)
    require_input(w, "w", y.dtype)
    sources = [(x, "x"), (w, "w")]
    if b is not None:
        b = _array(b, "b", 1, y.dtype)
        require_shape(b, "b", (w.shape[3],))
        require_input(b, "b", y.dtype)
        sources.append((b, "b"))
    _parse(activation)
    if z is not None:
        z = _array(z, "z", 4, y.dtype)
        require_shape(z, "z", y.shape)
        require_output(z, "z", y.dtype)
        require_disjoint(z, "z", y, "y", allow_identical=activation == "linear")
    for out, out_name in [(y, "y")] + ([(z, "z")] if z is not None else []):
        for source, source_name in sources:
            require_disjoint(out, out_name, source, source_name)
    if y.size == 0:
        return
    padded, count = _pad(x, w, y, args), args[6]
    cg, fg = x.shape[3] // count, w.shape[3] // count
    pre = np.zeros(y.shape, np.float64)
    for i, j, rows, cols in _taps(padded.shape, w, y, args):
        for g in range(count):
            pre[..., g * fg:(g + 1) * fg] += (padded[:, rows, cols, g * cg:(g + 1) * cg]
                                              @ w[i, j, :, g * fg:(g + 1) * fg])
    if b is not None:
        pre += b
    pre = pre.astype(y.dtype)
    rows = y.shape[0] * y.shape[1] * y.shape[2]
    activation_forward(y.reshape(rows, -1), pre.reshape(rows, -1), activation, alpha)
    if z is not None and z is not y:
        z[...] = pre


def conv2d_backward(dx, dw, db, dz, dy, x, w, z, y, stride_h=1, stride_w=1, dilation_h=1,
                    dilation_w=1, pad_top=0, pad_left=0, groups=1, activation="linear",
                    alpha=0.0, accumulate=False):
    """dz = activation'(z) * dy; dx = the input gradient (dx may be None); dw (+)= the kernel
    gradient; db (+)= dz summed per filter (db may be None). dz may be exactly dy."""
    args = _ints((stride_h, stride_w, dilation_h, dilation_w, pad_top, pad_left, groups))
    alpha = number(alpha, "alpha")
    dw = _array(dw, "dw", 4)
    dtype = dw.dtype
    dz = _array(dz, "dz", 4, dtype)
    dy = _array(dy, "dy", 4, dtype)
    x = _array(x, "x", 4, dtype)
    w = _array(w, "w", 4, dtype)
    z = _array(z, "z", 4, dtype)
    y = _array(y, "y", 4, dtype)
    _geometry(x, w, y, args)
    for arr, name in ((dy, "dy"), (z, "z"), (dz, "dz")):
        require_shape(arr, name, y.shape)
    require_shape(dw, "dw", w.shape)
    outputs = [(dz, "dz"), (dw, "dw")]
    if dx is not None:
        dx = _array(dx, "dx", 4, dtype)
        require_shape(dx, "dx", x.shape)
        outputs.append((dx, "dx"))
    if db is not None:
        db = _array(db, "db", 1, dtype)
        require_shape(db, "db", (w.shape[3],))
        outputs.append((db, "db"))
    sources = [(dy, "dy"), (x, "x"), (w, "w"), (z, "z"), (y, "y")]
    for arr, name in outputs:
        require_output(arr, name, dtype)
    for arr, name in sources:
        require_input(arr, name, dtype)
    _parse(activation, trainable=True)
    for i, (out, out_name) in enumerate(outputs):
        for other, other_name in outputs[i + 1:] + sources:
            require_disjoint(out, out_name, other, other_name,
                             allow_identical=out_name == "dz" and other_name == "dy")
    filters, rows = w.shape[3], y.shape[0] * y.shape[1] * y.shape[2]
    activation_backward(*(a.reshape(rows, filters) for a in (dz, dy, z, y)), activation, alpha)
    padded, count = _pad(x, w, y, args), args[6]
    cg, fg = x.shape[3] // count, filters // count
    grad_w = np.zeros(w.shape, np.float64)
    grad_padded = np.zeros(padded.shape, np.float64)
    for i, j, rows, cols in _taps(padded.shape, w, y, args):
        for g in range(count):
            taps, grads = padded[:, rows, cols, g * cg:(g + 1) * cg], dz[..., g * fg:(g + 1) * fg]
            grad_w[i, j, :, g * fg:(g + 1) * fg] += np.einsum("nhwc,nhwf->cf", taps, grads)
            grad_padded[:, rows, cols, g * cg:(g + 1) * cg] += grads @ w[i, j, :, g * fg:(g + 1) * fg].T
    if dx is not None:
        top, left = args[4:6]
        dx[...] = grad_padded[:, top:top + x.shape[1], left:left + x.shape[2]]
    if accumulate:
        dw += grad_w.astype(dtype)
    else:
        dw[...] = grad_w
    if db is not None:
        sums = dz.sum(axis=(0, 1, 2), dtype=np.float64).astype(dtype)
        if accumulate:
            db += sums
        else:
            db[...] = sums
