"""The data-parallel strategy one fit (or evaluate) runs under when size() > 1.

Training. Every rank runs the same steps. At the start of fit the ranks check that they agree
(same model, optimizer, batch size, epochs, data rows; a mismatch is a ValueError naming it),
then take rank 0's weights and optimizer state. Each step:
- "replicated" data: rank 0's shuffle is broadcast, and every rank takes its slice of each
  global batch of batch_size rows (sizes differ by at most one row; a rank may get none of a
  last batch smaller than size());
- "sharded" data: each rank shuffles its own rows and takes its share of batch_size from
  them; an epoch has as many steps as the rank with the fewest, and the rest of a larger
  shard's rows wait for a later epoch's shuffle.
A rank's loss is the mean over its r of the batch's b rows, so it weights its gradient by r / b
before one allreduce (a sum) of the flat gradient buffer per step: the sum is the gradient of
the mean over the global batch (sample weights and regularizers included) that one process
computes, up to the rounding of the sum.

Logs. The loss, each output's loss and every metric's state (totals and counts) are summed
over the ranks at the end of each epoch, and after every step when a callback or the progress
bar reads batch logs, so History, callbacks and EarlyStopping see the same global values on
every rank; whether to stop is agreed on at each epoch's end. Validation data (replicated) is
evaluated whole on every rank, needing no communication; sharded validation and evaluate
data are evaluated per rank and summed at the end. Non-trainable weights (a
BatchNormalization's moving statistics, computed on each rank's slice) are averaged over the
ranks at each epoch's end. Only rank 0 prints progress and writes files (save,
ModelCheckpoint, CSVLogger).
"""
from __future__ import annotations

import json
import warnings
from typing import Any, Callable, Dict

import numpy as np

_MEAN_STATE = ("_total", "_count", "_tp", "_fp", "_fn")  # the built-in metrics' sums


class DataParallel:
    """What one fit or evaluate of `model` does differently over several ranks (see the
    module docstring); nerve.distributed.data_parallel(model) makes it, fit uses it.

    Args:
        model: The model being trained or evaluated.
        communicator: The nerve.distributed.communicator.Communicator of the ranks.
        data: "replicated" or "sharded" (nerve.distributed.initialize's `data`).

    Example:
        >>> import nerve
        >>> model = nerve.Sequential([nerve.Input(shape=(4,)), nerve.layers.Dense(1)])
        >>> parallel = nerve.distributed.data_parallel(model)
        >>> parallel is None  # one process: no strategy (under mpiexec, a DataParallel)
        True
    """

    def __init__(self, model: Any, communicator: Any, data: str) -> None:
        self.model, self.comm, self.data = model, communicator, data
        self.per_batch = False  # whether every step reduces the logs (batch callbacks exist)
        # A batch's start in this rank's order -> its rows / global rows.
        self._factors: Dict[int, float] = {}

    # ---- the start of fit -------------------------------------------------------------------
    def start_fit(self, feed: Any, validation: Any, callbacks: Any,
                  arguments: Dict[str, Any]) -> None:
        """Check that the ranks agree, take rank 0's state and split the training feed.

        Args:
            feed: fit's training feed (nerve.models.sources.ArrayFeed).
            validation: Its validation feed, or None.
            callbacks: fit's CallbackList (its "steps" parameter follows the split).
            arguments: fit's arguments that every rank must pass alike (batch_size,
                epochs, ...).

        Raises:
            ValueError: A generator or PyDataset as x or validation_data, a metric whose
                state cannot be summed, a disagreement between the ranks (named), or a
                batch_size smaller than the ranks for sharded data.
            TimeoutError: A rank did not join within the timeout.

        Example:
            >>> # Under mpiexec, with model and parallel as in the class's example:
            >>> model.compile(optimizer="sgd", loss="mse")  # doctest: +SKIP
            >>> model.fit(x, y, batch_size=8, verbose=0)  # calls start_fit  # doctest: +SKIP
        """
        from ..models.sources import ArrayFeed
        for name, data in (("x", feed), ("validation_data", validation)):
            if data is not None and not isinstance(data, ArrayFeed):
                raise ValueError(f"{name}: nerve.distributed trains on arrays; a generator or a "
                                 f"PyDataset is not split over ranks (pass arrays, or each "
                                 f"rank's own part with initialize(data='sharded'))")
        _check_metrics(self.model)
        from ..callbacks import _ignore_batch
        batch_logs = callbacks.on_train_batch_end is not _ignore_batch
        self.per_batch = self._agree(feed, arguments, batch_logs)
        self._take_rank0_state()
        steps = feed.batches_per_epoch
        if self.data == "replicated":
            self._split_replicated(feed)
        else:
            self._split_sharded(feed, arguments["batch_size"])
        if feed.batches_per_epoch != steps:
            callbacks.set_params({**callbacks.params, "steps": feed.batches_per_epoch})

    def _agree(self, feed, arguments, batch_logs):
        """Whether any rank reads batch logs; raises ValueError on the first disagreement."""
        model = self.model
        optimizer = model.optimizer
        shapes = [tuple(v.shape) for v in model._packed]
        signature = {
            "the model's weights": f"{len(shapes)} weights of {model._params.size} "
                                   f"parameters, shapes {_abridged(shapes)}",
            "the model's dtype": str(model.dtype),
            "the optimizer": f"{type(optimizer).__name__} {_canonical(optimizer.get_config())}",
            **{name: repr(value) for name, value in arguments.items()},
        }
        if self.data == "replicated":
            signature["the number of samples"] = feed.rows
        everyone = self.comm.gather_all((signature, batch_logs), "fit's agreement check")
        for rank, (theirs, _) in enumerate(everyone):
            for name, value in signature.items():
                if theirs.get(name) != value:
                    raise ValueError(
                        f"{name}: differs across ranks, which must run the same fit "
                        f"(nerve.distributed): rank 0 has {everyone[0][0].get(name)}, rank "
                        f"{rank} has {theirs.get(name)}")
        return any(logs for _, logs in everyone)

    def _take_rank0_state(self):
        model = self.model
        self.comm.broadcast(model._params, "the broadcast of rank 0's weights")
        optimizer = model.optimizer
        if optimizer._slots is None:
            return
        iterations = np.array([optimizer.iterations], dtype=np.int64)
        self.comm.broadcast(iterations, "the broadcast of the optimizer's iterations")
        optimizer.iterations = int(iterations[0])
        for slot in optimizer._slots:
            self.comm.broadcast(slot, "the broadcast of the optimizer's state")

    def _split_replicated(self, feed):
        """This rank's slice of every global batch, from rank 0's order of each pass."""
        positions, schedule, local = [], [], 0
        for start, size in feed.schedule():
            low, high = _share(size, self.comm.size, self.comm.rank)
            positions.append(np.arange(start + low, start + high))
            schedule.append((local, high - low))
            self._factors[local] = (high - low) / size
            local += high - low
        positions = np.concatenate(positions)

        def local_order(order):
            order = np.ascontiguousarray(order, dtype=np.int64)
            self.comm.broadcast(order, "the broadcast of rank 0's shuffle")
            return order[positions]
        feed.share(local_order, schedule)

    def _split_sharded(self, feed, batch_size):
        """Batches of this rank's share of batch_size from its own rows, as many as the rank
        with the fewest has."""
        from ..models.steps import batches
        from ..models.sources import rows_per_batch
        global_batch = rows_per_batch(batch_size, None, None)
        low, high = _share(global_batch, self.comm.size, self.comm.rank)
        if high == low:
            raise ValueError(f"batch_size: {global_batch} is smaller than the {self.comm.size} "
                             f"ranks that share each batch of sharded data")
        schedule = batches(feed.rows, high - low)
        everyone = self.comm.gather_all([size for _, size in schedule],
                                        "the sizes of each rank's batches")
        steps = min(len(sizes) for sizes in everyone)
        schedule = schedule[:steps]
        for index, (start, size) in enumerate(schedule):
            self._factors[start] = size / sum(sizes[index] for sizes in everyone)
        left = feed.rows - sum(size for _, size in schedule)
        if left:
            warnings.warn(f"x: rank {self.comm.rank} holds {feed.rows} samples; {left} of them "
                          f"sit out each epoch (a different {left} each epoch when shuffled), "
                          f"as the rank with the fewest samples has only {steps} batches of "
                          f"its share", stacklevel=4)
        feed.share(lambda order: order, schedule)

    # ---- steps ------------------------------------------------------------------------------
    def train_steps(self, make: Callable[..., Any],
                    update: Callable[[], None]) -> Callable[..., Any]:
        """Wrap fit's step maker so that each update sums the gradients over the ranks first,
        each weighted by its share of the batch's rows; a rank with no rows of a batch still
        joins its sum.

        Args:
            make: make(size, xs, ys, weights, kept, update) -> a step (fit's).
            update: The optimizer's update, called after the sum.

        Returns:
            make_step(size, xs, ys, weights, kept) -> a step of this rank's rows.

        Example:
            >>> # Under mpiexec, with model and parallel as in the class's example:
            >>> model.fit(x, y, batch_size=8, verbose=0)  # its steps  # doctest: +SKIP
        """
        grads, comm = self.model._grads[:self.model._trainable_size], self.comm
        factors, factor = self._factors, [0.0]

        def reduced_update():
            np.multiply(grads, factor[0], out=grads)
            comm.sum(grads, "the allreduce of a step's gradients")
            update()

        def make_step(size, xs, ys, weights, kept):
            if size == 0:
                def no_rows(rows, start):
                    factor[0] = 0.0
                    grads.fill(0.0)
                    reduced_update()
                    return 0.0
                return no_rows
            step = make(size, xs, ys, weights, kept, reduced_update)

            def weighted_step(rows, start):
                factor[0] = factors[start]
                return step(rows, start)
            return weighted_step
        return make_step

    def running(self, running: Any, training: bool) -> Any:
        """Return the running logs of an epoch (training) or an evaluation, summed over the
        ranks; replicated evaluation data is whole on every rank and needs no sum.

        Args:
            running: This rank's nerve.models.steps.Running.
            training: Whether it is a training epoch.

        Returns:
            A running log whose logs are the ranks' together (or `running` itself).

        Example:
            >>> # Under mpiexec, with model and parallel as in the class's example:
            >>> model.fit(x, y, verbose=0).history["loss"]  # global  # doctest: +SKIP
            [0.25]
        """
        if not training and self.data == "replicated":
            return running
        return _GlobalRunning(running, self.comm, self.model if training else None,
                              self.per_batch and training)

    def anyone(self, flag: Any) -> bool:
        """Return whether flag is true on any rank (stop_training), on every rank.

        Args:
            flag: This rank's value (its truth is taken).

        Returns:
            True when some rank's flag is true.

        Raises:
            TimeoutError: A rank did not join within the timeout.

        Example:
            >>> # Under mpiexec, with model and parallel as in the class's example:
            >>> parallel.anyone(nerve.distributed.rank() == 0)  # doctest: +SKIP
            True
        """
        return self.comm.maximum(float(bool(flag)), "the agreement on stopping") > 0


class _GlobalRunning:
    """A Running (nerve.models.steps) whose logs are summed over the ranks: after every step
    (per_batch), else at final_logs(); batch callbacks read this rank's logs in between (an
    evaluation of sharded data, whose ranks run different numbers of batches)."""

    def __init__(self, running, communicator, model, per_batch):
        self.running, self.comm, self.model, self.per_batch = running, communicator, model, \
            per_batch
        self._global = None

    def add(self, loss, rows):
        self.running.add(loss, rows)
        if self.per_batch:
            self._global = self._sum()

    def logs(self):
        return self._global if self.per_batch else self.running.logs()

    def final_logs(self):
        return self._sum(final=True)

    def _sum(self, final=False):
        """The logs of every rank's rows together (collective): the sums of the loss, each
        output's loss and the metrics' states; at an epoch's end, also the mean of the
        non-trainable weights."""
        running = self.running
        running.feed()
        metrics = running.model._all_metrics()
        outputs = running.output_sums
        parts = [np.array([running.loss_sum, running.rows], np.float64)]
        parts += [] if outputs is None else [np.asarray(outputs, np.float64)]
        parts += [_state(metric) for metric in metrics]
        frozen = None
        if final and self.model is not None and self.model._trainable_size < \
                self.model._params.size:
            frozen = self.model._params[self.model._trainable_size:]
            parts.append(frozen.astype(np.float64))
        vector = np.concatenate(parts)
        self.comm.sum(vector, "the sum of the logs over the ranks")
        if frozen is not None:  # a sum of float32 copies is exact in float64: same stays same
            frozen[...] = vector[-frozen.size:] / self.comm.size
        return self._logs_of(vector, metrics)

    def _logs_of(self, vector, metrics):
        """running.logs() with the summed values in place of this rank's, which it keeps."""
        running = self.running
        kept = (running.loss_sum, running.rows, running._fed,
                None if running.output_sums is None else running.output_sums.copy(),
                [_state(metric) for metric in metrics])
        running.loss_sum, rows = float(vector[0]), int(vector[1])
        running.rows = running._fed = rows
        at = 2
        if running.output_sums is not None:
            running.output_sums[...] = vector[at:at + running.output_sums.size]
            at += running.output_sums.size
        for metric in metrics:
            at = _set_state(metric, vector, at)
        try:
            return running.logs()
        finally:
            running.loss_sum, running.rows, running._fed, outputs, states = kept
            if outputs is not None:
                running.output_sums[...] = outputs
            for metric, state in zip(metrics, states):
                _set_state(metric, state, 0)


def _canonical(config):
    """config as text that is the same on every rank: an object without a configuration
    (a function as a schedule) stands as its name, not its address."""
    return json.dumps(config, sort_keys=True, default=lambda value: getattr(
        value, "__qualname__", type(value).__qualname__))


def _abridged(shapes, limit=160):
    text = repr(shapes)
    return text if len(text) <= limit else text[:limit] + "...]"


def _share(rows, ranks, rank):
    """[low, high) of rank's slice of `rows` split as evenly as possible (np.array_split)."""
    base, extra = divmod(rows, ranks)
    low = rank * base + min(rank, extra)
    return low, low + base + (rank < extra)


def _state_names(metric):
    return [name for name in _MEAN_STATE if isinstance(vars(metric).get(name), float)]


def _check_metrics(model):
    for metric in model._all_metrics():
        if not _state_names(metric) and not metric._variables:
            raise ValueError(f"metrics: {metric.name} ({type(metric).__name__}) keeps a state "
                             f"that nerve.distributed cannot sum over ranks (only totals and "
                             f"counts, or add_weight variables); use it on one process")


def _state(metric):
    values = [getattr(metric, name) for name in _state_names(metric)]
    values += [np.asarray(v.value, np.float64).ravel() for v in metric._variables]
    return np.concatenate([np.atleast_1d(np.asarray(v, np.float64)) for v in values])


def _set_state(metric, vector, at):
    """Set metric's state from vector[at:], returning where its state ends."""
    for name in _state_names(metric):
        setattr(metric, name, float(vector[at]))
        at += 1
    for variable in metric._variables:
        variable.assign(vector[at:at + variable.size].reshape(variable.shape)
                        .astype(variable.dtype))
        at += variable.size
    return at
