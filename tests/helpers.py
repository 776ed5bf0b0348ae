"""Helpers for the kernel tests (import with `from helpers import ...`)."""
import os
import subprocess

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


def plan_gradients(fn, arrays, cotangent_seed=0):
    """(value, gradients) of s = sum(fn(*arrays) * r) for a fixed random r, computed by a
    compiled nerve training plan on the active backend: the arrays become weights of a layer
    whose call() is fn, traced once, and train_on_batch (learning rate 0) runs the plan's
    backward pass, which leaves d s / d array in each weight's gradient buffer."""
    import nerve
    from nerve import ops

    dtype = np.dtype(arrays[0].dtype).name
    cotangent = {}

    class Probe(nerve.layers.Layer):
        def build(self, input_shape):
            self.values = [self.add_weight(shape=a.shape, initializer="zeros", dtype=dtype,
                                           name=f"arg{i}") for i, a in enumerate(arrays)]

        def call(self, x):
            result = fn(*self.values)
            if "r" not in cotangent:
                rng = np.random.default_rng(cotangent_seed)
                cotangent["r"] = rng.uniform(0.5, 1.5, result.shape).astype(result.dtype)
            total = ops.sum(ops.multiply(result, cotangent["r"]))
            return ops.multiply(x, total)

    inputs = nerve.Input(shape=(1,), dtype=dtype)
    model = nerve.Model(inputs, Probe(dtype=dtype)(inputs))
    for variable, array in zip(model.weights, arrays):
        variable.assign(array)
    model.compile(optimizer=nerve.optimizers.SGD(learning_rate=0.0), loss=lambda t, p: p)
    value = model.train_on_batch(np.ones((1, 1), dtype), np.zeros((1, 1), dtype))
    return value, [np.array(v._grad) for v in model.weights]


def fit_on_both_backends(make_model, x, y, epochs, seed, batch_size=8):
    """[(weights, loss history)] of make_model() fit with Adam(0.01) and categorical
    cross-entropy on x, y, from the same seed, on the cpp and then the numpy backend."""
    import nerve

    results = []
    for backend in ("cpp", "numpy"):
        nerve.utils.set_random_seed(seed)
        model = make_model()
        model.compile(optimizer=nerve.optimizers.Adam(0.01), loss="categorical_crossentropy")
        with nerve.use_backend(backend):
            history = model.fit(x, y, batch_size=batch_size, epochs=epochs, shuffle=False,
                                verbose=0)
        results.append((model.get_weights(), history.history["loss"]))
    return results


def interop_inputs(model, rng, rows, vocabulary=30):
    """Rows for a Keras or nerve model (a list for several inputs): token ids below
    `vocabulary` for integer inputs."""
    def rows_for(tensor):
        shape = (rows,) + tuple(tensor.shape[1:])
        if "int" in str(tensor.dtype):
            return rng.integers(0, vocabulary, shape).astype(np.int32)
        return rng.standard_normal(shape).astype(np.float32)
    arrays = [rows_for(tensor) for tensor in model.inputs]
    return arrays[0] if len(arrays) == 1 else arrays


def randomized_model(make, seed=0):
    """(make(), its random generator): weights drawn far from the initial ones, so that each
    matters: kernels of either sign (outputs that do not saturate), vectors (biases, scales,
    moving statistics) positive (variances must be)."""
    rng = np.random.default_rng(seed)
    model = make()

    def draw(weight):
        magnitude = rng.uniform(0.2, 1.0, weight.shape)
        sign = rng.choice([-1.0, 1.0], weight.shape) if weight.ndim > 1 else 1.0
        return (magnitude * sign).astype(weight.dtype)
    model.set_weights([draw(w) for w in model.get_weights()])
    return model, rng


def mpi_environment():
    """os.environ for a child run under mpiexec (or alone): one thread per rank, Open MPI
    allowed to run as root, and this nerve importable from any folder."""
    import nerve
    environment = dict(os.environ, OMP_NUM_THREADS="1", OMPI_ALLOW_RUN_AS_ROOT="1",
                       OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")
    environment["PYTHONPATH"] = os.pathsep.join(
        [os.path.dirname(os.path.dirname(nerve.__file__)), environment.get("PYTHONPATH", "")])
    return environment


def oversubscribe(mpiexec):
    """Open MPI starts no more ranks than cores unless told; MPICH has no such flag."""
    version = subprocess.run([mpiexec, "--version"], capture_output=True, text=True).stdout
    return ["--oversubscribe"] if "Open MPI" in version or "OpenRTE" in version else []
