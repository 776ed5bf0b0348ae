"""Matrix products, the NumPy twin of cpp/matmul.h: same names, arguments, in-place outputs
and argument checks (TypeError for kind/dtype, ValueError for shape, layout, writability and
aliasing, messages "<argument>: expected ..., received ...")."""
import numpy as np

from ._checks import (as_array, float_dtype, number, raise_value, require_aligned,
                      require_disjoint, require_dtype, require_input, require_ndim,
                      require_output, require_shape, shape_str, strides_str)
from .activations import _parse, activation_backward, activation_forward

__all__ = ["gemm", "matmul", "dense_forward", "dense_backward"]


def _array(obj, name, ndim, dtype=None):
    """obj itself as a float ndarray of `ndim` dimensions (dtype: that of the other arrays)."""
    a = as_array(obj, name)
    if dtype is None:
        float_dtype(a, name)
    else:
        require_dtype(a, name, dtype)
    require_ndim(a, name, ndim)
    return a


def gemm(c, a, b, trans_a=False, trans_b=False, alpha=1.0, beta=0.0):
    """c = alpha * op(a) @ op(b) + beta * c, op = transpose when trans_*; beta == 0 overwrites."""
    alpha, beta = number(alpha, "alpha"), number(beta, "beta")  # converted first, as pybind11 does
    c = _array(c, "c", 2)
    a = _array(a, "a", 2, c.dtype)
    b = _array(b, "b", 2, c.dtype)
    m, k = a.shape[::-1] if trans_a else a.shape
    require_shape(b, "b", (b.shape[0], k) if trans_b else (k, b.shape[1]))
    n = b.shape[0] if trans_b else b.shape[1]
    require_shape(c, "c", (m, n))
    require_output(c, "c", c.dtype)
    require_input(a, "a", c.dtype)
    require_input(b, "b", c.dtype)
    require_disjoint(c, "c", a, "a")
    require_disjoint(c, "c", b, "b")
    product = (a.T if trans_a else a) @ (b.T if trans_b else b)
    if beta == 0:
        c[...] = alpha * product
    else:
        c[...] = alpha * product + beta * c


def _read_transposed(x, name):
    """Whether the kernel reads x as the transpose of a C-contiguous array (an x.T view);
    any other layout than those two is rejected."""
    transposed = not x.flags.c_contiguous
    if transposed and not x.flags.f_contiguous:
        raise_value(name, "a C-contiguous array or the transpose of one",
                    f"strides {strides_str(x)} for shape {shape_str(x.shape)}")
    require_aligned(x, name)
    return transposed


def matmul(a, b):
    """a @ b as a new C-contiguous array: a (M, K), b (K, N) of one float dtype, each
    C-contiguous or the transpose of a C-contiguous array."""
    a = _array(a, "a", 2)
    b = _array(b, "b", 2, a.dtype)
    require_shape(b, "b", (a.shape[1], b.shape[1]))
    _read_transposed(a, "a")
    _read_transposed(b, "b")
    return np.ascontiguousarray(a @ b)


def dense_forward(y, x, w, b, activation="linear", alpha=0.0, z=None):
    """z = x @ w + b, y = activation(z). x (batch, in), w (in, units), b (units,) or None."""
    y = _array(y, "y", 2)
    x = _array(x, "x", 2, y.dtype)
    w = _array(w, "w", 2, y.dtype)
    batch, inputs = x.shape
    require_shape(w, "w", (inputs, w.shape[1]))
    units = w.shape[1]
    require_shape(y, "y", (batch, units))
    require_output(y, "y", y.dtype)
    require_input(x, "x", y.dtype)
    require_input(w, "w", y.dtype)
    sources = [(x, "x"), (w, "w")]
    if b is not None:
        b = _array(b, "b", 1, y.dtype)
        require_shape(b, "b", (units,))
        require_input(b, "b", y.dtype)
        sources.append((b, "b"))
    _parse(activation)
    if z is not None:
        z = _array(z, "z", 2, y.dtype)
        require_shape(z, "z", (batch, units))
        require_output(z, "z", y.dtype)
        require_disjoint(z, "z", y, "y", allow_identical=activation == "linear")
    for out, out_name in [(y, "y")] + ([(z, "z")] if z is not None else []):
        for source, source_name in sources:
            require_disjoint(out, out_name, source, source_name)
    pre = x @ w
    if b is not None:
        pre += b
    activation_forward(y, pre, activation, alpha)
    if z is not None and z is not y:
        z[...] = pre


def dense_backward(dx, dw, db, dz, dy, x, w, z, y, activation="linear", alpha=0.0,
                   accumulate=False):
    """dz = activation'(z) * dy; dx = dz @ w.T; dw (+)= x.T @ dz; db (+)= dz summed over rows.
    dx and db may be None; dz may be exactly dy."""
    dw = _array(dw, "dw", 2)
    dtype = dw.dtype
    dz = _array(dz, "dz", 2, dtype)
    dy = _array(dy, "dy", 2, dtype)
    x = _array(x, "x", 2, dtype)
    w = _array(w, "w", 2, dtype)
    z = _array(z, "z", 2, dtype)
    y = _array(y, "y", 2, dtype)
    batch, inputs = x.shape
    require_shape(w, "w", (inputs, w.shape[1]))
    units = w.shape[1]
    for arr, name in ((dy, "dy"), (z, "z"), (y, "y"), (dz, "dz")):
        require_shape(arr, name, (batch, units))
    require_shape(dw, "dw", (inputs, units))
    outputs = [(dz, "dz"), (dw, "dw")]
    if dx is not None:
        dx = _array(dx, "dx", 2, dtype)
        require_shape(dx, "dx", (batch, inputs))
        outputs.append((dx, "dx"))
    if db is not None:
        db = _array(db, "db", 1, dtype)
        require_shape(db, "db", (units,))
        outputs.append((db, "db"))
    sources = [(dy, "dy"), (x, "x"), (w, "w"), (z, "z"), (y, "y")]
    for arr, name in outputs:
        require_output(arr, name, dtype)
    for arr, name in sources:
        require_input(arr, name, dtype)
    _parse(activation, trainable=True)
    for i, (out, out_name) in enumerate(outputs):
        for other, other_name in outputs[i + 1:] + sources:
            # By role, not identity: dw given the same array as dz and dy is still an overlap.
            require_disjoint(out, out_name, other, other_name,
                             allow_identical=out_name == "dz" and other_name == "dy")
    activation_backward(dz, dy, z, y, activation, alpha)  # dz may be dy: read before written
    if dx is not None:
        dx[...] = dz @ w.T
    if accumulate:
        dw += x.T @ dz
    else:
        dw[...] = x.T @ dz
    if db is not None:
        if accumulate:
            db += dz.sum(axis=0)
        else:
            db[...] = dz.sum(axis=0)
