"""Training time of two nerve source trees on the same workloads, interleaved.

    python bench/trees.py BEFORE_PYTHONPATH AFTER_PYTHONPATH [--rounds N] [--workloads ...]

Each round runs bench/training.py's nerve worker once per tree, alternating, each in its own
process (1 thread), so both see the same machine conditions; medians and the after/before
ratio are printed. Use it to show that a change of the Python core kept training as fast.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def once(pythonpath, workload, data):
    environment = {**os.environ, "PYTHONPATH": pythonpath, "OMP_NUM_THREADS": "1"}
    command = [sys.executable, os.path.join(HERE, "training.py"), "--data", data, "--worker",
               workload, "nerve", "1"]
    result = subprocess.run(command, env=environment, capture_output=True, text=True, check=True)
    return json.loads(result.stdout.strip().splitlines()[-1])["seconds"]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("before")
    parser.add_argument("after")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--workloads", nargs="+", default=["pima", "mnist"])
    parser.add_argument("--data", default=os.path.join(HERE, "..", "..", "shared", "data"))
    args = parser.parse_args()
    for workload in args.workloads:
        times = {"before": [], "after": []}
        for _ in range(args.rounds):
            for name in ("before", "after"):
                times[name].append(once(getattr(args, name), workload, args.data))
        before, after = (statistics.median(times[k]) for k in ("before", "after"))
        print(json.dumps({"workload": workload, "rounds": args.rounds, "before_s": before,
                          "after_s": after, "after_over_before": after / before,
                          "all": times}))


if __name__ == "__main__":
    main()
