"""Per-call cost of nerve's small calls against NumPy's, and the Pima program (issue 11).

    python bench/calls.py [--data DIR] [--rounds N] [--pima-rounds N] [--instructions]
                          [--json PATH]

1. 10x8 @ 8x10 float32, a new result each call: nerve.ops.matmul (keras.ops-like),
   nerve.ops.kernels.matmul and nerve._core.matmul against np.matmul, timed in this process
   in alternating rounds (common.compare), 1 thread; medians in microseconds and the ratio
   to NumPy's median (<= 1: no dearer than NumPy).
2. The Pima program of bench/training.py (8-10-1 relu/sigmoid, binary cross-entropy, Adam,
   batch 10, 150 epochs of 614 rows): nerve's fit against the plain NumPy loop and PyTorch
   (when this interpreter has it), each run in its own process, libraries alternating round
   by round; median seconds, microseconds per step and speed-ups.
3. With --instructions (needs valgrind): instructions per call of the same matmuls and per
   step of the Pima fit, from callgrind totals of two loop lengths (the difference over the
   extra calls), on this machine's interpreter: the figure a busy machine does not blur.
Targets: matmul <= 1.0x NumPy's time; Pima >= 10x the NumPy loop and >= 40x PyTorch.
"""
import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402
import training  # noqa: E402

SHAPES = ((10, 8), (8, 10))
PIMA_STEPS = 150 * 62  # 614 rows in batches of 10, 150 epochs


def matmul_calls():
    """{name: fn()} of the matmul contenders, on the same two float32 operands."""
    import nerve.ops as nops
    from nerve import _core

    rng = np.random.default_rng(0)
    a, b = (rng.standard_normal(shape).astype(np.float32) for shape in SHAPES)
    return {"numpy": lambda: np.matmul(a, b), "nerve.ops.matmul": lambda: nops.matmul(a, b),
            "nerve.ops.kernels.matmul": lambda: nops.kernels.matmul(a, b),
            "nerve._core.matmul": lambda: _core.matmul(a, b)}


def time_matmul(rounds):
    with common.threads(1):
        return common.compare(matmul_calls(), rounds=rounds, min_seconds=0.05)


def time_pima(data_dir, rounds):
    libraries = ("nerve", "numpy", "torch")
    (result,) = training.run(data_dir, rounds, (1,), ("pima",), libraries)
    return {lib: result[f"{lib}_seconds"] for lib in libraries if f"{lib}_seconds" in result}


# ---- instruction counts --------------------------------------------------------------------
# A child runs `calls` repetitions of one case; callgrind counts the whole process, so the
# difference between two lengths, over the extra repetitions, is the cost of one.
CHILD = r"""
import sys
sys.path.insert(0, {bench!r})
import calls, training
case, count = sys.argv[1], int(sys.argv[2])
if case == "pima step":
    import nerve
    nerve.set_num_threads(1)
    x, y = training.load("pima", {data!r})
    training.train_nerve(x, y, dict(training.WORKLOADS["pima"], epochs=count))
else:
    fn = calls.matmul_calls()[case]
    for _ in range(count):
        fn()
"""


def instructions(case, data_dir, short, long, per):
    """Instructions per repetition of `case` (per `per` units of it) by callgrind."""
    child = CHILD.format(bench=os.path.dirname(os.path.abspath(__file__)), data=data_dir)
    env = dict(os.environ, PYTHONHASHSEED="0", OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")
    totals = []
    for count in (short, long):
        out = subprocess.run(["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null",
                              sys.executable, "-c", child, case, str(count)],
                             capture_output=True, text=True, env=env, check=True)
        totals.append(int(re.search(r"Collected : (\d+)", out.stderr).group(1)))
    return (totals[1] - totals[0]) / ((long - short) * per)


def count_instructions(data_dir):
    counts = {name: instructions(name, data_dir, 200, 2200, 1) for name in matmul_calls()}
    counts["pima step"] = instructions("pima step", data_dir, 2, 12, 62)
    return counts


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=training.DEFAULT_DATA, help="folder with the Pima csv")
    parser.add_argument("--rounds", type=int, default=9, help="matmul timing rounds")
    parser.add_argument("--pima-rounds", type=int, default=3)
    parser.add_argument("--instructions", action="store_true",
                        help="also count instructions with callgrind (valgrind)")
    parser.add_argument("--json", help="also write the results here")
    args = parser.parse_args()
    report = {"environment": common.environment()}

    report["matmul"] = times = time_matmul(args.rounds)
    numpy_median = times["numpy"]["median"]
    print("## 10x8 @ 8x10 float32, new result, 1 thread (microseconds per call)\n")
    print(common.markdown_table(
        ["call", "median", "best", "/ NumPy (median)"],
        [[name, f"{t['median'] * 1e6:.3f}", f"{t['best'] * 1e6:.3f}",
          f"{t['median'] / numpy_median:.2f}x"] for name, t in times.items()]))

    if os.path.exists(os.path.join(args.data, "pima-indians-diabetes.csv")):
        report["pima"] = pima = time_pima(args.data, args.pima_rounds)
        nerve_s = statistics.median(pima["nerve"])
        print("\n## Pima program, 150 epochs, batch 10, 1 thread (median of rounds)\n")
        print(common.markdown_table(
            ["library", "seconds", "us per step", "nerve speed-up"],
            [[lib, f"{statistics.median(s):.3f}", f"{statistics.median(s) / PIMA_STEPS * 1e6:.1f}",
              f"{statistics.median(s) / nerve_s:.1f}x"] for lib, s in pima.items()]))
    else:
        print(f"\n(Pima skipped: no pima-indians-diabetes.csv in {args.data})")

    if args.instructions:
        if shutil.which("valgrind") is None:
            print("\n(instruction counts skipped: no valgrind)")
        else:
            report["instructions"] = counts = count_instructions(args.data)
            print("\n## Instructions (callgrind), per matmul call and per Pima training step\n")
            print(common.markdown_table(["case", "instructions"],
                                        [[name, f"{n:.0f}"] for name, n in counts.items()]))
    env = report["environment"]
    print(f"\n{env['cpu']} ({', '.join(env['cpu_flags'])}), nerve ISA "
          f"{env['nerve']['isa_selected']}, numpy {env['numpy']}, torch {env['torch']}, "
          f"python {env['python']}, git {env['git']}")
    if args.json:
        common.save_json(args.json, report)


if __name__ == "__main__":
    main()
