"""Argument checks shared by the reference modules, one copy of each.

They mirror cpp/bindings/checks.h/.cpp so both backends reject the same arguments with the
same exception and message, "<argument>: expected <what>, received <what was given>":
TypeError for a wrong kind or dtype, ValueError for a wrong shape, layout, writability or
aliasing. Arrays are taken as they are, never converted, so in-place outputs stay visible.
"""
import math
import numbers

import numpy as np

_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))


def raise_type(name, expected, received):
    """TypeError in the shared message format (C++ raise_type)."""
    raise TypeError(f"{name}: expected {expected}, received {received}")


def raise_value(name, expected, received):
    """ValueError in the shared message format (C++ raise_value)."""
    raise ValueError(f"{name}: expected {expected}, received {received}")


def shape_str(shape):
    """A shape as C++ shape_str writes it: (), (3,), (2, 3)."""
    return "(" + ", ".join(str(d) for d in shape) + ("," if len(shape) == 1 else "") + ")"


def as_array(obj, name):
    """obj itself if it is an ndarray; array-likes are refused, not converted, so that an
    output is never written to a copy the caller cannot see."""
    if not isinstance(obj, np.ndarray):
        raise_type(name, "a numpy.ndarray", type(obj).__name__)
    return obj


def float_dtype(a, name):
    """a's dtype, which must be float32 or float64: the first array sets the others' dtype."""
    if a.dtype not in _FLOATS:
        raise_type(name, "dtype float32 or float64", f"dtype {a.dtype}")
    return a.dtype


def require_dtype(a, name, dtype):
    """The kernels take one dtype for all arrays; nothing is cast."""
    if a.dtype != dtype:
        raise_type(name, f"dtype {dtype} (like the other arrays)", f"dtype {a.dtype}")


def require_int64(a, name):
    """Integer labels are int64, as the kernels read them."""
    if a.dtype != np.int64:
        raise_type(name, "dtype int64", f"dtype {a.dtype}")


def require_ndim(a, name, ndim):
    if a.ndim != ndim:
        raise_value(name, f"a {ndim}-D array", f"shape {shape_str(a.shape)}")


def require_shape(a, name, shape):
    if a.shape != tuple(shape):
        raise_value(name, f"shape {shape_str(shape)}", f"shape {shape_str(a.shape)}")


def strides_str(a):
    """a's strides as C++ strides_str writes them: (8), (32, 8)."""
    return "(" + ", ".join(str(s) for s in a.strides) + ")"


def require_c_contiguous(a, name):
    """The kernels index flat row-major memory of whole elements: C-contiguous and aligned."""
    if not a.flags.c_contiguous:
        raise_value(name, "a C-contiguous array",
                    f"strides {strides_str(a)} for shape {shape_str(a.shape)}")
    require_aligned(a, name)


def require_aligned(a, name):
    """The C++ kernels cannot read a float64 at an odd address; NumPy can make such views."""
    offset = a.__array_interface__["data"][0] % a.itemsize
    if a.size > 0 and offset:
        raise_value(name, "an aligned array (data address a multiple of its item size)",
                    f"data at an address {offset} bytes off")


def require_writable(a, name):
    if not a.flags.writeable:
        raise_value(name, "a writable array", "a read-only array")


def require_input(a, name, dtype):
    """dtype, then C-contiguity: what every input array needs."""
    require_dtype(a, name, dtype)
    require_c_contiguous(a, name)


def require_output(a, name, dtype):
    """An input's checks, then writability: outputs are written in place."""
    require_input(a, name, dtype)
    require_writable(a, name)


def raise_overlap(name_a, name_b, allow_identical=False):
    also = " (or exactly the same array)" if allow_identical else ""
    raise_value(name_a, f"memory separate from {name_b}{also}", f"an array overlapping {name_b}")


def require_disjoint(a, name_a, b, name_b, allow_identical=False):
    """No shared bytes between a and b, since a kernel writing a would change b while reading
    it. With allow_identical the very same buffer is accepted (element-wise work in place).
    Like C++, compares [data, data + nbytes): call it on C-contiguous arrays."""
    if a.nbytes == 0 or b.nbytes == 0:
        return
    a0, b0 = a.__array_interface__["data"][0], b.__array_interface__["data"][0]
    if not (a0 < b0 + b.nbytes and b0 < a0 + a.nbytes):
        return
    if allow_identical and a0 == b0 and a.nbytes == b.nbytes:
        return
    raise_overlap(name_a, name_b, allow_identical)


def number(value, name):
    """value as a float; any real number (bool and numpy scalars too), nothing else."""
    if not isinstance(value, numbers.Real):
        raise_type(name, "a number", type(value).__name__)
    try:
        return float(value)
    except OverflowError:  # an int past 1e308: the bindings cannot convert it either
        raise_type(name, "a number that fits a float", "an int of magnitude >= 1e308")


def require_number(value, name, ok, expected):
    """value as a float; ValueError "<name>: expected <expected>" unless finite and ok(value)."""
    x = number(value, name)
    if not (math.isfinite(x) and ok(x)):
        raise_value(name, expected, repr(x))
    return x
