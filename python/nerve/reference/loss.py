"""Losses with their gradient (NumPy twin of cpp/loss.h and its binding).

loss(grad, y_pred, y_true, kind, sample_weight=None, delta=1.0) returns
    sum_i(w_i * l_i) / rows        (Keras "sum_over_batch_size")
where l_i reduces row i over its columns (mean for mse/mae/huber/binary cross-entropy, sum
for the categorical kinds), and overwrites grad (when not None) with d loss / d y_pred.
Everything is computed in float64; grad is written in the arrays' dtype.
"""
import numpy as np

from ._checks import (as_array, float_dtype, raise_type, raise_value, require_c_contiguous,
                      require_disjoint, require_dtype, require_int64, require_ndim,
                      require_number, require_shape, require_writable, shape_str)

__all__ = ["LOSSES", "loss"]

LOSSES = (
    "binary_crossentropy", "binary_crossentropy_logits", "categorical_crossentropy",
    "categorical_crossentropy_logits", "sparse_categorical_crossentropy",
    "sparse_categorical_crossentropy_logits", "mse", "mae", "huber",
)
_SPARSE = ("sparse_categorical_crossentropy", "sparse_categorical_crossentropy_logits")
_EPSILON = 1e-7  # Keras' probability clip

# ---- the losses ------------------------------------------------------------------------------


def _check(grad, y_pred, y_true, kind, sample_weight, delta):
    if not isinstance(kind, str):
        raise_type("kind", "a str", type(kind).__name__)
    if kind not in LOSSES:
        raise_value("kind", f"one of {', '.join(LOSSES)}", repr(kind))
    y_pred = as_array(y_pred, "y_pred")
    dtype = float_dtype(y_pred, "y_pred")
    require_ndim(y_pred, "y_pred", 2)
    if y_pred.size == 0:
        raise_value("y_pred", "at least one row and one column", f"shape {shape_str(y_pred.shape)}")
    require_c_contiguous(y_pred, "y_pred")
    rows, cols = y_pred.shape
    y_true = as_array(y_true, "y_true")
    if kind in _SPARSE:
        require_int64(y_true, "y_true")
        require_shape(y_true, "y_true", (rows,))
        require_c_contiguous(y_true, "y_true")
        bad = (y_true < 0) | (y_true >= cols)
        if bad.any():
            raise_value("y_true", f"labels in [0, {cols})", int(y_true[bad][0]))
    else:
        require_dtype(y_true, "y_true", dtype)
        require_shape(y_true, "y_true", (rows, cols))
        require_c_contiguous(y_true, "y_true")
    if sample_weight is not None:
        sample_weight = as_array(sample_weight, "sample_weight")
        require_dtype(sample_weight, "sample_weight", dtype)
        require_shape(sample_weight, "sample_weight", (rows,))
        require_c_contiguous(sample_weight, "sample_weight")
    if grad is not None:
        grad = as_array(grad, "grad")
        require_dtype(grad, "grad", dtype)
        require_shape(grad, "grad", (rows, cols))
        require_c_contiguous(grad, "grad")
        require_writable(grad, "grad")
        require_disjoint(grad, "grad", y_pred, "y_pred")
        require_disjoint(grad, "grad", y_true, "y_true")
        if sample_weight is not None:
            require_disjoint(grad, "grad", sample_weight, "sample_weight")
    delta = require_number(delta, "delta", lambda d: d > 0, "a finite number > 0")
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
