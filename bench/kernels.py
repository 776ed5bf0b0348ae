"""Every nerve kernel against its NumPy equivalent, on 1 and 2 threads.

    python bench/kernels.py [--quick] [--json PATH]

Prints a markdown table: GFLOP/s for products, GB/s (bytes read + written) for element-wise
work, per-call microseconds for tiny calls, and the ratio of NumPy's median time to nerve's
(> 1: nerve is faster), both measured in the same run.
"""
import argparse
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402

import nerve  # noqa: E402
import nerve.ops as nops  # noqa: E402
from nerve import _core  # noqa: E402

rng = np.random.default_rng(0)


def case(label, work, unit, nerve_fn, numpy_fn, dtype=np.float32, square=None):
    """One comparison: `work` is flops (GFLOP/s) or bytes moved (GB/s) per call."""
    return {"case": label, "work": work, "unit": unit, "nerve": nerve_fn, "numpy": numpy_fn,
            "dtype": np.dtype(dtype).name, "square": square}


def rand(*shape, dtype=np.float32):
    return rng.standard_normal(shape).astype(dtype)


def matmul_case(m, k, n, dtype=np.float32, trans=""):
    """C = A @ B with A (m, k), B (k, n); trans "a"/"b" stores that operand transposed."""
    a = rand(k, m, dtype=dtype).T if "a" in trans else rand(m, k, dtype=dtype)
    b = rand(n, k, dtype=dtype).T if "b" in trans else rand(k, n, dtype=dtype)
    c = np.empty((m, n), dtype)
    label = f"{m}x{k} @ {k}x{n}" + (f" ({'A^T' if 'a' in trans else 'B^T'})" if trans else "")
    return case(label, 2.0 * m * n * k, "GFLOP/s", lambda: nops.matmul(a, b, out=c),
                lambda: np.matmul(a, b, out=c), dtype=dtype,
                square=m if m == n == k and not trans else None)


def mlp_products_case(batch, sizes=(784, 256, 128, 10)):
    """Every product of one training step of an MLP: forward X@W, dW = X^T dZ and, except for
    the first layer, dX = dZ W^T, with operands laid out as a training loop has them."""
    products = []
    for units_in, units in zip(sizes, sizes[1:]):
        x, w, dz = rand(batch, units_in), rand(units_in, units), rand(batch, units)
        products.append((x, w, np.empty((batch, units), np.float32)))
        products.append((x.T, dz, np.empty((units_in, units), np.float32)))
        if units_in != sizes[0]:
            products.append((dz, w.T, np.empty((batch, units_in), np.float32)))
    flops = sum(2.0 * a.shape[0] * a.shape[1] * b.shape[1] for a, b, _ in products)

    def run(matmul):
        for a, b, c in products:
            matmul(a, b, out=c)

    return case(f"MLP step products, batch {batch}, {'-'.join(map(str, sizes))}", flops,
                "GFLOP/s", lambda: run(nops.matmul), lambda: run(np.matmul))


def dense_relu_case(batch, units_in, units):
    x, w, b = rand(batch, units_in), rand(units_in, units), rand(units)
    y = np.empty((batch, units), np.float32)

    def numpy_dense():  # the three operations a NumPy user writes
        np.matmul(x, w, out=y)
        np.add(y, b, out=y)
        np.maximum(y, 0, out=y)

    return case(f"relu(x@w+b) {batch}x{units_in}->{units}", 2.0 * batch * units_in * units,
                "GFLOP/s", lambda: _core.dense_forward(y, x, w, b, "relu"), numpy_dense)


def activation_case(name, n, numpy_fn):
    x = rand(n // 1000, 1000)
    y = np.empty_like(x)
    return case(f"{name} {n // 1000}x1000", 8.0 * n, "GB/s",
                lambda: _core.activation_forward(y, x, name), lambda: numpy_fn(x, y))


def numpy_sigmoid(x, y):
    np.negative(x, out=y)
    np.exp(y, out=y)
    y += 1
    np.reciprocal(y, out=y)


def numpy_softmax(x, y):
    np.subtract(x, x.max(axis=1, keepdims=True), out=y)
    np.exp(y, out=y)
    y /= y.sum(axis=1, keepdims=True)


def loss_case(rows, cols):
    logits, target = rand(rows, cols), np.eye(cols, dtype=np.float32)[rng.integers(0, cols, rows)]
    grad = np.empty_like(logits)

    def numpy_loss():  # stable log-softmax cross-entropy and its gradient
        shifted = logits - logits.max(axis=1, keepdims=True)
        exp = np.exp(shifted)
        total = exp.sum(axis=1, keepdims=True)
        loss = -(target * (shifted - np.log(total))).sum() / rows
        np.divide(exp, total, out=grad)  # out= keeps these writes in the closure's array
        np.subtract(grad, target, out=grad)
        np.divide(grad, rows, out=grad)
        return loss

    return case(f"softmax-CE loss+grad {rows}x{cols}", 12.0 * rows * cols, "GB/s",
                lambda: _core.loss(grad, logits, target, "categorical_crossentropy_logits"),
                numpy_loss)


def adam_case(n):
    p, g, m, v = rand(n), rand(n), np.zeros(n, np.float32), np.zeros(n, np.float32)
    t1, t2 = np.empty_like(p), np.empty_like(p)
    lr, b1, b2, eps = 1e-3, 0.9, 0.999, 1e-7

    def numpy_adam():  # in place, no temporaries allocated
        np.subtract(g, m, out=t1)
        np.multiply(t1, 1 - b1, out=t1)
        np.add(m, t1, out=m)
        np.multiply(g, g, out=t1)
        np.subtract(t1, v, out=t1)
        np.multiply(t1, 1 - b2, out=t1)
        np.add(v, t1, out=v)
        np.sqrt(v, out=t2)
        np.add(t2, eps, out=t2)
        np.divide(m, t2, out=t1)
        np.multiply(t1, lr, out=t1)
        np.subtract(p, t1, out=p)

    return case(f"Adam step {n} params", 4 * 7.0 * n, "GB/s",
                lambda: _core.adam_update([p], [g], [m], [v], lr, b1, b2, eps, 1), numpy_adam)


def cases(quick):
    sizes = [256, 512, 1024] if quick else [128, 256, 512, 1024, 2048]
    square = [(matmul_case(n, n, n), (1, 2)) for n in sizes]
    f64 = [(matmul_case(n, n, n, np.float64), (1,)) for n in sizes]
    mlp = [(matmul_case(b, 784, 256), (1, 2)) for b in (32, 128)]
    mlp += [(matmul_case(784, 128, 256, trans="a"), (1, 2)),  # dW = X^T dZ, batch 128
            (matmul_case(128, 256, 784, trans="b"), (1, 2))]  # dX = dZ W^T
    mlp += [(mlp_products_case(b), (1, 2)) for b in (32, 128)]
    tiny = [(matmul_case(10, 8, 10), (1,))]
    fused = [(dense_relu_case(b, 784, 256), (1, 2)) for b in (32, 128)]
    elementwise = [
        (activation_case("relu", 1_000_000, lambda x, y: np.maximum(x, 0, out=y)), (1, 2)),
        (activation_case("sigmoid", 1_000_000, numpy_sigmoid), (1, 2)),
        (activation_case("tanh", 1_000_000, lambda x, y: np.tanh(x, out=y)), (1, 2)),
        (activation_case("softmax", 1_000_000, numpy_softmax), (1, 2)),
    ]
    return square + f64 + mlp + tiny + fused + elementwise + [
        (loss_case(128, 10), (1,)), (loss_case(8192, 100), (1, 2)), (adam_case(200_000), (1, 2))]


def run(quick=False):
    results = []
    for spec, thread_counts in cases(quick):
        contenders = {lib: spec[lib] for lib in ("nerve", "numpy")}
        facts = {k: v for k, v in spec.items() if k not in contenders}
        for n_threads in thread_counts:
            with common.threads(n_threads):
                timing = common.compare(contenders, rounds=3 if quick else 7)
            results.append({**facts, "threads": n_threads,
                            **{f"{lib}_{stat}": timing[lib][stat] for lib in timing
                               for stat in ("best", "median")}})
    return results


def rate(result, lib):
    seconds = result[f"{lib}_median"]
    if result["unit"] == "GFLOP/s" and result["work"] < 1e4:
        return f"{seconds * 1e6:.2f} us"
    return f"{result['work'] / seconds / 1e9:.1f}"


def table(results):
    rows = [(r["case"] + (" float64" if r["dtype"] == "float64" else ""), r["threads"], r["unit"] if r["work"] >= 1e4 else "per call",
             rate(r, "nerve"), rate(r, "numpy"), f"{r['numpy_median'] / r['nerve_median']:.2f}",
             f"{r['numpy_best'] / r['nerve_best']:.2f}")
            for r in results]
    return common.markdown_table(
        ["kernel", "threads", "unit", "nerve (median)", "NumPy (median)",
         "NumPy/nerve time (median)", "(best)"], rows)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer sizes and repeats")
    parser.add_argument("--json", help="also write the results and environment here")
    args = parser.parse_args()
    results = run(args.quick)
    print(table(results))
    if args.json:
        common.save_json(args.json, {"environment": common.environment(), "kernels": results})


if __name__ == "__main__":
    main()
