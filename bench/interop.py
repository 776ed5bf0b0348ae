"""Predict throughput of nerve against onnxruntime running nerve's ONNX export of the same model.

    python bench/interop.py [--rounds N] [--json PATH]

The MNIST MLP (784-256-128-10, relu, softmax, float32, random weights: throughput does not
depend on their values), batches of 1 and 256 rows, 1 thread for both (nerve and NumPy's BLAS
through common.threads, onnxruntime through intra_op_num_threads=1, inter_op_num_threads=1).
nerve.Model.predict_on_batch against InferenceSession.run, alternating rounds
(common.compare); median microseconds per call, rows per second and the ratio. The outputs
are compared first (largest absolute difference printed).
"""
import argparse
import os
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402

BATCHES = (1, 256)


def mlp():
    import nerve
    from nerve.layers import Dense

    return nerve.Sequential([nerve.Input(shape=(784,)), Dense(256, activation="relu"),
                             Dense(128, activation="relu"), Dense(10, activation="softmax")])


def session(model, directory):
    import onnxruntime

    path = os.path.join(directory, "mlp.onnx")
    model.export(path, format="onnx")
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = options.inter_op_num_threads = 1
    return onnxruntime.InferenceSession(path, options, providers=["CPUExecutionProvider"])


def run(rounds, batches=BATCHES):
    """{batch: {"nerve": {...}, "onnxruntime": {...}, "max_abs_difference": d}}, seconds per
    call (common.compare), on 1 thread."""
    model = mlp()
    rng = np.random.default_rng(0)
    results = {}
    with tempfile.TemporaryDirectory() as directory, common.threads(1):
        runtime = session(model, directory)
        input_name = runtime.get_inputs()[0].name
        for batch in batches:
            x = rng.standard_normal((batch, 784)).astype(np.float32)
            difference = np.abs(model.predict_on_batch(x) - runtime.run(None, {input_name: x})[0])
            timings = common.compare({
                "nerve": lambda: model.predict_on_batch(x),
                "onnxruntime": lambda: runtime.run(None, {input_name: x})}, rounds)
            results[batch] = {**timings, "max_abs_difference": float(difference.max())}
    return results


def table(results):
    rows = []
    for batch, result in results.items():
        nerve_s, ort_s = result["nerve"]["median"], result["onnxruntime"]["median"]
        rows.append([str(batch), f"{nerve_s * 1e6:.1f}", f"{ort_s * 1e6:.1f}",
                     f"{batch / nerve_s:,.0f}", f"{batch / ort_s:,.0f}",
                     f"{ort_s / nerve_s:.2f}", f"{result['max_abs_difference']:.1e}"])
    return common.markdown_table(["batch", "nerve us/call", "onnxruntime us/call",
                                  "nerve rows/s", "onnxruntime rows/s", "nerve speed-up",
                                  "max |diff|"], rows)


def main():
    import onnxruntime

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--json", help="also write the results here")
    args = parser.parse_args()
    results = run(args.rounds)
    print(table(results))
    env = common.environment()
    print(f"{common.describe(env)}, onnxruntime {onnxruntime.__version__}, 1 thread")
    if args.json:
        common.save_json(args.json, {"environment": env, "onnxruntime": onnxruntime.__version__,
                                     "results": results})


if __name__ == "__main__":
    main()
