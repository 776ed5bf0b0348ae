"""Batch and layer normalization, the NumPy twin of cpp/normalization.h: same names, arguments,
in-place outputs and argument checks (in the bindings' order, so both raise the same message).

Batch normalization takes x, y as (outer, C, inner) arrays (channels_last data: inner = 1)
with per-channel statistics (C,); layer normalization (rows, features) with per-row ones."""
import numpy as np

from ._checks import (as_array, float_dtype, require_disjoint, require_dtype, require_input,
                      require_ndim, require_number, require_output, require_shape)

__all__ = ["batch_norm_forward", "batch_norm_backward", "batch_norm_inference",
           "batch_norm_inference_backward", "layer_norm_forward", "layer_norm_backward"]


def _epsilon(epsilon):
    return require_number(epsilon, "epsilon", lambda e: e > 0, "a finite number > 0")


def _first(obj, name, ndim):
    a = as_array(obj, name)
    float_dtype(a, name)
    require_ndim(a, name, ndim)
    return a


def _like(obj, name, ndim, dtype, shape=None):
    a = as_array(obj, name)
    require_dtype(a, name, dtype)
    require_ndim(a, name, ndim)
    if shape is not None:
        require_shape(a, name, shape)
    return a


def _optional(obj, name, dtype, size):
    return None if obj is None else _like(obj, name, 1, dtype, (size,))


def _require_arguments(outputs, inputs, dtype):
    """Outputs writable and disjoint from each other and from every input (None: absent)."""
    outputs = [(a, n) for a, n in outputs if a is not None]
    inputs = [(a, n) for a, n in inputs if a is not None]
    for a, name in outputs:
        require_output(a, name, dtype)
    for a, name in inputs:
        require_input(a, name, dtype)
    for i, (a, name) in enumerate(outputs):
        for b, other in outputs[i + 1:] + inputs:
            require_disjoint(a, name, b, other)


def _per_channel(v):
    return v.astype(np.float64).reshape(1, -1, 1)


def _normalized(x, mean, variance, epsilon):
    """xhat = (x - mean) / sqrt(variance + epsilon) in float64, per channel of (outer, C, inner)."""
    return (x.astype(np.float64) - _per_channel(mean)) / np.sqrt(_per_channel(variance) + epsilon)


def _scale_shift(y, xhat, gamma, beta):
    out = xhat if gamma is None else xhat * _per_channel(gamma)
    y[...] = out if beta is None else out + _per_channel(beta)


def _apply_arguments(y, mean, variance, x, gamma, beta, epsilon, training):
    epsilon = _epsilon(epsilon)
    y = _first(y, "y", 3)
    x = _like(x, "x", 3, y.dtype)
    outer, channels, inner = x.shape
    require_shape(y, "y", x.shape)
    mean = _like(mean, "mean", 1, y.dtype, (channels,))
    variance = _like(variance, "variance", 1, y.dtype, (channels,))
    gamma = _optional(gamma, "gamma", y.dtype, channels)
    beta = _optional(beta, "beta", y.dtype, channels)
    statistics = [(mean, "mean"), (variance, "variance")]
    outputs = [(y, "y")] + (statistics if training else [])
    inputs = [(x, "x")] + ([] if training else statistics) + [(gamma, "gamma"), (beta, "beta")]
    _require_arguments(outputs, inputs, y.dtype)
    return y, mean, variance, x, gamma, beta, epsilon


def batch_norm_forward(y, mean, variance, x, gamma, beta, epsilon):
    """mean, variance (C,) = per-channel batch moments of x (outer, C, inner), the variance
    biased (keras.ops.moments); y = (x - mean) / sqrt(variance + epsilon) * gamma + beta.
    An empty batch gives mean 0 and variance 0."""
    y, mean, variance, x, gamma, beta, epsilon = _apply_arguments(
        y, mean, variance, x, gamma, beta, epsilon, training=True)
    values = x.astype(np.float64)
    if values.shape[0] * values.shape[2] == 0:
        mean[...], variance[...] = 0, 0
        return
    mean[...] = values.mean(axis=(0, 2))
    variance[...] = ((values - values.mean(axis=(0, 2), keepdims=True)) ** 2).mean(axis=(0, 2))
    _scale_shift(y, _normalized(x, mean, variance, epsilon), gamma, beta)


def batch_norm_inference(y, x, mean, variance, gamma, beta, epsilon):
    """y = (x - mean) / sqrt(variance + epsilon) * gamma + beta with the given statistics."""
    y, mean, variance, x, gamma, beta, epsilon = _apply_arguments(
        y, mean, variance, x, gamma, beta, epsilon, training=False)
    _scale_shift(y, _normalized(x, mean, variance, epsilon), gamma, beta)


def _gradient_arguments(dx, dgamma, dbeta, dy, x, mean, variance, gamma, epsilon):
    epsilon = _epsilon(epsilon)
    dy = _first(dy, "dy", 3)
    outer, channels, inner = dy.shape
    x = _like(x, "x", 3, dy.dtype, dy.shape)
    mean = _like(mean, "mean", 1, dy.dtype, (channels,))
    variance = _like(variance, "variance", 1, dy.dtype, (channels,))
    gamma = _optional(gamma, "gamma", dy.dtype, channels)
    dx = None if dx is None else _like(dx, "dx", 3, dy.dtype, dy.shape)
    dgamma = _optional(dgamma, "dgamma", dy.dtype, channels)
    dbeta = _optional(dbeta, "dbeta", dy.dtype, channels)
    _require_arguments([(dx, "dx"), (dgamma, "dgamma"), (dbeta, "dbeta")],
                       [(dy, "dy"), (x, "x"), (mean, "mean"), (variance, "variance"),
                        (gamma, "gamma")], dy.dtype)
    return dx, dgamma, dbeta, dy, x, mean, variance, gamma, epsilon


def _write_weight_grads(dgamma, dbeta, g, xhat, accumulate):
    """dgamma (+)= sum(g * xhat), dbeta (+)= sum(g) per channel; returns both sums."""
    sum_g, sum_g_xhat = g.sum(axis=(0, 2)), (g * xhat).sum(axis=(0, 2))
    for out, value in ((dgamma, sum_g_xhat), (dbeta, sum_g)):
        if out is not None:
            out[...] = out + value if accumulate else value
    return sum_g, sum_g_xhat


def batch_norm_backward(dx, dgamma, dbeta, dy, x, mean, variance, gamma, epsilon,
                        accumulate=False):
    """The training-mode gradient, through the batch statistics: dbeta = sum dy, dgamma =
    sum dy * xhat, dx = gamma / sqrt(variance + eps) / m * (m * dy - dbeta - xhat * dgamma),
    m = outer * inner. dx, dgamma, dbeta may be None; accumulate adds into dgamma, dbeta."""
    dx, dgamma, dbeta, dy, x, mean, variance, gamma, epsilon = _gradient_arguments(
        dx, dgamma, dbeta, dy, x, mean, variance, gamma, epsilon)
    g, xhat = dy.astype(np.float64), _normalized(x, mean, variance, epsilon)
    sum_g, sum_g_xhat = _write_weight_grads(dgamma, dbeta, g, xhat, accumulate)
    if dx is not None and dx.size:
        m = dy.shape[0] * dy.shape[2]
        scale = (1.0 if gamma is None else _per_channel(gamma)) / np.sqrt(
            _per_channel(variance) + epsilon)
        dx[...] = scale / m * (m * g - sum_g.reshape(1, -1, 1)
                               - xhat * sum_g_xhat.reshape(1, -1, 1))


def batch_norm_inference_backward(dx, dgamma, dbeta, dy, x, mean, variance, gamma, epsilon,
                                  accumulate=False):
    """The gradient of batch_norm_inference (statistics constant): dx = dy * gamma /
    sqrt(variance + eps); dgamma = sum dy * xhat, dbeta = sum dy."""
    dx, dgamma, dbeta, dy, x, mean, variance, gamma, epsilon = _gradient_arguments(
        dx, dgamma, dbeta, dy, x, mean, variance, gamma, epsilon)
    g = dy.astype(np.float64)
    _write_weight_grads(dgamma, dbeta, g, _normalized(x, mean, variance, epsilon), accumulate)
    if dx is not None:
        scale = 1.0 if gamma is None else _per_channel(gamma)
        dx[...] = g * scale / np.sqrt(_per_channel(variance) + epsilon)


def layer_norm_forward(y, mean, inv_std, x, gamma, beta, epsilon):
    """Per row of x (rows, features): mean and inv_std = 1 / sqrt(variance + epsilon) (rows,),
    variance biased; y = (x - mean) * inv_std * gamma + beta."""
    epsilon = _epsilon(epsilon)
    y = _first(y, "y", 2)
    x = _like(x, "x", 2, y.dtype)
    rows, features = x.shape
    require_shape(y, "y", x.shape)
    mean = _like(mean, "mean", 1, y.dtype, (rows,))
    inv_std = _like(inv_std, "inv_std", 1, y.dtype, (rows,))
    gamma = _optional(gamma, "gamma", y.dtype, features)
    beta = _optional(beta, "beta", y.dtype, features)
    _require_arguments([(y, "y"), (mean, "mean"), (inv_std, "inv_std")],
                       [(x, "x"), (gamma, "gamma"), (beta, "beta")], y.dtype)
    values = x.astype(np.float64)
    mu = values.mean(axis=1) if features else np.zeros(rows)
    var = ((values - mu[:, None]) ** 2).mean(axis=1) if features else np.zeros(rows)
    mean[...], inv_std[...] = mu, 1.0 / np.sqrt(var + epsilon)
    out = (values - mu[:, None]) / np.sqrt(var + epsilon)[:, None]
    if gamma is not None:
        out = out * gamma
    y[...] = out if beta is None else out + beta


def layer_norm_backward(dx, dgamma, dbeta, dy, x, mean, inv_std, gamma, accumulate=False):
    """From the saved mean and inv_std: xhat = (x - mean) * inv_std, g = dy * gamma;
    dx = inv_std / F * (F * g - sum g - xhat * sum g * xhat) per row; dgamma (+)= column sums
    of dy * xhat, dbeta (+)= of dy. dx, dgamma, dbeta may be None."""
    dy = _first(dy, "dy", 2)
    rows, features = dy.shape
    x = _like(x, "x", 2, dy.dtype, dy.shape)
    mean = _like(mean, "mean", 1, dy.dtype, (rows,))
    inv_std = _like(inv_std, "inv_std", 1, dy.dtype, (rows,))
    gamma = _optional(gamma, "gamma", dy.dtype, features)
    dx = None if dx is None else _like(dx, "dx", 2, dy.dtype, dy.shape)
    dgamma = _optional(dgamma, "dgamma", dy.dtype, features)
    dbeta = _optional(dbeta, "dbeta", dy.dtype, features)
    _require_arguments([(dx, "dx"), (dgamma, "dgamma"), (dbeta, "dbeta")],
                       [(dy, "dy"), (x, "x"), (mean, "mean"), (inv_std, "inv_std"),
                        (gamma, "gamma")], dy.dtype)
    d = dy.astype(np.float64)
    inv = inv_std.astype(np.float64)[:, None]
    xhat = (x.astype(np.float64) - mean.astype(np.float64)[:, None]) * inv
    for out, value in ((dgamma, (d * xhat).sum(axis=0)), (dbeta, d.sum(axis=0))):
        if out is not None:
            out[...] = out + value if accumulate else value
    if dx is not None and features:
        g = d if gamma is None else d * gamma
        dx[...] = inv / features * (features * g - g.sum(axis=1, keepdims=True)
                                    - xhat * (g * xhat).sum(axis=1, keepdims=True))
