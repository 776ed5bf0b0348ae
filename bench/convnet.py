"""The Keras "simple MNIST convnet": nerve against PyTorch CPU and a plain NumPy im2col loop.

    python bench/convnet.py [--data DIR] [--rounds N] [--threads 1 2] [--quick]
                            [--torch-python PYTHON] [--libraries nerve torch numpy] [--json PATH]

Model: Input (28, 28, 1) in [0, 1], Conv2D 32 3x3 relu, MaxPooling2D 2, Conv2D 64 3x3 relu,
MaxPooling2D 2, Flatten, Dropout 0.5, Dense 10 softmax; Glorot-uniform kernels, zero biases;
Adam (lr 1e-3, epsilon 1e-7), categorical cross-entropy, batch 128, one shuffled epoch over the
first 12,000 training images of mnist.npz; then accuracy on the 10,000 test images.
- nerve: the Keras API (nerve.layers.Conv2D, ...), model.fit / model.predict;
- torch: torch.nn in NCHW (data transposed once, untimed), torch.set_num_threads;
- numpy: nerve.numpy_convnet (im2col matmuls, argmax pooling, hand-written backward, Adam).
Each (library, thread count, round) runs in a fresh child process, the libraries alternating
round by round, with OMP_NUM_THREADS and the library's own thread setting (threadpoolctl for
NumPy's BLAS). A child reports: the epoch's seconds, the peak resident memory at the end of the
epoch (ru_maxrss: interpreter, library, data and training), the epoch's CPU time (beside the
wall time it shows a shared core or spinning threads), test accuracy, predict throughput
(batch 128) and single-image latency, and the forward rate of the second convolution (batch
128, 13x13x32 -> 11x11x64, relu), set against the FMA peak of nerve's probe: for nerve the
layer's kernel call into a preallocated output, as its training plan runs it; for torch
relu(conv(x)), which allocates its output, as its training step does. The torch child runs
under --torch-python, so torch need not be installed beside nerve: this file imports neither
nerve nor torch at the top.
"""
import argparse
import functools
import json
import os
import resource
import statistics
import subprocess
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import common  # noqa: E402  (nerve-free at import time)

DEFAULT_DATA = os.path.join(HERE, "..", "..", "shared", "data")
LIBRARIES = ("nerve", "torch", "numpy")
FULL = dict(rounds=3, train_images=12_000, test_images=10_000, latency_calls=200, passes=3)
QUICK = dict(rounds=1, train_images=4_096, test_images=2_000, latency_calls=50, passes=1)
BATCH = 128
CONV2_INPUT = (BATCH, 13, 13, 32)  # the second convolution's input in training
CONV2_FLOP = 2 * BATCH * 11 * 11 * 64 * 3 * 3 * 32


def load(data_dir, train_images, test_images):
    """x (n, 28, 28, 1) float32 in [0, 1], y one-hot float32 (train) / labels (test)."""
    with np.load(os.path.join(data_dir, "mnist.npz")) as f:
        def images(key, n):
            return (f[key][:n].astype(np.float32) / 255)[..., None]
        return (images("x_train", train_images),
                np.eye(10, dtype=np.float32)[f["y_train"][:train_images]],
                images("x_test", test_images), f["y_test"][:test_images].astype(np.int64))


def peak_rss_mib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def cpu_seconds():
    """User + system time of this process, all threads: against the wall time it shows
    waiting for a shared core (1 thread) or threads spinning (OpenBLAS)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def nerve_contender(threads):
    import nerve
    from nerve import layers

    nerve.set_num_threads(threads)
    nerve.utils.set_random_seed(0)
    model = nerve.Sequential([
        nerve.Input((28, 28, 1)),
        layers.Conv2D(32, (3, 3), activation="relu"),
        layers.MaxPooling2D((2, 2)),
        layers.Conv2D(64, (3, 3), activation="relu"),
        layers.MaxPooling2D((2, 2)),
        layers.Flatten(),
        layers.Dropout(0.5),
        layers.Dense(10, activation="softmax"),
    ])
    model.compile(optimizer=nerve.optimizers.Adam(1e-3), loss="categorical_crossentropy",
                  metrics=["accuracy"])
    # The second convolution as a training step runs it: the layer's kernel call into its
    # preallocated output (predict_on_batch would add copying the 2.7 MB input in and the
    # 4 MB output out).
    conv2 = layers.Conv2D(64, (3, 3), activation="relu")
    conv2.build(CONV2_INPUT)
    x_conv2 = np.random.default_rng(0).random(CONV2_INPUT, dtype=np.float32)
    y_conv2 = np.empty(conv2.compute_output_shape(CONV2_INPUT), np.float32)
    kernel_call = functools.partial(nerve.get_backend().conv2d_forward, y_conv2, x_conv2,
                                    conv2.kernel, conv2.bias, activation="relu")
    return dict(
        version=nerve.__version__,
        train=lambda x, y: model.fit(x, y, batch_size=BATCH, epochs=1, verbose=0),
        predict=lambda x, batch: model.predict(x, batch_size=batch, verbose=0),
        conv2=kernel_call)


def torch_contender(threads):
    import torch
    from torch import nn

    torch.set_num_threads(threads)
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(32, 64, 3),
                          nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Dropout(0.5),
                          nn.Linear(64 * 5 * 5, 10))
    for module in model:
        if isinstance(module, (nn.Conv2d, nn.Linear)):  # Keras's initialisation
            nn.init.xavier_uniform_(module.weight)
            nn.init.zeros_(module.bias)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3, eps=1e-7)
    loss_fn = nn.CrossEntropyLoss()

    def nchw(x):
        return torch.from_numpy(np.ascontiguousarray(x.transpose(0, 3, 1, 2)))

    def train(x, y):
        y = torch.from_numpy(y.argmax(axis=1))
        model.train()
        order = torch.randperm(len(x))
        for begin in range(0, len(x), BATCH):
            rows = order[begin:begin + BATCH]
            optimizer.zero_grad()
            loss_fn(model(x[rows]), y[rows]).backward()
            optimizer.step()

    def predict(x, batch):
        model.eval()
        with torch.inference_mode():
            return torch.cat([torch.softmax(model(x[i:i + batch]), dim=1)
                              for i in range(0, len(x), batch)]).numpy()

    conv = model[3]
    x_conv2 = nchw(np.random.default_rng(0).random(CONV2_INPUT, dtype=np.float32))

    def conv2():
        with torch.inference_mode():
            return torch.relu(conv(x_conv2))

    return dict(version=torch.__version__, train=train, predict=predict, conv2=conv2,
                prepare=nchw)


def numpy_contender(threads):
    from nerve import numpy_convnet as nc

    net = nc.ConvNet([nc.Conv2D(32, 3), nc.MaxPooling2D(2), nc.Conv2D(64, 3), nc.MaxPooling2D(2),
                      nc.Flatten(), nc.Dropout(0.5), nc.Dense(10)], input_shape=(28, 28, 1))
    conv = nc.Conv2D(64, 3)
    conv.build(CONV2_INPUT[1:], np.random.default_rng(0), np.float32)
    x_conv2 = np.random.default_rng(0).random(CONV2_INPUT, dtype=np.float32)
    return dict(version=np.__version__,
                train=lambda x, y: net.fit_epoch(x, y, batch_size=BATCH),
                predict=lambda x, batch: net.predict(x, batch_size=batch),
                conv2=lambda: conv.forward(x_conv2, False))


CONTENDERS = {"nerve": nerve_contender, "torch": torch_contender, "numpy": numpy_contender}


def worker(library, threads, data_dir, settings):
    """In a child process: train once, then measure; prints one JSON line."""
    from threadpoolctl import threadpool_info, threadpool_limits

    numpy_blas = ", ".join(f"{i['internal_api']} {i['version']}" for i in threadpool_info()
                           if i["user_api"] == "blas")  # only NumPy is loaded yet
    with threadpool_limits(limits=threads):
        x, y, x_test, y_test = load(data_dir, settings["train_images"], settings["test_images"])
        contender = CONTENDERS[library](threads)
        prepare = contender.get("prepare", lambda images: images)
        x, x_test = prepare(x), prepare(x_test)
        start, start_cpu = time.perf_counter(), cpu_seconds()
        contender["train"](x, y)
        seconds, train_cpu = time.perf_counter() - start, cpu_seconds() - start_cpu
        rss = peak_rss_mib()
        predict = contender["predict"]
        accuracy = float(np.mean(predict(x_test, BATCH).argmax(axis=1) == y_test))
        passes = []
        for _ in range(settings["passes"]):
            begin = time.perf_counter()
            predict(x_test, BATCH)
            passes.append(time.perf_counter() - begin)
        latencies = []
        predict(x_test[:1], 1)
        for i in range(settings["latency_calls"]):
            begin = time.perf_counter()
            predict(x_test[i:i + 1], 1)
            latencies.append(time.perf_counter() - begin)
        conv2_seconds = common.time_call(contender["conv2"], min_seconds=0.2)
    print(json.dumps({
        "version": contender["version"], "python": sys.version.split()[0],
        "numpy_blas": numpy_blas, "seconds": seconds, "cpu_seconds": train_cpu,
        "peak_rss_mib": rss, "accuracy": accuracy,
        "predict_images_per_s": len(x_test) / statistics.median(passes),
        "latency_ms": 1e3 * statistics.median(latencies),
        "conv2_gflops": CONV2_FLOP / conv2_seconds / 1e9}))


def available(library, torch_python):
    """None when the library can run here, else why not."""
    if library == "torch":
        probe = subprocess.run([torch_python, "-c", "import torch, threadpoolctl"],
                               capture_output=True, text=True)
        return None if probe.returncode == 0 else f"no torch/threadpoolctl in {torch_python}"
    if library == "nerve":
        import nerve
        missing = [name for name in ("Conv2D", "MaxPooling2D") if not hasattr(nerve.layers, name)]
        return f"nerve.layers has no {', '.join(missing)}" if missing else None
    return None


def child(library, threads, data_dir, settings, torch_python):
    python = torch_python if library == "torch" else sys.executable
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), OPENBLAS_NUM_THREADS=str(threads),
               MKL_NUM_THREADS=str(threads))
    out = subprocess.run([python, __file__, "--worker", library, str(threads), "--data", data_dir,
                          "--settings", json.dumps(settings)], capture_output=True, text=True,
                         env=env)
    if out.returncode:
        raise RuntimeError(f"{library} child failed:\n{out.stderr}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def run(data_dir, settings, thread_counts, libraries, torch_python=sys.executable):
    """{"settings", "skipped": {library: why}, "results": [{"threads", "peak_gflops",
    library: [one dict per round]}]}."""
    skipped = {lib: why for lib in libraries if (why := available(lib, torch_python))}
    running = [lib for lib in libraries if lib not in skipped]
    results = []
    for threads in thread_counts:
        entry = {"threads": threads, "peak_gflops": common.fma_peak(threads, rounds=3),
                 **{lib: [] for lib in running}}
        for _ in range(settings["rounds"]):
            for lib in running:
                entry[lib].append(child(lib, threads, data_dir, settings, torch_python))
                time.sleep(common.SETTLE_SECONDS)
        results.append(entry)
    return {"settings": settings, "skipped": skipped, "results": results}


# (label, key, format, higher is better)
ROWS = [("train 1 epoch, s", "seconds", "{:.2f}", False),
        ("train 1 epoch, CPU s (all threads)", "cpu_seconds", "{:.2f}", False),
        ("test accuracy, %", "accuracy", "{:.2%}", True),
        ("predict, images/s (batch 128)", "predict_images_per_s", "{:,.0f}", True),
        ("predict latency, ms (batch 1)", "latency_ms", "{:.3f}", False),
        ("peak RSS of the epoch, MiB", "peak_rss_mib", "{:.0f}", False),
        ("conv2 forward, GFLOP/s", "conv2_gflops", "{:.1f}", True)]


def table(report):
    """One row per measure and thread count: medians, and nerve's advantage over each peer
    (x > 1: nerve faster, higher throughput or smaller; accuracy as the difference)."""
    results = report["results"]
    libraries = [lib for lib in LIBRARIES if results and lib in results[0]]
    peers = [lib for lib in libraries if lib != "nerve"] if "nerve" in libraries else []
    header = ["measure", "threads", *libraries, *[f"nerve vs {p}" for p in peers]]
    rows = []
    for label, key, fmt, higher in ROWS:
        for entry in results:
            medians = {lib: statistics.median(r[key] for r in entry[lib]) for lib in libraries}
            row = [label, entry["threads"], *[fmt.format(medians[lib]) for lib in libraries]]
            for peer in peers:
                ours, theirs = medians["nerve"], medians[peer]
                if key == "accuracy":
                    row.append(f"{100 * (ours - theirs):+.2f} pt")
                else:
                    row.append(f"{(ours / theirs if higher else theirs / ours):.2f}x")
            rows.append(row)
    for entry in results:
        shares = [statistics.median(r["conv2_gflops"] for r in entry[lib]) / entry["peak_gflops"]
                  for lib in libraries]
        rows.append(["conv2 forward, % of float32 FMA peak", entry["threads"],
                     *[f"{share:.0%}" for share in shares], *[""] * len(peers)])
    return common.markdown_table(header, rows)


def header(report, environment):
    s = report["settings"]
    first = report["results"][0] if report["results"] else {}
    versions = {lib: first[lib][0]["version"] for lib in LIBRARIES if first.get(lib)}
    if "numpy" in versions:
        versions["numpy"] += f" ({first['numpy'][0]['numpy_blas']})"
    lines = [f"CPU: {environment['cpu']} ({environment['cpus_available']} available), nerve ISA "
             f"{environment['nerve']['isa_selected']}; FMA peak float32 "
             + ", ".join(f"{e['threads']}T {e['peak_gflops']:.0f} GFLOP/s"
                         for e in report["results"]),
             f"threads: {', '.join(str(e['threads']) for e in report['results'])}; "
             f"{s['train_images']} training / {s['test_images']} test images, batch {BATCH}, "
             f"{s['rounds']} round(s), medians",
             f"versions: python {environment['python']}, "
             + ", ".join(f"{lib} {v}" for lib, v in versions.items())
             + f"; git {environment['git']}, {environment['date']}"]
    lines += [f"skipped {lib}: {why}" for lib, why in report["skipped"].items()]
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=DEFAULT_DATA, help="folder holding mnist.npz")
    parser.add_argument("--quick", action="store_true",
                        help=f"fewer images and rounds: {QUICK}")
    parser.add_argument("--rounds", type=int)
    parser.add_argument("--train-images", type=int)
    parser.add_argument("--test-images", type=int)
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--libraries", nargs="+", default=list(LIBRARIES), choices=LIBRARIES)
    parser.add_argument("--torch-python", default=sys.executable,
                        help="interpreter with torch for the PyTorch child (default: this one)")
    parser.add_argument("--json", help="also write the raw results here")
    parser.add_argument("--worker", nargs=2, metavar=("LIBRARY", "THREADS"), help=argparse.SUPPRESS)
    parser.add_argument("--settings", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.worker[0], int(args.worker[1]), args.data, json.loads(args.settings))
        return
    settings = dict(QUICK if args.quick else FULL)
    for key in ("rounds", "train_images", "test_images"):
        if getattr(args, key) is not None:
            settings[key] = getattr(args, key)
    report = run(args.data, settings, args.threads, args.libraries, args.torch_python)
    report["environment"] = environment = common.environment()
    print(header(report, environment) + "\n\n" + table(report))
    if args.json:
        common.save_json(args.json, report)


if __name__ == "__main__":
    main()
