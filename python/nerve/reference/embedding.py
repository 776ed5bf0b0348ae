"""Embedding gather and scatter-add, the NumPy twin of cpp/embedding.h: same names,
arguments, in-place outputs and argument checks (in the bindings' order). Every index is
checked against the table's rows before anything is written."""
import numpy as np

from ._checks import (as_array, float_dtype, raise_type, raise_value, require_c_contiguous,
                      require_disjoint, require_dtype, require_input, require_ndim,
                      require_output, require_shape)

__all__ = ["embedding_forward", "embedding_backward"]


def _indices(obj, rows):
    """indices as a 1-D int32 / int64 contiguous array with every value in [0, rows)."""
    indices = as_array(obj, "indices")
    if indices.dtype not in (np.dtype(np.int32), np.dtype(np.int64)):
        raise_type("indices", "dtype int32 or int64", f"dtype {indices.dtype}")
    require_ndim(indices, "indices", 1)
    require_c_contiguous(indices, "indices")
    bad = np.flatnonzero((indices < 0) | (indices >= rows))
    if len(bad):
        raise_value("indices", f"values in [0, {rows}) (the table's rows)",
                    f"{indices[bad[0]]} at position {bad[0]}")
    return indices


def _float_matrix(obj, name, dtype=None):
    a = as_array(obj, name)
    if dtype is None:
        float_dtype(a, name)
    else:
        require_dtype(a, name, dtype)
    require_ndim(a, name, 2)
    return a


def embedding_forward(y, table, indices):
    """y (n, dim) = table (rows, dim) [indices (n,)]."""
    y = _float_matrix(y, "y")
    table = _float_matrix(table, "table", y.dtype)
    indices = _indices(indices, table.shape[0])
    require_shape(y, "y", (len(indices), table.shape[1]))
    require_output(y, "y", y.dtype)
    require_input(table, "table", y.dtype)
    require_disjoint(y, "y", table, "table")
    require_disjoint(y, "y", indices, "indices")
    y[...] = table[indices]


def embedding_backward(dtable, dy, indices, accumulate=False):
    """dtable (rows, dim) (+)= the rows of dy (n, dim) added at their indices (a repeated
    index adds each of its rows); overwrites dtable unless accumulate."""
    dtable = _float_matrix(dtable, "dtable")
    dy = _float_matrix(dy, "dy", dtable.dtype)
    indices = _indices(indices, dtable.shape[0])
    require_shape(dy, "dy", (len(indices), dtable.shape[1]))
    require_output(dtable, "dtable", dtable.dtype)
    require_input(dy, "dy", dtable.dtype)
    require_disjoint(dtable, "dtable", dy, "dy")
    require_disjoint(dtable, "dtable", indices, "indices")
    if not accumulate:
        dtable[...] = 0
    np.add.at(dtable, indices, dy)
