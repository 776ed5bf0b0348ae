"""Training speed: nerve against a plain NumPy MLP and PyTorch on the same models.

    python bench/training.py [--data DIR] [--rounds N] [--threads 1 2]

Workloads (float32, Glorot init, Adam lr 1e-3 eps 1e-7):
- pima:  the DEVELOPERS.md program, 8-10-1 relu/sigmoid, binary cross-entropy, batch 10,
         150 epochs on the 614 training rows of pima-indians-diabetes.csv (standardised);
- mnist: 784-256-128-10 relu/softmax, categorical cross-entropy, batch 128, one epoch of
         the 60000 rows of mnist.npz.
"nerve-reference" is the same nerve model on the NumPy reference backend (issue: the C++
backend must be >= 5x faster on pima). Each (workload, library) runs in its own process, libraries alternating round by round, so
thread pools never mix and all see the same machine conditions; medians are reported.
"""
import argparse
import json
import os
import subprocess
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402

DEFAULT_DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "shared", "data")
WORKLOADS = {
    "pima": {"layers": [8, 10, 1], "batch": 10, "epochs": 150},
    "mnist": {"layers": [784, 256, 128, 10], "batch": 128, "epochs": 1},
}
LIBRARIES = ("nerve", "nerve-reference", "numpy", "torch")


def load(workload, data_dir):
    """(x, y) float32 training data; y is (n, 1) for pima, one-hot (n, 10) for mnist."""
    if workload == "pima":
        raw = np.loadtxt(os.path.join(data_dir, "pima-indians-diabetes.csv"), delimiter=",")
        x, y = raw[:614, :8], raw[:614, 8:9]
        x = (x - x.mean(axis=0)) / x.std(axis=0)
        return x.astype(np.float32), y.astype(np.float32)
    with np.load(os.path.join(data_dir, "mnist.npz")) as f:
        x = f["x_train"].reshape(-1, 784).astype(np.float32) / 255
        y = np.eye(10, dtype=np.float32)[f["y_train"]]
    return x, y


def epoch_gflop(workload, rows):
    """GFLOP of one epoch's products: forward X@W, dW = X^T dZ, and dZ W^T for every layer
    but the first (nothing needs the input's gradient)."""
    sizes, epochs = WORKLOADS[workload]["layers"], WORKLOADS[workload]["epochs"]
    pairs = list(zip(sizes, sizes[1:]))
    per_row = sum(2 * 2 * i * o for i, o in pairs) + sum(2 * i * o for i, o in pairs[1:])
    return per_row * rows * epochs / 1e9


def glorot(rng, fan_in, fan_out):
    limit = np.sqrt(6 / (fan_in + fan_out))
    return rng.uniform(-limit, limit, (fan_in, fan_out)).astype(np.float32)


def train_nerve(x, y, spec):
    import nerve
    from nerve.layers import Dense
    from nerve.models import Sequential

    sizes = spec["layers"]
    model = Sequential()
    model.add(Dense(sizes[1], input_dim=sizes[0], activation="relu"))
    for units in sizes[2:-1]:
        model.add(Dense(units, activation="relu"))
    binary = sizes[-1] == 1
    model.add(Dense(sizes[-1], activation="sigmoid" if binary else "softmax"))
    model.compile(loss="binary_crossentropy" if binary else "categorical_crossentropy",
                  optimizer="adam", metrics=["accuracy"])
    nerve.utils.set_random_seed(0)
    start = time.perf_counter()
    model.fit(x, y, epochs=spec["epochs"], batch_size=spec["batch"], verbose=0)
    return time.perf_counter() - start


def train_numpy(x, y, spec):
    """The MLP a NumPy user writes: straightforward, with the same maths as Keras."""
    rng = np.random.default_rng(0)
    sizes = spec["layers"]
    params = []
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
        params += [glorot(rng, fan_in, fan_out), np.zeros(fan_out, np.float32)]
    moments = [np.zeros_like(p) for p in params]
    velocities = [np.zeros_like(p) for p in params]
    binary, step = sizes[-1] == 1, 0
    start = time.perf_counter()
    for _ in range(spec["epochs"]):
        order = rng.permutation(len(x))
        for begin in range(0, len(x), spec["batch"]):
            idx = order[begin:begin + spec["batch"]]
            xb, yb = x[idx], y[idx]
            activations = [xb]
            for i in range(0, len(params), 2):
                z = activations[-1] @ params[i] + params[i + 1]
                activations.append(np.maximum(z, 0) if i + 2 < len(params) else z)
            logits = activations[-1]
            if binary:
                prob = 1 / (1 + np.exp(-logits))
            else:
                e = np.exp(logits - logits.max(axis=1, keepdims=True))
                prob = e / e.sum(axis=1, keepdims=True)
            delta = (prob - yb) / len(xb)
            grads = [None] * len(params)
            for i in range(len(params) - 2, -1, -2):
                grads[i] = activations[i // 2].T @ delta
                grads[i + 1] = delta.sum(axis=0)
                if i:
                    delta = (delta @ params[i].T) * (activations[i // 2] > 0)
            step += 1
            scale = 1e-3 * np.sqrt(1 - 0.999 ** step) / (1 - 0.9 ** step)
            for p, g, m, v in zip(params, grads, moments, velocities):
                m += 0.1 * (g - m)
                v += 0.001 * (g * g - v)
                p -= scale * m / (np.sqrt(v) + 1e-7)
    return time.perf_counter() - start


def train_torch(x, y, spec):
    import torch

    torch.manual_seed(0)
    sizes = spec["layers"]
    layers = []
    for i, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(torch.nn.Linear(fan_in, fan_out))
        if i + 2 < len(sizes):
            layers.append(torch.nn.ReLU())
    model = torch.nn.Sequential(*layers)
    binary = sizes[-1] == 1
    loss_fn = torch.nn.BCEWithLogitsLoss() if binary else torch.nn.CrossEntropyLoss()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3, eps=1e-7)
    xt = torch.from_numpy(x)
    yt = torch.from_numpy(y if binary else y.argmax(axis=1))
    start = time.perf_counter()
    for _ in range(spec["epochs"]):
        order = torch.randperm(len(xt))
        for begin in range(0, len(xt), spec["batch"]):
            idx = order[begin:begin + spec["batch"]]
            optimizer.zero_grad()
            loss = loss_fn(model(xt[idx]), yt[idx])
            loss.backward()
            optimizer.step()
    return time.perf_counter() - start


def worker(workload, library, threads, data_dir):
    """Runs in a child process: train once and print the seconds as JSON."""
    if library == "torch":
        import torch
        torch.set_num_threads(threads)
    from threadpoolctl import threadpool_limits

    import nerve
    nerve.set_num_threads(threads)
    x, y = load(workload, data_dir)
    with threadpool_limits(limits=threads):
        if library == "nerve-reference":
            with nerve.use_backend("numpy"):
                seconds = train_nerve(x, y, WORKLOADS[workload])
        else:
            seconds = {"nerve": train_nerve, "numpy": train_numpy, "torch": train_torch}[library](
                x, y, WORKLOADS[workload])
    print(json.dumps({"seconds": seconds}))


def torch_available():
    try:
        import torch  # noqa: F401
        return True
    except ImportError:
        return False


def run(data_dir, rounds=3, thread_counts=(1,), workloads=tuple(WORKLOADS),
        libraries=LIBRARIES):
    libraries = [lib for lib in libraries if lib != "torch" or torch_available()]
    results = []
    for workload in workloads:
        for threads in thread_counts:
            times = {lib: [] for lib in libraries}
            for _ in range(rounds):
                for lib in libraries:
                    out = subprocess.run([sys.executable, __file__, "--worker", workload, lib,
                                          str(threads), "--data", data_dir],
                                         capture_output=True, text=True, check=True)
                    times[lib].append(json.loads(out.stdout.strip().splitlines()[-1])["seconds"])
            rows = len(load(workload, data_dir)[0])
            results.append({"workload": workload, "threads": threads, "spec": WORKLOADS[workload],
                            "gflop": epoch_gflop(workload, rows),
                            **{f"{lib}_seconds": times[lib] for lib in libraries}})
    return results


def table(results, gemm_gflops=None):
    """Median seconds and speed-ups; with nerve's GEMM rate (GFLOP/s), also the time its
    products alone would take at that rate (the floor) and nerve's time over that floor."""
    import statistics

    rows = []
    for r in results:
        nerve_s = statistics.median(r["nerve_seconds"])
        row = [r["workload"], r["threads"], f"{nerve_s:.3f}"]
        for lib in ("nerve-reference", "numpy", "torch"):
            seconds = r.get(f"{lib}_seconds")
            if seconds:
                median = statistics.median(seconds)
                row += [f"{median:.3f}", f"{median / nerve_s:.1f}x"]
            else:
                row += ["-", "-"]
        floor = r["gflop"] / gemm_gflops[r["threads"]] if gemm_gflops else None
        row += [f"{floor:.3f} ({nerve_s / floor:.2f}x)" if floor else "-"]
        rows.append(row)
    return common.markdown_table(
        ["workload", "threads", "nerve s", "nerve on reference backend s", "speed-up",
         "NumPy MLP s", "speed-up", "PyTorch s", "speed-up", "GEMM floor s (nerve/floor)"], rows)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=DEFAULT_DATA, help="folder with the data files")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, nargs="+", default=[1])
    parser.add_argument("--workloads", nargs="+", default=list(WORKLOADS), choices=list(WORKLOADS))
    parser.add_argument("--worker", nargs=3, metavar=("WORKLOAD", "LIBRARY", "THREADS"),
                        help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        workload, library, threads = args.worker
        worker(workload, library, int(threads), args.data)
        return
    print(table(run(args.data, args.rounds, args.threads, args.workloads)))


if __name__ == "__main__":
    main()
