"""Losses with their gradient (NumPy twin of cpp/loss.h and its binding).

loss(grad, y_pred, y_true, kind, sample_weight=None, delta=1.0) returns
    sum_i(w_i * l_i) / rows        (Keras "sum_over_batch_size")
where l_i reduces row i over its columns (mean for mse/mae/huber/binary cross-entropy, sum
for the categorical kinds), and overwrites grad (when not None) with d loss / d y_pred.
Everything is computed in float64; grad is written in the arrays' dtype.
"""
import math
import numbers

import numpy as np

__all__ = ["LOSSES", "loss"]

LOSSES = (
    "binary_crossentropy", "binary_crossentropy_logits", "categorical_crossentropy",
    "categorical_crossentropy_logits", "sparse_categorical_crossentropy",
    "sparse_categorical_crossentropy_logits", "mse", "mae", "huber",
)
_SPARSE = ("sparse_categorical_crossentropy", "sparse_categorical_crossentropy_logits")
_EPSILON = 1e-7  # Keras' probability clip

# ---- argument checks shared with optim.py; messages as in cpp/bindings/checks.cpp ----------


def _shape_str(shape):
    return "(" + ", ".join(str(d) for d in shape) + ("," if len(shape) == 1 else "") + ")"


def _as_array(obj, name):
    if not isinstance(obj, np.ndarray):
        raise TypeError(f"{name}: expected a numpy.ndarray, received {type(obj).__name__}")
    return obj


def _float_dtype(a, name):
    if a.dtype not in (np.float32, np.float64):
        raise TypeError(f"{name}: expected dtype float32 or float64, received dtype {a.dtype}")
    return a.dtype


def _require_dtype(a, name, dtype):
    if a.dtype != dtype:
        raise TypeError(f"{name}: expected dtype {dtype} (like the other arrays), "
                        f"received dtype {a.dtype}")


def _require_shape(a, name, shape):
    if a.shape != tuple(shape):
        raise ValueError(f"{name}: expected shape {_shape_str(shape)}, "
                         f"received shape {_shape_str(a.shape)}")


def _require_ndim(a, name, ndim):
    if a.ndim != ndim:
        raise ValueError(f"{name}: expected a {ndim}-D array, received shape {_shape_str(a.shape)}")


def _require_c_contiguous(a, name):
    if not a.flags.c_contiguous:
        strides = ", ".join(str(s) for s in a.strides)
        raise ValueError(f"{name}: expected a C-contiguous array, received strides "
                         f"({strides}) for shape {_shape_str(a.shape)}")


def _require_writable(a, name):
    if not a.flags.writeable:
        raise ValueError(f"{name}: expected a writable array, received a read-only array")


def _require_input(a, name, dtype):
    _require_dtype(a, name, dtype)
    _require_c_contiguous(a, name)


def _require_output(a, name, dtype):
    _require_input(a, name, dtype)
    _require_writable(a, name)


def _raise_overlap(name_a, name_b):
    raise ValueError(f"{name_a}: expected memory separate from {name_b}, "
                     f"received an array overlapping {name_b}")


def _require_disjoint(a, name_a, b, name_b):
    if a.nbytes and b.nbytes and np.may_share_memory(a, b):
        _raise_overlap(name_a, name_b)


def _number(value, name):
    if not isinstance(value, numbers.Real):
        raise TypeError(f"{name}: expected a number, received {type(value).__name__}")
    return float(value)


def _require_number(value, name, ok, expected):
    """value as a float; ValueError "<name>: expected <expected>" unless ok(value)."""
    x = _number(value, name)
    if not (math.isfinite(x) and ok(x)):
        raise ValueError(f"{name}: expected {expected}, received {x!r}")
    return x

# ---- the losses ------------------------------------------------------------------------------


def _check(grad, y_pred, y_true, kind, sample_weight, delta):
    if not isinstance(kind, str):
        raise TypeError(f"kind: expected a str, received {type(kind).__name__}")
    if kind not in LOSSES:
        raise ValueError(f"kind: expected one of {', '.join(LOSSES)}, received {kind!r}")
    y_pred = _as_array(y_pred, "y_pred")
    dtype = _float_dtype(y_pred, "y_pred")
    _require_ndim(y_pred, "y_pred", 2)
    if y_pred.size == 0:
        raise ValueError(f"y_pred: expected at least one row and one column, "
                         f"received shape {_shape_str(y_pred.shape)}")
    _require_c_contiguous(y_pred, "y_pred")
    rows, cols = y_pred.shape
    y_true = _as_array(y_true, "y_true")
    if kind in _SPARSE:
        if y_true.dtype != np.int64:
            raise TypeError(f"y_true: expected dtype int64, received dtype {y_true.dtype}")
        _require_shape(y_true, "y_true", (rows,))
        _require_c_contiguous(y_true, "y_true")
        bad = (y_true < 0) | (y_true >= cols)
        if bad.any():
            raise ValueError(f"y_true: expected labels in [0, {cols}), "
                             f"received {int(y_true[bad][0])}")
    else:
        _require_dtype(y_true, "y_true", dtype)
        _require_shape(y_true, "y_true", (rows, cols))
        _require_c_contiguous(y_true, "y_true")
    if sample_weight is not None:
        sample_weight = _as_array(sample_weight, "sample_weight")
        _require_dtype(sample_weight, "sample_weight", dtype)
        _require_shape(sample_weight, "sample_weight", (rows,))
        _require_c_contiguous(sample_weight, "sample_weight")
    if grad is not None:
        grad = _as_array(grad, "grad")
        _require_dtype(grad, "grad", dtype)
        _require_shape(grad, "grad", (rows, cols))
        _require_c_contiguous(grad, "grad")
        _require_writable(grad, "grad")
        _require_disjoint(grad, "grad", y_pred, "y_pred")
        _require_disjoint(grad, "grad", y_true, "y_true")
        if sample_weight is not None:
            _require_disjoint(grad, "grad", sample_weight, "sample_weight")
    delta = _require_number(delta, "delta", lambda d: d > 0, "a finite number > 0")
    return y_true, sample_weight, delta


def _sigmoid(z):
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def _log_softmax(z):
    shifted = z - z.max(axis=1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))


def _clip(q, dtype):
    """Keras' clip to [eps, 1 - eps] (bounds rounded to dtype) and where it lets gradient pass."""
    low, high = float(dtype.type(_EPSILON)), float(dtype.type(1 - _EPSILON))
    return np.clip(q, low, high), (q >= low) & (q <= high)


def _categorical(p, y, dtype):
    """Keras: q = p / rowsum(p), l = -sum y log clip(q); gradient through the renormalisation."""
    s = p.sum(axis=1, keepdims=True)
    q = p / s
    c, passes = _clip(q, dtype)
    d_q = np.where(passes, -y / c, 0.0)  # d l / d q
    return -(y * np.log(c)).sum(axis=1), (d_q - (d_q * q).sum(axis=1, keepdims=True)) / s


def _per_sample(kind, p, y, delta, dtype):
    """(l_i for each row, d l_i / d p) in float64; y is one-hot for the sparse kinds."""
    cols = p.shape[1]
    if kind == "mse":
        e = p - y
        return (e * e).mean(axis=1), 2.0 * e / cols
    if kind == "mae":
        e = p - y
        return np.abs(e).mean(axis=1), np.sign(e) / cols
    if kind == "huber":
        e = p - y
        small = np.abs(e) <= delta
        value = np.where(small, 0.5 * e * e, delta * np.abs(e) - 0.5 * delta * delta)
        return value.mean(axis=1), np.where(small, e, delta * np.sign(e)) / cols
    if kind == "binary_crossentropy":
        c, passes = _clip(p, dtype)
        value = -(y * np.log(c) + (1.0 - y) * np.log1p(-c))
        return value.mean(axis=1), np.where(passes, (c - y) / (c * (1.0 - c)), 0.0) / cols
    if kind == "binary_crossentropy_logits":
        value = np.maximum(p, 0.0) - p * y + np.log1p(np.exp(-np.abs(p)))
        return value.mean(axis=1), (_sigmoid(p) - y) / cols
    if kind.endswith("_logits"):  # categorical: -sum y log softmax(z)
        log_prob = _log_softmax(p)
        return -(y * log_prob).sum(axis=1), np.exp(log_prob) * y.sum(axis=1, keepdims=True) - y
    return _categorical(p, y, dtype)


def loss(grad, y_pred, y_true, kind, sample_weight=None, delta=1.0):
    """Mean weighted loss of y_pred against y_true; grad (if given) is overwritten with its
    gradient. See the module docstring and nerve._core.loss."""
    y_true, sample_weight, delta = _check(grad, y_pred, y_true, kind, sample_weight, delta)
    rows, cols = y_pred.shape
    p = y_pred.astype(np.float64)
    if kind in _SPARSE:
        y = np.zeros((rows, cols))
        y[np.arange(rows), y_true] = 1.0
    else:
        y = y_true.astype(np.float64)
    w = np.ones(rows) if sample_weight is None else sample_weight.astype(np.float64)
    per_sample, d_per_sample = _per_sample(kind, p, y, delta, y_pred.dtype)
    if grad is not None:
        grad[...] = d_per_sample * (w / rows)[:, None]
    return float((w * per_sample).sum() / rows)
