"""The whole benchmark suite in one command.

    python bench/run.py [--quick] [--data DIR] [--out DIR] [--torch-python PYTHON]

1. peak probe: independent FMA chains in the selected instruction set's widest vectors, the
   float32/float64 GFLOP/s on 1 and 2 threads (NERVE_ISA=avx2 runs the whole suite on AVX2);
2. every kernel against NumPy (bench/kernels.py), GEMM also as % of the 1-thread peak;
3. contention: 2-thread matmul while another process keeps one core busy, against its own
   1-thread time (nerve and NumPy);
4. training against a plain NumPy MLP and PyTorch (bench/training.py), when the data is found;
5. the Keras MNIST convnet against PyTorch and a NumPy im2col loop (bench/convnet.py), likewise;
6. MNIST MLP predict throughput against onnxruntime on nerve's ONNX export (bench/interop.py),
   batches of 1 and 256, 1 thread, when onnx and onnxruntime are installed.
Prints markdown tables and writes OUT/<date>.json and OUT/<date>-gemm.png.
"""
import argparse
import datetime
import importlib.util
import multiprocessing
import os
import statistics
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402
import convnet  # noqa: E402
import interop  # noqa: E402
import kernels  # noqa: E402
import training  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))


def peak_probe(rounds=5):
    """The machine's FMA peak, GFLOP/s, float32 and float64 on 1 and 2 threads."""
    return {f"{'f64' if f64 else 'f32'}_{threads}t": common.fma_peak(threads, f64, rounds)
            for threads in (1, 2) for f64 in (False, True)}


def _spin(stop_at):
    while time.time() < stop_at:
        pass


def contention(n=1024, rounds=5):
    """Median seconds of an n^3 float32 matmul on 1 thread, and on 2 with a core taken."""
    import nerve.ops as nops

    a, b = kernels.rand(n, n), kernels.rand(n, n)
    c = np.empty((n, n), np.float32)
    calls = {"nerve": lambda: nops.matmul(a, b, out=c), "numpy": lambda: np.matmul(a, b, out=c)}
    result = {}
    for lib, fn in calls.items():
        with common.threads(1):
            alone = statistics.median(common.time_call(fn, 0.1) for _ in range(rounds))
        busy = multiprocessing.Process(target=_spin, args=(time.time() + 60,), daemon=True)
        busy.start()
        try:
            with common.threads(2):
                loaded = statistics.median(common.time_call(fn, 0.1) for _ in range(rounds))
        finally:
            busy.terminate()
            busy.join()
        result[lib] = {"one_thread_s": alone, "two_threads_busy_s": loaded,
                       "slowdown": loaded / alone}
    return result


def mlp_gemm_rate(kernel_results):
    """nerve's median GFLOP/s on the batch-128 MNIST MLP products, by thread count: the rate
    that sets the floor of an MNIST training epoch."""
    return {r["threads"]: r["work"] / r["nerve_median"] / 1e9 for r in kernel_results
            if r["case"].startswith("MLP step products, batch 128")}


def plot_gemm(results, path):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for threads in (1, 2):
        square = [r for r in results
                  if r["threads"] == threads and r["square"] and r["dtype"] == "float32"]
        sizes = [r["square"] for r in square]
        for lib, style in (("nerve", "-o"), ("numpy", "--s")):
            ax.plot(sizes, [r["work"] / r[f"{lib}_median"] / 1e9 for r in square], style,
                    label=f"{lib}, {threads} thread{'s' if threads > 1 else ''}")
    ax.set_xscale("log", base=2)
    ax.set_xlabel("n (float32 n x n @ n x n)")
    ax.set_ylabel("GFLOP/s (median)")
    ax.set_title("Square matmul, nerve vs NumPy")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    return path


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--data", default=training.DEFAULT_DATA)
    parser.add_argument("--out", default=os.path.join(HERE, "results"))
    parser.add_argument("--torch-python", default=sys.executable,
                        help="interpreter with torch for the convnet's PyTorch child")
    args = parser.parse_args()
    stamp = datetime.datetime.now().strftime("%Y-%m-%d-%H%M")
    report = {"environment": common.environment()}

    print(common.describe(report["environment"]) + "\n")
    report["peak"] = peaks = peak_probe(3 if args.quick else 5)
    isa = report["environment"]["nerve"]["isa_selected"]
    print(f"## Peak (FMA chains in {isa} vectors, best GFLOP/s)\n")
    print(common.markdown_table(["float32 1T", "float32 2T", "float64 1T", "float64 2T"],
                                [[f"{peaks[k]:.1f}" for k in ("f32_1t", "f32_2t", "f64_1t", "f64_2t")]]))

    report["kernels"] = kernel_results = kernels.run(args.quick)
    for r in kernel_results:
        if r["unit"] == "GFLOP/s" and r["work"] >= 1e6:
            key = f"{'f64' if r['dtype'] == 'float64' else 'f32'}_{r['threads']}t"
            r["nerve_percent_of_peak"] = 100 * r["work"] / r["nerve_best"] / 1e9 / peaks[key]
    print("\n## Kernels against NumPy\n")
    print(kernels.table(kernel_results))

    report["contention"] = busy = contention()
    print("\n## 2-thread 1024^3 matmul with another process busy, vs own 1-thread time\n")
    print(common.markdown_table(["library", "1 thread s", "2 threads + busy core s", "ratio"],
                                [[lib, f"{v['one_thread_s']:.4f}", f"{v['two_threads_busy_s']:.4f}",
                                  f"{v['slowdown']:.2f}"] for lib, v in busy.items()]))

    have_data = all(os.path.exists(os.path.join(args.data, f))
                    for f in ("mnist.npz", "pima-indians-diabetes.csv"))
    if have_data:
        report["training"] = train = training.run(args.data, 2 if args.quick else 3)
        print("\n## Training, median seconds\n")
        print(training.table(train, mlp_gemm_rate(kernel_results)))
    else:
        print(f"\n(training skipped: no mnist.npz / pima-indians-diabetes.csv in {args.data})")
    if os.path.exists(os.path.join(args.data, "mnist.npz")):
        settings = convnet.QUICK if args.quick else convnet.FULL
        report["convnet"] = conv = convnet.run(args.data, settings, (1, 2), convnet.LIBRARIES,
                                               args.torch_python)
        print("\n## MNIST convnet (bench/convnet.py), medians\n")
        print(convnet.header(conv, report["environment"]) + "\n\n" + convnet.table(conv))

    if all(importlib.util.find_spec(name) for name in ("onnx", "onnxruntime")):
        report["onnx_predict"] = onnx = interop.run(2 if args.quick else 7)
        print("\n## MNIST MLP predict against onnxruntime (bench/interop.py), 1 thread\n")
        print(interop.table(onnx))
    else:
        print("\n(onnxruntime comparison skipped: pip install onnx onnxruntime)")

    os.makedirs(args.out, exist_ok=True)
    json_path = os.path.join(args.out, f"{stamp}.json")
    common.save_json(json_path, report)
    png = plot_gemm(kernel_results, os.path.join(args.out, f"{stamp}-gemm.png"))
    print(f"\nwrote {json_path}" + (f" and {png}" if png else ""))


if __name__ == "__main__":
    main()
