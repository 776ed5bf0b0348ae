"""Timing and reporting shared by the benchmarks.

The machines are shared and a core's speed swings within seconds, so every comparison is a
ratio taken in the same run: the contenders are timed in alternating rounds, and each reports
its best and median round. NumPy's OpenBLAS workers busy-wait for a while after a threaded
call, stealing the other core; a short sleep separates one library's round from the next's.
nerve is imported only where needed, so a benchmark's PyTorch child can run this module from
an interpreter without nerve.
"""
import datetime
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from contextlib import contextmanager

import numpy as np

SETTLE_SECONDS = 0.12  # OpenBLAS spin-wait after a threaded call is ~0.1 s


def time_call(fn, min_seconds=0.02):
    """Seconds per call of fn(), from a loop long enough to be measured reliably."""
    fn()
    calls = 1
    while True:
        start = time.perf_counter()
        for _ in range(calls):
            fn()
        elapsed = time.perf_counter() - start
        if elapsed >= min_seconds:
            return elapsed / calls
        calls = max(calls * 2, int(calls * min_seconds / max(elapsed, 1e-9)) + 1)


def compare(contenders, rounds=7, min_seconds=0.02):
    """Alternate rounds of each contender; return {name: {"best": s, "median": s}} per call."""
    samples = {name: [] for name in contenders}
    for _ in range(rounds):
        for name, fn in contenders.items():
            samples[name].append(time_call(fn, min_seconds))
            time.sleep(SETTLE_SECONDS)
    return {name: {"best": min(s), "median": statistics.median(s)} for name, s in samples.items()}


def fma_peak(threads, f64=False, rounds=5, iterations=20_000_000):
    """Best GFLOP/s of nerve's independent FMA chains on `threads` threads (the peak is a
    maximum, so best-of, not median)."""
    from nerve import _core

    best = 0.0
    for _ in range(rounds):
        start = time.perf_counter()
        flops = _core._fma_peak_probe(iterations, threads, f64)
        best = max(best, flops / (time.perf_counter() - start) / 1e9)
    return best


@contextmanager
def threads(n):
    """Limit nerve and NumPy's BLAS (and torch, if loaded) to n threads."""
    from threadpoolctl import threadpool_limits

    import nerve

    before = nerve.get_num_threads()
    torch = sys.modules.get("torch")
    torch_before = torch.get_num_threads() if torch else None
    nerve.set_num_threads(n)
    if torch:
        torch.set_num_threads(n)
    try:
        with threadpool_limits(limits=n):
            yield
    finally:
        nerve.set_num_threads(before)
        if torch:
            torch.set_num_threads(torch_before)


def cpu_model_and_flags():
    model, flags = platform.processor() or "unknown", []
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name") and model in ("unknown", "", platform.processor()):
                    model = line.split(":", 1)[1].strip()
                elif line.startswith("flags"):
                    wanted = {"sse4_2", "avx", "avx2", "fma", "avx512f", "avx512bw", "avx512dq",
                              "avx512vl", "avx512_bf16", "amx_tile"}
                    flags = sorted(wanted & set(line.split(":", 1)[1].split()))
                    break
    except OSError:
        pass
    return model, flags


def environment():
    """Everything needed to interpret a result: machine, versions, threads, date."""
    from threadpoolctl import threadpool_info

    import nerve

    model, flags = cpu_model_and_flags()
    env = {
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "cpu": model,
        "cpu_flags": flags,
        "cpus_available": len(os.sched_getaffinity(0)),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "numpy_blas": [{k: i.get(k) for k in ("internal_api", "version", "architecture", "num_threads")}
                       for i in threadpool_info() if i.get("user_api") == "blas"],
        "nerve": nerve.build_info(),
    }
    try:
        import torch
        env["torch"] = torch.__version__
    except ImportError:
        env["torch"] = None
    try:
        env["git"] = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                                    text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        env["git"] = None
    return env


def describe(env):
    """One line saying where and with what a result was measured."""
    info = env["nerve"]
    blas = ", ".join(f"{b['internal_api']} {b['version']} ({b.get('architecture')} kernels)"
                     for b in env["numpy_blas"]) or "no BLAS found"
    return (f"{env['date']}, {env['cpu']} ({env['cpus_available']} CPUs), nerve {info['version']} "
            f"running its {info['isa_selected']} kernels (CPU supports {', '.join(info['isa_supported'])}), "
            f"Python {env['python']}, NumPy {env['numpy']} with {blas}, "
            f"PyTorch {env['torch'] or 'not installed'}, git {env['git']}")


def markdown_table(header, rows):
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def save_json(path, payload):
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    with open(path, "w") as f:
        json.dump(payload, f, indent=2)
