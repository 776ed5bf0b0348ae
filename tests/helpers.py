"""Helpers for the kernel tests (import with `from helpers import ...`)."""
import numpy as np

# Element-wise results: a few ulps. Reductions of length K grow like sqrt(K) ulps in float32.
RTOL = {np.float32: 2e-5, np.float64: 1e-12}
ATOL = {np.float32: 1e-6, np.float64: 1e-13}


def assert_close(actual, expected, dtype, scale=1.0, err_msg=""):
    """Compare with dtype-aware tolerance; `scale` widens it for long reductions."""
    dtype = np.dtype(dtype).type
    np.testing.assert_allclose(actual, expected, rtol=RTOL[dtype] * scale,
                               atol=ATOL[dtype] * scale, err_msg=err_msg)


def random_array(rng, shape, dtype, low=-1.0, high=1.0):
    return rng.uniform(low, high, size=shape).astype(dtype)


def central_difference(f, x, eps=1e-6):
    """Numerical gradient of the scalar function f at float64 array x."""
    grad = np.zeros_like(x, dtype=np.float64)
    flat, gflat = x.reshape(-1), grad.reshape(-1)
    for i in range(flat.size):
        orig = flat[i]
        flat[i] = orig + eps
        up = f(x)
        flat[i] = orig - eps
        down = f(x)
        flat[i] = orig
        gflat[i] = (up - down) / (2 * eps)
    return grad
