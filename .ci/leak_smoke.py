"""Leak smoke run for .ci/sanitize: exercises every nerve._core binding (valid calls and the
error paths that raise, after the binding has allocated what it needs) and the model API
(build, fit, predict, evaluate, save, load) a few times, on both dtypes. It checks nothing
itself: it runs under LeakSanitizer, and .ci/leak_check.py judges the report.

    PYTHONPATH=<stage> python .ci/leak_smoke.py     (after a -DNERVE_SANITIZE=ON build)

It fails (exit 1) when _core has a function this script never called, so a new binding must
be added here."""
import os
import sys
import tempfile

import numpy as np

import nerve
import nerve.ops as nops
from nerve import _core
from nerve import reference as ref

rng = np.random.default_rng(0)
called = set()


def call(name, *args, raises=None, **kwargs):
    """_core.<name>(*args, **kwargs); with `raises`, that exception type must come out."""
    called.add(name)
    fn = getattr(_core, name)
    if raises is None:
        return fn(*args, **kwargs)
    try:
        fn(*args, **kwargs)
    except raises:
        return None
    raise AssertionError(f"{name}: expected {raises.__name__}")


def arr(*shape, dtype=np.float64):
    return rng.normal(size=shape).astype(dtype)


# ---- runtime ----------------------------------------------------------------------------------
def runtime():
    call("build_info")
    call("get_num_threads")
    call("set_num_threads", 2)
    call("set_num_threads", 0, raises=ValueError)
    call("set_num_threads", "x", raises=TypeError)
    call("reset_num_threads")
    isa = call("get_isa")
    for name in _core.build_info()["isa_supported"]:
        call("set_isa", name)
    call("set_isa", "sse9", raises=ValueError)
    call("set_isa", isa)
    call("_fma_peak_probe", 1000, 1, False)
    call("_fma_peak_probe", 1000, 2, True)
    call("_fma_peak_probe", -1, raises=ValueError)
    call("_fma_peak_probe", 10, 0, raises=ValueError)


# ---- matmul -----------------------------------------------------------------------------------
def matmul(dtype):
    for fn in ("gemm", "_gemm_scalar"):
        a, b, c = arr(37, 19, dtype=dtype), arr(19, 23, dtype=dtype), arr(37, 23, dtype=dtype)
        call(fn, c, a, b)
        call(fn, c, a.T.copy(), b.T.copy(), True, True, 0.5, 1.0)
        call(fn, c, a.tolist(), b, raises=TypeError)
        call(fn, c, a.astype(np.int32), b, raises=TypeError)
        call(fn, c, a, b.astype(np.float32 if dtype == np.float64 else np.float64), raises=TypeError)
        call(fn, c, a, arr(20, 23, dtype=dtype), raises=ValueError)
        call(fn, c[:, ::2], a, arr(19, 12, dtype=dtype), raises=ValueError)
        call(fn, c, c[:, :19], arr(19, 23, dtype=dtype), raises=ValueError)  # overlap
        ro = c.copy()
        ro.flags.writeable = False
        call(fn, ro, a, b, raises=ValueError)
        call(fn, c, a, b, activation="relu", raises=TypeError)  # unknown keyword
    # Big enough to thread and to release the GIL.
    a, b, c = arr(300, 200, dtype=dtype), arr(200, 150, dtype=dtype), arr(300, 150, dtype=dtype)
    call("gemm", c, a, b)
    call("matmul", a, b)
    call("matmul", a.T.copy().T, b.T.copy().T)  # transposed operands, read in place
    call("matmul", a, b.astype(np.int32), raises=TypeError)
    call("matmul", a, a, raises=ValueError)
    call("matmul", a[:, ::2], b[:100], raises=ValueError)
    call("matmul", a, raises=TypeError)  # missing argument

    batch, n_in, units = 33, 17, 9
    x, w, bias = arr(batch, n_in, dtype=dtype), arr(n_in, units, dtype=dtype), arr(units, dtype=dtype)
    y, z = np.empty((batch, units), dtype), np.empty((batch, units), dtype)
    for act in ("linear", "relu", "tanh", "softmax", "gelu"):
        call("dense_forward", y, x, w, bias, act, 0.0, z)
        dy = arr(batch, units, dtype=dtype)
        dx, dw, db = np.empty_like(x), np.empty_like(w), np.empty_like(bias)
        call("dense_backward", dx, dw, db, dy.copy(), dy, x, w, z, y, act, 0.0, False)
        call("dense_backward", None, dw, None, dy, dy, x, w, z, y, act, 0.0, True)
    call("dense_forward", y, x, w, None)
    call("dense_forward", y, x, w, bias, "nope", raises=ValueError)
    call("dense_forward", y, x, w, bias, 3, raises=TypeError)
    call("dense_forward", y, x, w.T.copy(), bias, raises=ValueError)
    call("dense_forward", y, x, w, bias[:-1], raises=ValueError)
    call("dense_forward", x[:, :units], x, w, bias, raises=ValueError)
    call("dense_backward", dx, dw, db, dy, dy, x, w, z, y, "step", raises=ValueError)
    call("dense_backward", dx, dw, db, dy, dy, x, w, z, y[:-1], "relu", raises=ValueError)
    call("dense_backward", dx, dx, db, dy, dy, x, w, z, y, "relu", raises=(ValueError, TypeError))


# ---- activations ------------------------------------------------------------------------------
def activations(dtype):
    for suffix in ("", "_scalar"):
        fwd, bwd = "activation_forward" + suffix, "activation_backward" + suffix
        if suffix:
            fwd, bwd = "_" + fwd, "_" + bwd
        for act in ref.ACTIVATIONS:
            x = arr(5, 3, 7, dtype=dtype)
            y = np.empty_like(x)
            call(fwd, y, x, act, 0.3)
            call(fwd, x, x, act, 0.3)  # in place
            dy = arr(5, 3, 7, dtype=dtype)
            dx = np.empty_like(x)
            call(bwd, dx, dy, x, y, act, 0.3, raises=ValueError if act == "step" else None)
        x = arr(300, 101, dtype=dtype)  # threaded, GIL released
        call(fwd, np.empty_like(x), x, "sigmoid")
        call(bwd, np.empty_like(x), x, x, x, "sigmoid")
        call(fwd, y, x, "bogus", raises=ValueError)
        call(fwd, y, x, None, raises=TypeError)
        call(fwd, y, np.float64(1.0), "relu", raises=TypeError)
        call(fwd, y, np.array(1.0, dtype), "relu", raises=ValueError)
        call(fwd, y[..., :3], arr(5, 3, 7, dtype=dtype), "relu", raises=ValueError)
        x = arr(4, 4, dtype=dtype)
        call(fwd, x[1:], x[:-1], "relu", raises=ValueError)  # overlapping, not identical
        call(bwd, x, x, x, x, "relu", raises=ValueError)


# ---- pooling ----------------------------------------------------------------------------------
def pooling(dtype):
    window = (3, 2, 2, 2, 1, 0)  # pool 3x2, strides 2, pad_top 1
    for prefix, suffix in (("", ""), ("_", "_scalar")):
        names = [prefix + n + suffix for n in ("max_pool2d_forward", "max_pool2d_backward",
                                               "avg_pool2d_forward", "avg_pool2d_backward")]
        for n in (2, 40):  # 40 images: threaded, GIL released
            x, y = arr(n, 9, 8, 5, dtype=dtype), np.empty((n, 5, 4, 5), dtype)
            argmax, dx = np.empty(y.shape, np.int64), np.empty_like(x)
            call(names[0], y, argmax, x, *window)
            call(names[1], dx, y, argmax)
            call(names[2], y, x, *window)
            call(names[3], dx, y, *window)
        argmax[0, 0, 0, 0] = -1
        call(names[1], dx, y, argmax, raises=ValueError)
        call(names[0], np.empty((n, 6, 4, 5), dtype), argmax, x, *window, raises=ValueError)
        call(names[2], y, x, 3, 2, 2, 2, 3, 0, raises=ValueError)  # pad == pool
        call(names[3], dx, y, 3, 2.0, 2, 2, 1, 0, raises=TypeError)


# ---- convolution, normalization, embedding ---------------------------------------------------
def convolution(dtype):
    geometry = (2, 1, 1, 1, 1, 1, 2)  # strides 2x1, pads 1, 2 groups
    for prefix, suffix in (("", ""), ("_", "_scalar")):
        forward, backward = prefix + "conv2d_forward" + suffix, prefix + "conv2d_backward" + suffix
        for n in (2, 40):  # 40 images: threaded, GIL released
            x, w = arr(n, 9, 8, 4, dtype=dtype), arr(3, 3, 2, 6, dtype=dtype)
            b = arr(6, dtype=dtype)
            y, z = np.empty((n, 5, 8, 6), dtype), np.empty((n, 5, 8, 6), dtype)
            call(forward, y, x, w, b, *geometry, "tanh", 0.0, z)
            dx, dw, db = np.empty_like(x), np.empty_like(w), np.empty_like(b)
            dz = arr(*y.shape, dtype=dtype)
            call(backward, dx, dw, db, dz, dz, x, w, z, y, *geometry, "tanh", 0.0, False)
        call(forward, y, x, w, b, 2, 1, 1, 1, 1, 1, 3, raises=ValueError)  # groups vs channels
        call(forward, y, x, w, b, 2.0, 1, 1, 1, 1, 1, 2, raises=TypeError)
        call(backward, dx, dw, db, dz, dz, x, w, z, y, *geometry, "step", 0.0, False,
             raises=ValueError)


def normalization(dtype):
    for prefix, suffix in (("", ""), ("_", "_scalar")):
        name = lambda base: prefix + base + suffix  # noqa: E731
        for rows in (6, 9000):  # 9000 x 5: threaded
            x, gamma, beta = arr(rows, 5, 3, dtype=dtype), arr(5, dtype=dtype), arr(5, dtype=dtype)
            y, dx, dy = np.empty_like(x), np.empty_like(x), arr(*x.shape, dtype=dtype)
            mean, variance = np.empty(5, dtype), np.empty(5, dtype)
            dgamma, dbeta = np.empty(5, dtype), np.empty(5, dtype)
            call(name("batch_norm_forward"), y, mean, variance, x, gamma, beta, 1e-3)
            call(name("batch_norm_backward"), dx, dgamma, dbeta, dy, x, mean, variance, gamma,
                 1e-3, False)
            call(name("batch_norm_inference"), y, x, mean, variance, gamma, beta, 1e-3)
            call(name("batch_norm_inference_backward"), dx, dgamma, dbeta, dy, x, mean, variance,
                 gamma, 1e-3, True)
            flat, out = x.reshape(rows * 5, 3), np.empty((rows * 5, 3), dtype)
            row_mean, inv_std = np.empty(rows * 5, dtype), np.empty(rows * 5, dtype)
            call(name("layer_norm_forward"), out, row_mean, inv_std, flat, gamma[:3], None, 1e-3)
            call(name("layer_norm_backward"), np.empty_like(flat), None, None, flat.copy(), flat,
                 row_mean, inv_std, gamma[:3], False)
        call(name("batch_norm_forward"), y, mean, variance, x, gamma, beta, 0.0, raises=ValueError)


def embedding(dtype):
    table = arr(30, 4, dtype=dtype)
    for prefix, suffix in (("", ""), ("_", "_scalar")):
        forward = prefix + "embedding_forward" + suffix
        backward = prefix + "embedding_backward" + suffix
        for count, index_type in ((7, np.int32), (20000, np.int64)):
            indices = rng.integers(0, 30, count).astype(index_type)
            y = np.empty((count, 4), dtype)
            call(forward, y, table, indices)
            call(backward, np.empty_like(table), y, indices, False)
        indices[0] = 30
        call(forward, y, table, indices, raises=ValueError)
        call(forward, y, table, indices.astype(np.float64), raises=TypeError)


# ---- losses -----------------------------------------------------------------------------------
def losses(dtype):
    rows, cols = 11, 4
    for fn in ("loss", "_loss_scalar"):
        for kind in ref.LOSSES:
            y_pred = arr(rows, cols, dtype=dtype)
            if "sparse" in kind:
                y_true = rng.integers(0, cols, rows).astype(np.int64)
            else:
                y_true = rng.uniform(size=(rows, cols)).astype(dtype)
            grad = np.empty_like(y_pred)
            call(fn, grad, y_pred, y_true, kind)
            call(fn, None, y_pred, y_true, kind, rng.uniform(size=rows).astype(dtype), 0.5)
            call(fn, grad, y_pred, y_true, kind, None, -1.0, raises=ValueError)
            call(fn, grad, y_pred, y_true, kind, arr(rows + 1, dtype=dtype), raises=ValueError)
        labels = np.full(rows, cols, np.int64)  # out of range
        call(fn, None, y_pred, labels, "sparse_categorical_crossentropy", raises=ValueError)
        call(fn, None, y_pred, y_true, "nope", raises=ValueError)
        call(fn, None, y_pred, y_true, 7, raises=TypeError)
        call(fn, None, np.empty((0, cols), dtype), y_true, "mse", raises=ValueError)
        call(fn, y_pred, y_pred, y_true, "mse", raises=ValueError)  # grad overlaps y_pred


# ---- optimizers -------------------------------------------------------------------------------
def optimizers(dtype):
    shapes = [(1,), (7, 3), (0, 5), (300, 250)]

    def tensors(fill=None):
        return [np.full(s, fill, dtype) if fill is not None else arr(*s, dtype=dtype)
                for s in shapes]

    for prefix, suffix in (("", ""), ("_", "_scalar")):
        def name(base):
            return prefix + base + suffix

        p, g = tensors(), tensors()
        call(name("sgd_update"), p, g, tensors(0.0), 0.1, 0.9, True, 0.01)
        call(name("sgd_update"), p, g, None, 0.1)
        call(name("sgd_update"), p, g, None, 0.1, 0.9, raises=ValueError)
        call(name("adam_update"), p, g, tensors(0.0), tensors(0.0), 1e-3, 0.9, 0.999, 1e-7, 1)
        call(name("adam_update"), p, g, tensors(0.0), tensors(0.0), 1e-3, 0.9, 0.999, 1e-7,
             10**30, 0.01)
        call(name("adam_update"), p, g, tensors(0.0), tensors(0.0), 1e-3, 0.9, 0.999, 1e-7, 0,
             raises=ValueError)
        call(name("adam_update"), p, g, tensors(0.0), tensors(0.0), 1e-3, 0.9, 0.999, 1e-7, 1.5,
             raises=TypeError)
        call(name("adam_update"), p, g, tensors(0.0), tensors(0.0), 1e-3, 0.9, 0.999, 1e-7, 2,
             v_hats=tensors(0.0))  # AMSGrad
        call(name("adam_update"), p, g, tensors(0.0), tensors(0.0), 1e-3, 0.9, 0.999, 1e-7, 2,
             v_hats=[], raises=ValueError)
        call(name("rmsprop_update"), p, g, tensors(0.0), tensors(0.0), tensors(0.0), 1e-3, 0.9,
             0.5, 1e-7)
        call(name("rmsprop_update"), p, g, tensors(0.0), None, None, 1e-3, 0.9, 0.0, 1e-7, 0.1)
        call(name("rmsprop_update"), p, g, tensors(0.0), None, None, 1e-3, 0.9, 0.5, 1e-7,
             raises=ValueError)
        call(name("adagrad_update"), p, g, tensors(0.1), 0.1, 1e-7, 0.01)
        call(name("adagrad_update"), p, g, tensors(0.1), float("nan"), 1e-7, raises=ValueError)
        # List errors, found after the binding has collected part of the lists.
        call(name("adagrad_update"), p, g, tensors(0.1)[:-1], 0.1, 1e-7, raises=ValueError)
        call(name("adagrad_update"), p, g[:-1] + [g[-1].T], tensors(0.1), 0.1, 1e-7,
             raises=ValueError)
        call(name("adagrad_update"), p, g, tensors(0.1)[:-1] + [[1.0]], 0.1, 1e-7,
             raises=TypeError)
        call(name("adagrad_update"), p, g, p, 0.1, 1e-7, raises=ValueError)  # overlap
        call(name("adagrad_update"), p, g[0], tensors(0.1), 0.1, 1e-7, raises=TypeError)
        call(name("sgd_update"), p, [x.astype(np.float16) for x in g], None, 0.1,
             raises=TypeError)
    g = tensors()
    call("global_norm", g)
    call("global_norm", tuple(g))
    call("global_norm", g + ["x"], raises=TypeError)
    call("clip_by_global_norm", g, 0.5)
    call("clip_by_global_norm", g, 0.0, raises=ValueError)
    call("clip_by_value", g, 0.1)
    call("clip_by_value", g, float("nan"), raises=ValueError)
    call("clip_by_value", 3, 0.1, raises=TypeError)


# ---- ops and models ---------------------------------------------------------------------------
def ops():
    a, b = arr(20, 30), arr(30, 10)
    nops.matmul(a, b)
    nops.matmul(a.astype(np.float32), b.astype(np.float32), out=np.empty((20, 10), np.float32))
    nops.dense(a, b, arr(10), "relu")
    nops.softmax(a)
    for name in ref.ACTIVATIONS:
        nops.activation(name, a)
    for bad in (lambda: nops.matmul(a, a), lambda: nops.activation("nope", a),
                lambda: nops.matmul(a, b, out=np.empty((1, 1)))):
        try:
            bad()
        except (TypeError, ValueError):
            pass
        else:
            raise AssertionError("expected an error")


def models(directory):
    x = rng.normal(size=(96, 8)).astype(np.float32)
    y_bin = (x[:, :1] > 0).astype(np.float32)
    y_cls = rng.integers(0, 3, 96)
    runs = [("binary_crossentropy", "adam", y_bin, 1, "sigmoid"),
            ("sparse_categorical_crossentropy", "sgd", y_cls, 3, "softmax"),
            ("mse", "rmsprop", y_bin, 1, "linear"),
            ("huber", "adagrad", y_bin, 1, "tanh"),
            ("mae", "adamw", y_bin, 1, None)]
    for i, (loss, optimizer, y, units, act) in enumerate(runs):
        model = nerve.Sequential()
        model.add(nerve.Dense(16, input_dim=8, activation="relu"))
        model.add(nerve.Dropout(0.1))
        model.add(nerve.Dense(units, activation=act))
        model.compile(loss=loss, optimizer=optimizer, metrics=["accuracy"])
        model.fit(x, y, epochs=2, batch_size=16, verbose=0, validation_split=0.25)
        model.evaluate(x, y, verbose=0)
        model.predict(x, verbose=0)
        model.train_on_batch(x[:8], y[:8])
        path = os.path.join(directory, f"model{i}.keras")
        model.save(path)
        loaded = nerve.load_model(path)
        np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
        model.save_weights(os.path.join(directory, f"model{i}.weights.h5"))
        loaded.load_weights(os.path.join(directory, f"model{i}.weights.h5"))
    try:
        nerve.load_model(os.path.join(directory, "missing.keras"))
    except (OSError, ValueError):
        pass


def main():
    runtime()
    for dtype in (np.float32, np.float64):
        matmul(dtype)
        activations(dtype)
        pooling(dtype)
        convolution(dtype)
        normalization(dtype)
        embedding(dtype)
        losses(dtype)
        optimizers(dtype)
    ops()
    with tempfile.TemporaryDirectory() as directory:
        models(directory)
    bindings = {name for name in dir(_core)
                if not name.startswith("__") and callable(getattr(_core, name))}
    missing = sorted(bindings - called)
    if missing:
        print(f"leak_smoke: _core functions never called: {', '.join(missing)}", file=sys.stderr)
        return 1
    print(f"leak_smoke: {len(called)} _core functions exercised, models fitted, saved, loaded")
    return 0


if __name__ == "__main__":
    sys.exit(main())
