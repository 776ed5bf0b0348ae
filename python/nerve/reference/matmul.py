"""Matrix products, the NumPy twin of cpp/matmul.h: same names, arguments, in-place outputs
and argument checks (TypeError for kind/dtype, ValueError for shape, layout, writability and
aliasing, messages "<argument>: expected ..., received ...")."""
import numpy as np

from .activations import ACTIVATIONS, activation_backward, activation_forward

__all__ = ["gemm", "dense_forward", "dense_backward"]

_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))


def _fail(error, name, expected, received):
    raise error(f"{name}: expected {expected}, received {received}")


def _array(obj, name, ndim, dtype=None):
    """obj itself as a float ndarray of `ndim` dimensions (dtype: that of the other arrays)."""
    if not isinstance(obj, np.ndarray):
        _fail(TypeError, name, "a numpy.ndarray", type(obj).__name__)
    if dtype is None and obj.dtype not in _FLOATS:
        _fail(TypeError, name, "dtype float32 or float64", f"dtype {obj.dtype}")
    if dtype is not None and obj.dtype != dtype:
        _fail(TypeError, name, f"dtype {dtype} (like the other arrays)", f"dtype {obj.dtype}")
    if obj.ndim != ndim:
        _fail(ValueError, name, f"a {ndim}-D array", f"shape {obj.shape}")
    return obj


def _require_shape(a, name, shape):
    if a.shape != tuple(shape):
        _fail(ValueError, name, f"shape {tuple(shape)}", f"shape {a.shape}")


def _require_layout(a, name, output):
    if not a.flags.c_contiguous:
        _fail(ValueError, name, "a C-contiguous array", f"strides {a.strides} for shape {a.shape}")
    if output and not a.flags.writeable:
        _fail(ValueError, name, "a writable array", "a read-only array")


def _same_buffer(a, b):
    return a.__array_interface__["data"][0] == b.__array_interface__["data"][0] and a.nbytes == b.nbytes


def _require_disjoint(a, name_a, b, name_b, allow_identical=False):
    if a.nbytes == 0 or b.nbytes == 0 or not np.may_share_memory(a, b):
        return
    if allow_identical and _same_buffer(a, b):
        return
    either = " (or exactly the same array)" if allow_identical else ""
    _fail(ValueError, name_a, f"memory separate from {name_b}{either}", f"an array overlapping {name_b}")


def _require_activation(activation, trainable):
    if not isinstance(activation, str):
        _fail(TypeError, "activation", "a str", type(activation).__name__)
    if activation not in ACTIVATIONS:
        _fail(ValueError, "activation", f"one of {', '.join(ACTIVATIONS)}", repr(activation))
    if trainable and activation == "step":
        _fail(ValueError, "activation", "an activation with a derivative (trainable)",
              "'step', which is not trainable")


def gemm(c, a, b, trans_a=False, trans_b=False, alpha=1.0, beta=0.0):
    """c = alpha * op(a) @ op(b) + beta * c, op = transpose when trans_*; beta == 0 overwrites."""
    c = _array(c, "c", 2)
    a = _array(a, "a", 2, c.dtype)
    b = _array(b, "b", 2, c.dtype)
    m, k = a.shape[::-1] if trans_a else a.shape
    _require_shape(b, "b", (b.shape[0], k) if trans_b else (k, b.shape[1]))
    n = b.shape[0] if trans_b else b.shape[1]
    _require_shape(c, "c", (m, n))
    _require_layout(c, "c", output=True)
    _require_layout(a, "a", output=False)
    _require_layout(b, "b", output=False)
    _require_disjoint(c, "c", a, "a")
    _require_disjoint(c, "c", b, "b")
    product = (a.T if trans_a else a) @ (b.T if trans_b else b)
    if beta == 0:
        c[...] = alpha * product
    else:
        c[...] = alpha * product + beta * c


def dense_forward(y, x, w, b, activation="linear", alpha=0.0, z=None):
    """z = x @ w + b, y = activation(z). x (batch, in), w (in, units), b (units,) or None."""
    y = _array(y, "y", 2)
    x = _array(x, "x", 2, y.dtype)
    w = _array(w, "w", 2, y.dtype)
    batch, inputs = x.shape
    _require_shape(w, "w", (inputs, w.shape[1]))
    units = w.shape[1]
    _require_shape(y, "y", (batch, units))
    _require_layout(y, "y", output=True)
    _require_layout(x, "x", output=False)
    _require_layout(w, "w", output=False)
    sources = [(x, "x"), (w, "w")]
    if b is not None:
        b = _array(b, "b", 1, y.dtype)
        _require_shape(b, "b", (units,))
        _require_layout(b, "b", output=False)
        sources.append((b, "b"))
    _require_activation(activation, trainable=False)
    if z is not None:
        z = _array(z, "z", 2, y.dtype)
        _require_shape(z, "z", (batch, units))
        _require_layout(z, "z", output=True)
        _require_disjoint(z, "z", y, "y", allow_identical=activation == "linear")
    for out, out_name in [(y, "y")] + ([(z, "z")] if z is not None else []):
        for source, source_name in sources:
            _require_disjoint(out, out_name, source, source_name)
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
    _require_shape(w, "w", (inputs, w.shape[1]))
    units = w.shape[1]
    for arr, name in ((dy, "dy"), (z, "z"), (y, "y"), (dz, "dz")):
        _require_shape(arr, name, (batch, units))
    _require_shape(dw, "dw", (inputs, units))
    outputs = [(dz, "dz"), (dw, "dw")]
    if dx is not None:
        dx = _array(dx, "dx", 2, dtype)
        _require_shape(dx, "dx", (batch, inputs))
        outputs.append((dx, "dx"))
    if db is not None:
        db = _array(db, "db", 1, dtype)
        _require_shape(db, "db", (units,))
        outputs.append((db, "db"))
    sources = [(dy, "dy"), (x, "x"), (w, "w"), (z, "z"), (y, "y")]
    for arr, name in outputs:
        _require_layout(arr, name, output=True)
    for arr, name in sources:
        _require_layout(arr, name, output=False)
    _require_activation(activation, trainable=True)
    for i, (out, out_name) in enumerate(outputs):
        for other, other_name in outputs[i + 1:] + sources:
            _require_disjoint(out, out_name, other, other_name, allow_identical=out is dz and other is dy)
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
