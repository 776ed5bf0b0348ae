"""One data-parallel training run, launched by tests/test_distributed.py under mpiexec (and
once without it, as the single-process reference). argv: output .npz, then options as
key=value: batch, epochs, dtype, weights (sample weights), regularize, mode (a fault to
inject: raise, hang, die, batch, model; stop: rank 1 alone sets stop_training), data
(replicated / sharded), rows, shuffle, validation (0: no validation_split), timeout, norm=1
(a BatchNormalization layer), and interleave=N: one process trains on the rows in the order
N ranks of sharded data (rank r holding rows r::N, shuffle=0) consume them."""
import sys

import numpy as np

import nerve


def options():
    given = dict(arg.split("=", 1) for arg in sys.argv[2:])
    return {"batch": int(given.get("batch", 32)), "epochs": int(given.get("epochs", 2)),
            "dtype": given.get("dtype", "float64"), "weights": given.get("weights") == "1",
            "regularize": given.get("regularize") == "1", "mode": given.get("mode", ""),
            "data": given.get("data", "replicated"),
            "timeout": float(given.get("timeout", 60)), "rows": int(given.get("rows", 203)),
            "shuffle": given.get("shuffle", "1") == "1",
            "validation": float(given.get("validation", 0.2)),
            "interleave": int(given.get("interleave", 0)), "norm": given.get("norm") == "1"}


def interleaved(rows, ranks, batch):
    """The rows of each global batch of `ranks` sharded ranks (rank r holds rows r::ranks and
    takes batch // ranks of them a step, in order), one batch after the other."""
    share = batch // ranks
    shards = [np.arange(r, rows, ranks) for r in range(ranks)]
    steps = min(len(s) for s in shards) // share
    return np.concatenate([s[b * share:(b + 1) * share] for b in range(steps) for s in shards])


def data(rows=203):
    generator = np.random.default_rng(7)
    x = generator.normal(size=(rows, 6))
    y = (x[:, 0] + x[:, 1] * x[:, 2] > 0).astype(np.int64)
    weights = generator.uniform(0.2, 2.0, size=rows)
    return x, y, weights


def model(opts, rank):
    nerve.utils.set_random_seed(3)
    nerve.utils.set_floatx(opts["dtype"])
    regularizer = nerve.regularizers.L2(1e-3) if opts["regularize"] else None
    units = 9 if opts["mode"] == "model" and rank == 1 else 8
    normalization = [nerve.layers.BatchNormalization()] if opts["norm"] else []
    net = nerve.Sequential([nerve.Input((6,)),
                            nerve.layers.Dense(units, activation="relu",
                                               kernel_regularizer=regularizer),
                            *normalization, nerve.layers.Dense(2, activation="softmax")])
    net.compile(optimizer=nerve.optimizers.Adam(0.01), loss="sparse_categorical_crossentropy",
                metrics=["accuracy"])
    return net


class Fault(nerve.callbacks.Callback):
    """Inject a fault on rank 1 at the second epoch (stop: at the end of the first)."""

    def __init__(self, mode):
        super().__init__()
        self.mode = mode

    def on_epoch_end(self, epoch, logs=None):
        if self.mode == "stop" and nerve.distributed.rank() == 1:
            self.model.stop_training = True

    def on_epoch_begin(self, epoch, logs=None):
        if epoch < 1 or nerve.distributed.rank() != 1:
            return
        if self.mode == "raise":
            raise RuntimeError("injected failure on rank 1")
        if self.mode == "hang":
            import time
            time.sleep(3600)
        if self.mode == "die":
            import os
            os._exit(7)


def main():
    opts = options()
    nerve.distributed.initialize(data=opts["data"], timeout=opts["timeout"])
    rank, size = nerve.distributed.rank(), nerve.distributed.size()
    x, y, weights = data(opts["rows"])
    if opts["data"] == "sharded":  # each rank is given a strided part of the rows
        x, y, weights = x[rank::size], y[rank::size], weights[rank::size]
    if opts["interleave"]:
        order = interleaved(opts["rows"], opts["interleave"], opts["batch"])
        x, y, weights = x[order], y[order], weights[order]
    net = model(opts, rank)
    batch = opts["batch"] * (2 if opts["mode"] == "batch" and rank == 1 else 1)
    history = net.fit(x, y, batch_size=batch, epochs=opts["epochs"], verbose=0,
                      sample_weight=weights if opts["weights"] else None,
                      callbacks=[Fault(opts["mode"]),
                                 nerve.callbacks.CSVLogger(f"{sys.argv[1]}.log.{rank}.csv"),
                                 nerve.callbacks.ModelCheckpoint(
                                     f"{sys.argv[1]}.checkpoint.{rank}.nerve")],
                      validation_split=opts["validation"],
                      shuffle=opts["shuffle"])
    net.save(f"{sys.argv[1]}.model.{rank}.nerve")
    evaluated = net.evaluate(x, y, verbose=0, return_dict=True)
    flat = np.concatenate([w.ravel() for w in net.get_weights()])
    try:
        net.train_on_batch(x[:4], y[:4])
        refused = False
    except RuntimeError:
        refused = True
    np.savez(f"{sys.argv[1]}.{rank}.npz", weights=flat, size=size, refused=refused,
             history=np.array([history.history[k] for k in sorted(history.history)]),
             keys=np.array(sorted(history.history)),
             evaluated=np.array([evaluated[k] for k in sorted(evaluated)]))


if __name__ == "__main__":
    main()
