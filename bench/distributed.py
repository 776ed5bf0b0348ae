"""Data-parallel scaling: samples/s of model.fit with 1, 2, ... MPI ranks of one thread each.

    python bench/distributed.py [--data DIR] [--rounds N] [--ranks 1 2] [--workloads mlp convnet]
                                [--batch ROWS_PER_RANK] [--json PATH]

Workloads (float32, MNIST from mnist.npz, Adam, categorical cross-entropy, shuffled):
- mlp:     784-256-128-10 relu/softmax, 128 rows per rank and step, 30,000 rows;
- convnet: the Keras simple MNIST convnet of bench/convnet.py (without its Dropout, so that
           every rank draws nothing of its own), 128 rows per rank and step, 3,000 images.
The global batch is 128 (--batch) x ranks (weak scaling, as Horovod measures), so each rank's
share of a step is the same as one process's. Every (workload, ranks, round) runs as a fresh
`mpiexec -n ranks` with OMP_NUM_THREADS=1, the rank counts alternating round by round so all
see the same machine conditions; medians are reported. A rank times its fit between two
barriers after a warm-up fit; samples/s = rows / the slowest rank's wall time, efficiency =
samples/s / (ranks x one rank's samples/s). On a shared machine a rank waiting for a core
stalls every rank at the next allreduce, so each rank also reports its CPU time, the wall and
CPU time it spent in the allreduce (waiting for the others included) and, after the fit, the
fastest allreduce of the step's buffer with every rank ready. "speedup from CPU time" is
ranks x one rank's computing CPU time per step / (a rank's computing CPU time per step + that
allreduce): the speedup with a free core per rank, which a loaded machine cannot show.
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import common  # noqa: E402

DEFAULT_DATA = os.path.join(HERE, "..", "..", "shared", "data")
WORKLOADS = {"mlp": {"rows": 30000, "batch": 128}, "convnet": {"rows": 3000, "batch": 128}}


def build(workload):
    import nerve
    from nerve import layers
    nerve.utils.set_random_seed(0)
    if workload == "mlp":
        stack = [layers.Input((784,)), layers.Dense(256, activation="relu"),
                 layers.Dense(128, activation="relu"), layers.Dense(10, activation="softmax")]
    else:
        stack = [layers.Input((28, 28, 1)), layers.Conv2D(32, (3, 3), activation="relu"),
                 layers.MaxPooling2D((2, 2)), layers.Conv2D(64, (3, 3), activation="relu"),
                 layers.MaxPooling2D((2, 2)), layers.Flatten(),
                 layers.Dense(10, activation="softmax")]
    model = nerve.Sequential(stack)
    model.compile(optimizer=nerve.optimizers.Adam(1e-3), loss="categorical_crossentropy")
    return model


def load(workload, data_dir, rows):
    with np.load(os.path.join(data_dir, "mnist.npz")) as f:
        x = f["x_train"][:rows].astype(np.float32) / 255
        y = np.eye(10, dtype=np.float32)[f["y_train"][:rows]]
    return (x.reshape(-1, 784) if workload == "mlp" else x[..., None]), y


def worker(workload, data_dir, per_rank):
    """One rank's measurement, printed as a JSON line."""
    import nerve
    nerve.distributed.initialize()
    ranks, settings = nerve.distributed.size(), WORKLOADS[workload]
    x, y = load(workload, data_dir, settings["rows"])
    model, batch = build(workload), (per_rank or settings["batch"]) * ranks
    model.fit(x[:batch * 3], y[:batch * 3], batch_size=batch, epochs=1, verbose=0)  # warm-up
    spent = [0.0, 0.0]  # wall and CPU seconds in the gradient allreduce, waits included
    communicator = nerve.distributed._communicator
    if communicator is not None:
        summed = communicator.sum

        def timed_sum(array, what="an allreduce"):
            wall, cpu = time.perf_counter(), time.process_time()
            summed(array, what)
            spent[0] += time.perf_counter() - wall
            spent[1] += time.process_time() - cpu
        communicator.sum = timed_sum
    nerve.distributed.barrier()
    wall, cpu = time.perf_counter(), time.process_time()
    model.fit(x, y, batch_size=batch, epochs=1, verbose=0)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    nerve.distributed.barrier()
    print(json.dumps({"rank": nerve.distributed.rank(), "wall": wall, "cpu": cpu,
                      "allreduce": spent[0], "allreduce_cpu": spent[1], "rows": len(x),
                      "steps": -(-len(x) // batch),
                      "allreduce_alone": allreduce_seconds(communicator, model)}), flush=True)


def allreduce_seconds(communicator, model, calls=200):
    """The fastest of `calls` allreduces of the step's buffer with every rank ready: the
    cost of the communication itself, without waiting for a slower rank."""
    if communicator is None:
        return 0.0
    buffer = np.zeros(model._trainable_size + 1, model.dtype)
    best = float("inf")
    for _ in range(calls):
        communicator.barrier()
        start = time.perf_counter()
        communicator.sum(buffer)
        best = min(best, time.perf_counter() - start)
    return best


def launch(workload, ranks, data_dir, per_rank):
    """The ranks' reports of one run."""
    command = [sys.executable, os.path.abspath(__file__), "--worker", workload, "--data",
               data_dir, "--batch", str(per_rank or 0)]
    if ranks > 1:
        oversubscribe = ["--oversubscribe"] if ranks > (os.cpu_count() or 1) else []
        command = [shutil.which("mpiexec"), "-n", str(ranks), *oversubscribe, "--bind-to",
                   os.environ.get("NERVE_BENCH_BIND", "none")] + command
    environment = dict(os.environ, OMP_NUM_THREADS="1", OMPI_ALLOW_RUN_AS_ROOT="1",
                       OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")
    done = subprocess.run(command, env=environment, capture_output=True, text=True, check=True)
    reports = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    assert len(reports) == ranks, done.stdout + done.stderr
    return reports


def run(data_dir, rounds, rank_counts, workloads, per_rank=None):
    measured = {(w, n): [] for w in workloads for n in rank_counts}
    loads = []
    for _ in range(rounds):
        for workload in workloads:
            for ranks in rank_counts:
                loads.append(os.getloadavg()[0])
                reports = launch(workload, ranks, data_dir, per_rank)
                slowest = max(r["wall"] for r in reports)
                # A step's computing CPU time: the fit's CPU time less that spent waiting in
                # (or polling) the allreduce, per step, on the slowest rank.
                compute = max((r["cpu"] - r["allreduce_cpu"]) / r["steps"] for r in reports)
                measured[workload, ranks].append({
                    "samples_per_s": reports[0]["rows"] / slowest,
                    "cpu_per_wall": statistics.mean(r["cpu"] / r["wall"] for r in reports),
                    "compute_per_step": compute,
                    "allreduce_alone": max(r["allreduce_alone"] for r in reports),
                    "allreduce_share": max(r["allreduce"] / r["wall"] for r in reports)})
    results = []
    for (workload, ranks), runs in measured.items():
        median = {key: statistics.median(r[key] for r in runs) for key in runs[0]}
        results.append({"workload": workload, "ranks": ranks, **median, "runs": runs})
    for result in results:  # efficiency against one rank of the same workload, same run
        one = next(r for r in results if r["workload"] == result["workload"] and r["ranks"] == 1)
        result["speedup"] = result["samples_per_s"] / one["samples_per_s"]
        result["efficiency"] = result["speedup"] / result["ranks"]
        # Each rank computing on a core of its own: a step of ranks x 128 rows costs one
        # rank's computing time plus the allreduce alone.
        result["projected_speedup"] = result["ranks"] * one["compute_per_step"] / (
            result["compute_per_step"] + result["allreduce_alone"])
    return results, loads


def table(results):
    rows = [[r["workload"], r["ranks"], f"{r['samples_per_s']:,.0f}", f"{r['speedup']:.2f}x",
             f"{r['efficiency']:.0%}", f"{r['cpu_per_wall']:.2f}", f"{r['allreduce_share']:.1%}",
             f"{r['compute_per_step'] * 1e3:.2f}", f"{r['allreduce_alone'] * 1e6:.0f}",
             f"{r['projected_speedup']:.2f}x"] for r in results]
    return common.markdown_table(
        ["workload", "ranks x 1 thread", "samples/s", "speedup", "efficiency",
         "CPU / wall per rank", "wall in allreduce (max rank)", "computing CPU ms / step",
         "allreduce alone (us)", "speedup from CPU time"], rows)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=DEFAULT_DATA)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--ranks", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--workloads", nargs="+", default=list(WORKLOADS), choices=WORKLOADS)
    parser.add_argument("--batch", type=int, help="rows per rank and step (default: 128)")
    parser.add_argument("--json")
    parser.add_argument("--worker", choices=WORKLOADS)
    args = parser.parse_args()
    if args.worker:
        return worker(args.worker, args.data, args.batch)
    ranks = sorted(set(args.ranks) | {1})
    results, loads = run(args.data, args.rounds, ranks, args.workloads, args.batch)
    environment = common.environment()
    print(common.describe(environment))
    print(f"load average (1 min) before the runs: median {statistics.median(loads):.2f}, "
          f"max {max(loads):.2f}, on {os.cpu_count()} CPUs; {args.rounds} rounds, medians; "
          f"{args.batch or 128} rows per rank and step")
    print(table(results))
    if args.json:
        common.save_json(args.json, {"environment": environment, "results": results,
                                     "load_average": loads})


if __name__ == "__main__":
    main()
