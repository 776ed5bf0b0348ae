"""Custom code against built-in layers and losses: what writing a layer or a loss with
nerve.ops costs per training step.

    python bench/custom.py [--data DIR] [--rounds N] [--threads 1] [--rows 6400]

The MNIST MLP (784-256-128-10, relu, softmax, Adam, batch 128, float32) trained by fit() in
three forms, interleaved round by round in one process (medians of per-step times):
- built-in: Dense layers and loss="categorical_crossentropy";
- custom layer: the hidden layers as a Layer subclass (add_weight + ops.matmul + ops.relu);
- custom loss: the built-in layers with a cross-entropy written as a function of nerve.ops.
Issue 9 asks for custom layer / built-in <= 1.3 and custom loss / built-in <= 1.2.
"""
import argparse
import os
import statistics
import sys
import time


sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402
from training import DEFAULT_DATA, load  # noqa: E402

import nerve  # noqa: E402
from nerve import ops  # noqa: E402


class Linear(nerve.layers.Layer):
    """Dense written by a user: y = relu(x @ kernel + bias)."""

    def __init__(self, units, activation=None, **kwargs):
        super().__init__(**kwargs)
        self.units, self.activation = units, activation

    def build(self, input_shape):
        self.kernel = self.add_weight(shape=(input_shape[-1], self.units), name="kernel")
        self.bias = self.add_weight(shape=(self.units,), initializer="zeros", name="bias")

    def call(self, x):
        y = ops.matmul(x, self.kernel) + self.bias
        return ops.relu(y) if self.activation == "relu" else y


def crossentropy(y_true, y_pred):
    """Categorical cross-entropy written with nerve.ops, as a user would."""
    y_pred = ops.clip(y_pred, 1e-7, 1 - 1e-7)
    return -ops.sum(y_true * ops.log(y_pred), axis=-1)


def build(kind):
    nerve.utils.set_random_seed(0)
    hidden = Linear if kind == "custom layer" else nerve.layers.Dense
    model = nerve.Sequential([nerve.Input(shape=(784,)), hidden(256, activation="relu"),
                              hidden(128, activation="relu"),
                              nerve.layers.Dense(10, activation="softmax")])
    loss = crossentropy if kind == "custom loss" else "categorical_crossentropy"
    model.compile(optimizer=nerve.optimizers.Adam(1e-3), loss=loss)
    return model


KINDS = ("built-in", "custom layer", "custom loss")


def run(x, y, rounds, batch=128):
    models = {kind: build(kind) for kind in KINDS}
    steps = len(x) // batch
    for model in models.values():  # compile the plans before timing
        model.fit(x[:batch], y[:batch], batch_size=batch, verbose=0)
    samples = {kind: [] for kind in KINDS}
    for _ in range(rounds):
        for kind, model in models.items():
            start = time.perf_counter()
            model.fit(x, y, batch_size=batch, epochs=1, verbose=0, shuffle=False)
            samples[kind].append((time.perf_counter() - start) / steps)
            time.sleep(common.SETTLE_SECONDS)
    return samples


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=DEFAULT_DATA)
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--rows", type=int, default=6400)
    parser.add_argument("--json", help="also write the results here")
    args = parser.parse_args()
    x, y = load("mnist", args.data)
    x, y = x[:args.rows], y[:args.rows]
    with common.threads(args.threads):
        samples = run(x, y, args.rounds)
    base = statistics.median(samples["built-in"])
    rows = [[kind, f"{statistics.median(s) * 1e3:.3f}",
             f"{statistics.median([a / b for a, b in zip(s, samples['built-in'])]):.3f}"]
            for kind, s in samples.items()]
    print(common.markdown_table(["model", "ms per step (median)", "/ built-in (median of "
                                 "per-round ratios)"], rows))
    print(f"built-in median {base * 1e3:.3f} ms/step; threads {args.threads}")
    if args.json:
        common.save_json(args.json, {"environment": common.environment(),
                                     "threads": args.threads, "samples": samples})


if __name__ == "__main__":
    main()
