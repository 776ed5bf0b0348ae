"""Where fit / evaluate / predict get their batches: arrays, a generator or a PyDataset (the
part of Keras's data adapters and EpochIterator that nerve needs).

Arrays are checked once and the steps gather their rows by index. A generator (any iterator)
or a nerve.utils.PyDataset yields batches: each goes through the checks arrays get, naming
the batch, and is copied into a window of rows that the same compiled steps gather from. The
window also keeps the targets and predictions the metrics are fed from, when it is full or
the logs are read, so a batch from a generator costs little more than one from arrays.

Epochs follow Keras: without steps every epoch is a new pass over the data (a generator just
continues: it cannot start over); with steps an epoch takes the next `steps` batches of a
pass that continues across epochs; a pass that ends first ends the epoch early with a
warning, and the next epoch starts a new pass.
"""
import collections.abc
import itertools
import math
import numbers
import warnings

import numpy as np

from .. import utils
from ..utils import count_argument
from .data import as_inputs, as_sample_weights, as_targets
from .steps import Running, batches

_END = object()
_WINDOW_BYTES = 16 << 20  # a stream's window: 16 batches, or fewer past this many input bytes
_WINDOW_BATCHES = 16


def is_stream(x):
    """Whether x yields batches (a generator, any iterator, a PyDataset) instead of arrays."""
    # An ndarray first: the ABC check costs a microsecond, predict(x) on one sample ~20.
    return not isinstance(x, np.ndarray) and isinstance(x, (utils.PyDataset,
                                                            collections.abc.Iterator))


def rows_per_batch(batch_size, rows, steps):
    # Keras: without a batch size, `steps` batches cover the data, else 32 rows a batch.
    if batch_size is None:
        return math.ceil(rows / steps) if steps else 32
    return count_argument(batch_size, "batch_size", 1)


class _Epochs:
    """Keras's EpochIterator over passes of the data: new_pass() -> an iterator over one pass,
    `length` items long (None: unknown until it ends, a generator); `steps` items an epoch
    (None: a whole pass); `resume`: an epoch with steps continues the pass (fit does, a new
    evaluation starts afresh); `hooks`: the data's on_epoch_begin / on_epoch_end."""

    def __init__(self, new_pass, length, steps, label, resume, hooks=(None, None)):
        self._new_pass, self.length, self.steps, self._label = new_pass, length, steps, label
        self._resume, (self._on_begin, self._on_end) = resume, hooks
        self._pass, self._ahead, self._open, self._seen, self._taken = None, [], False, 0, 0

    def begin(self):
        """Start the next epoch (later calls until it ends change nothing) and draw its first
        item ahead; False when there is none (a generator that ran dry)."""
        if not self._open:
            self._open = True
            if self._on_begin is not None:
                self._on_begin()
            if self._pass is None or self.steps is None or not self._resume:
                self._pass, self._seen = iter(self._new_pass()), 0
            self._taken, self._ahead = 0, self._draw()
            if not self._ahead:
                self._close()
                return False
        return bool(self._ahead)

    def first(self):
        """The item begin() drew ahead."""
        return self._ahead[0]

    def _draw(self):
        item = next(self._pass, _END)
        if item is _END:
            self._pass = None
            return []
        self._seen += 1
        return [item]

    def items(self):
        """The items of the epoch begin() started."""
        self.begin()
        try:
            while self._ahead:
                yield self._ahead.pop()
                self._taken += 1
                if self.steps is not None and self._taken >= self.steps:
                    break
                self._ahead = self._draw()
            else:
                if self.steps is not None and self._taken:
                    self._warn_short()
        finally:
            self._close()

    def _close(self):
        if self._open:
            self._open = False
            if self.length is not None and self._seen >= self.length:
                self._pass = None
            if self._on_end is not None:
                self._on_end()

    def _warn_short(self):
        if self.length is None:
            problem = ("the generator ran out of data; a generator cannot start over, so make "
                       "it loop (while True:) to yield steps x epochs batches, or use a "
                       "nerve.utils.PyDataset")
        elif self._resume:
            problem = (f"a pass over the data has {self.length}, so this epoch ends early and "
                       f"the next one starts a new pass, as in Keras")
        else:
            problem = f"the data has {self.length}"
        taken = f"{self._taken} batch" + ("es" if self._taken != 1 else "")
        warnings.warn(f"{self._label}: {taken} instead of {self.steps}: {problem}",
                      stacklevel=6)  # the caller of fit / evaluate / predict


class _Feed:
    """The batches of one fit / evaluate / predict: items() yields (step, rows, start, size),
    the compiled step for the batch, the row indices a training step gathers and the position
    its outputs are kept at. mode: "train", "test" or "predict"."""

    def bind(self, make, output_sums=None):
        """make(size, xs, ys, weights, kept) -> the step for batches of `size` rows (ys: the
        targets as the losses take them, label-smoothed where a loss smooths);
        output_sums: the array a multi-output model's steps add each output's loss into."""
        self._make, self._steps, self.sums = make, {}, output_sums

    def begin(self):
        return self.epochs.begin()

    def _step(self, size, weighted):
        step = self._steps.get((size, weighted))
        if step is None:
            step = self._steps[size, weighted] = self._make(
                size, self.xs, self.loss_ys, self.weights if weighted else None, self.kept)
        return step


class ArrayFeed(_Feed):
    """Checked arrays in batches of batch_size rows, in a new order each pass when shuffled."""

    def __init__(self, model, xs, ys, weights, batch_size, steps, shuffle, mode, label):
        self.xs, self.ys, self.weights, self.mode = xs, ys, weights, mode
        self.loss_ys = None if ys is None else model._loss_targets(ys)
        self.rows = len(xs[0])
        self.kept = model._kept_predictions(self.rows, every=mode != "train")
        self._schedule, self._shuffle, self.order = batches(self.rows, batch_size), shuffle, None
        self.batches_per_epoch = steps or len(self._schedule)
        self.epochs = _Epochs(self._pass, len(self._schedule), steps, label, mode == "train")
        self._stop, self._steps_argument, self._label = 0, steps, label
        self._local_order = None

    def schedule(self):
        """(start, size) of each batch of a pass, into the pass's order."""
        return list(self._schedule)

    def share(self, local_order, schedule):
        """Train on this process's share of the data (nerve.distributed): the rows
        local_order(order) of each pass's order, in batches `schedule` [(start, size)]."""
        self._local_order, self._schedule = local_order, schedule
        self.batches_per_epoch = self._steps_argument or len(schedule)
        self.epochs = _Epochs(self._pass, len(schedule), self._steps_argument, self._label, True)

    def _pass(self):
        if self.mode == "train":
            self.order = (utils.generator().permutation(self.rows) if self._shuffle
                          else np.arange(self.rows))
            if self._local_order is not None:
                self.order = self._local_order(self.order)
        for start, size in self._schedule:
            yield (None if self.order is None else self.order[start:start + size]), start, size

    def running(self, model):
        """The loss and metrics of the epoch (or evaluation) begin() started."""
        return Running(model, self.ys, self.order, self.kept, self.sums, self.weights,
                       origin=self.epochs.first()[1])

    def items(self):
        weighted = self.weights is not None
        for rows, start, size in self.epochs.items():
            self._stop = start + size
            yield self._step(size, weighted), rows, start, size

    def outputs(self):
        """predict's outputs: the rows of the batches run (fewer than all with steps)."""
        if self._stop == self.rows:
            return self.kept
        return [out[:self._stop] for out in self.kept]


class StreamFeed(_Feed):
    """Batches from a generator or a PyDataset, each checked and copied into the window."""

    def __init__(self, model, data, steps, shuffle, class_weight, mode, steps_name):
        self._model, self.mode, self._class_weight = model, mode, class_weight
        self._count, self._running, self._chunks = itertools.count(), None, []
        self._fast = None  # what _check needs for a one-input, one-output model
        self._checked = False  # the metrics were tried on the first batch
        if isinstance(data, utils.PyDataset):
            length = data.num_batches
            if length is None and steps is None:
                raise ValueError(f"{steps_name}: expected a number of batches for a PyDataset "
                                 f"without a length (num_batches is None), received None")
            raw_pass = lambda: self._indexed(data, length, shuffle and mode == "train")  # noqa
            hooks, self._kind = (data.on_epoch_begin, data.on_epoch_end), "PyDataset"
        else:
            length, hooks, self._kind = None, (None, None), "generator"
            raw_pass = lambda: ((f"generator batch {next(self._count)}", b) for b in data)  # noqa
        self.batches_per_epoch = steps or length
        self.epochs = _Epochs(lambda: (self._check(*raw) for raw in raw_pass()), length, steps,
                              f"{steps_name}={steps}", mode == "train", hooks)
        if not self.epochs.begin():  # the first batch builds the model and checks the metrics
            raise ValueError(f"x: the {self._kind} yielded no batches")
        self._allocate(*self.epochs.first()[:2])

    @staticmethod
    def _indexed(data, length, shuffle):
        indices = (itertools.count() if length is None else
                   utils.generator().permutation(length) if shuffle else range(length))
        for index in indices:
            yield f"PyDataset batch {index}", data[int(index)]

    def _check(self, where, batch):
        """A batch as the checked arrays (xs, ys, weights), as fit / evaluate check arrays."""
        model, targets, given = self._model, self.mode != "predict", batch
        if isinstance(batch, list):
            batch = tuple(batch)
        if not isinstance(batch, tuple):
            batch = (batch,)  # Keras: a lone array or dict is x
        if not 1 <= len(batch) <= 3 or (targets and len(batch) == 1):
            expected = "(x, y) or (x, y, sample_weight)" if targets else "x, (x,) or (x, y)"
            received = (f"a {type(given).__name__} of {len(batch)}"
                        if isinstance(given, (tuple, list)) else type(given).__name__)
            raise ValueError(f"{where}: expected {expected}, received {received}")
        x, y, weight = batch + (None,) * (3 - len(batch))
        names = (f"x of {where}", f"y of {where}", f"sample_weight of {where}")
        fast = self._fast
        if fast is not None and type(x) is np.ndarray and (not targets or type(y) is np.ndarray):
            # One input and one output: the checks of model._data without its lookups of the
            # model's structure, which would cost more than the training step.
            shape, input_dtype, loss, width, dtype = fast
            xs = [as_inputs(x, names[0], input_dtype, shape)]
            if not targets:
                return xs, None, None
            ys = [as_targets(y, loss, width, len(x), dtype, names[1])]
            return xs, ys, as_sample_weights(weight, self._class_weight, ys[0], len(x), dtype,
                                             names[2])
        if not targets:
            arrays = model._inputs(x, names[0]), None, None
        else:
            arrays = model._data(x, y, weight, self._class_weight, names,
                                 check_metrics=not self._checked)
            self._checked = True
        if fast is None and len(model._input_names) == 1 and len(model._output_names) == 1:
            loss = model._output_losses[0] if targets else None
            if loss is not None or not targets:
                self._fast = (model.inputs[0].shape[1:], model.inputs[0].dtype, loss,
                              model.outputs[0].shape[-1], model.dtype)
        return arrays

    def _allocate(self, xs, ys):
        """Windows for a few batches like this one (the steps compiled for the old ones are
        dropped); the running metrics read from the new ones."""
        model, rows = self._model, len(xs[0])
        batch_bytes = max(1, sum(a.nbytes for a in xs))
        capacity = rows * max(1, min(_WINDOW_BATCHES, _WINDOW_BYTES // batch_bytes))
        self.capacity, self.pos, self._positions = capacity, 0, np.arange(capacity)
        window = lambda a: np.empty((capacity,) + a.shape[1:], a.dtype)  # noqa: E731
        self.xs = [window(a) for a in xs]
        self.ys = None if ys is None else [None if a is None else window(a) for a in ys]
        self.loss_ys = None if ys is None else [  # separate windows for smoothed labels
            raw if raw is None or smoothed is given else window(smoothed)
            for raw, smoothed, given in zip(self.ys, model._loss_targets(ys), ys)]
        self._smoothing = ys is not None and any(a is not b for a, b in zip(self.loss_ys,
                                                                             self.ys))
        self.weights = None if ys is None else np.ones(capacity, model.dtype)
        self.kept = model._kept_predictions(capacity, every=self.mode != "train")
        self._steps = {}
        if self._running is not None:
            self._running.ys, self._running.predictions = self.ys, self.kept
            self._running.weights = self.weights

    def running(self, model):
        self.pos = 0
        self._running = Running(model, self.ys, None, self.kept, self.sums, self.weights)
        return self._running

    def _restart(self):
        """The window starts over: the metrics (or predict's outputs) take what it holds."""
        if self._running is not None:
            self._running.restart()
        elif self.pos:
            self._chunks.append([out[:self.pos].copy() for out in self.kept])
        self.pos = 0

    def items(self):
        for xs, ys, weights in self.epochs.items():
            size = len(xs[0])
            if self.pos + size > self.capacity:
                self._restart()
                if size > self.capacity:
                    self._allocate(xs, ys)
            start = self.pos
            stop = self.pos = start + size
            for window, array in zip(self.xs, xs):
                window[start:stop] = array
            if ys is not None:
                for window, array in zip(self.ys, ys):
                    if window is not None:
                        window[start:stop] = array
                if self._smoothing:
                    for window, raw, array in zip(self.loss_ys, self.ys,
                                                  self._model._loss_targets(ys)):
                        if window is not raw:
                            window[start:stop] = array
                self.weights[start:stop] = 1.0 if weights is None else weights
            yield self._step(size, weights is not None), self._positions[start:stop], start, size

    def outputs(self):
        self._restart()
        return [np.concatenate(parts) for parts in zip(*self._chunks)]


def feed(model, x, y, sample_weight, class_weight, batch_size, steps, shuffle, mode,
         names=("x", "y", "sample_weight"), steps_name="steps"):
    """The feed for x (arrays, a generator or a PyDataset), every argument checked."""
    steps = None if steps is None else count_argument(steps, steps_name, 1)
    if is_stream(x):
        if batch_size is not None:  # a stream's batches have their own size, yet no garbage
            count_argument(batch_size, "batch_size", 1)
        for value, name in ((y, names[1]), (sample_weight, names[2])):
            if value is not None:
                raise ValueError(f"{name}: expected None when x is a generator or a PyDataset "
                                 f"(its batches hold them), received {type(value).__name__}")
        return StreamFeed(model, x, steps, shuffle, class_weight, mode, steps_name)
    if mode == "predict":
        xs, ys, weights = model._inputs(x, names[0]), None, None
    else:
        xs, ys, weights = model._data(x, y, sample_weight, class_weight, names)
    return ArrayFeed(model, xs, ys, weights, rows_per_batch(batch_size, len(xs[0]), steps), steps,
                     shuffle, mode, f"{steps_name}={steps}")


def fit_feeds(model, x, y, sample_weight, class_weight, batch_size, shuffle, steps_per_epoch,
              validation_split, validation_data, validation_steps, validation_batch_size):
    """(training feed, validation feed or None) for fit's arguments."""
    # Checked by its own name first: a generator's validation batches ignore it otherwise.
    val_batch = batch_size if validation_batch_size is None else count_argument(
        validation_batch_size, "validation_batch_size", 1)
    if validation_data is None and validation_split:
        return _split(model, x, y, sample_weight, class_weight, batch_size, shuffle,
                      steps_per_epoch, validation_split, validation_steps, val_batch)
    train = feed(model, x, y, sample_weight, class_weight, batch_size, steps_per_epoch, shuffle,
                 "train", steps_name="steps_per_epoch")
    if validation_data is None:
        return train, None
    names = ("validation_data x", "validation_data y", "validation_data sample_weight")
    if is_stream(validation_data):
        return train, feed(model, validation_data, None, None, None, val_batch,
                           validation_steps, False, "test", names, "validation_steps")
    if not isinstance(validation_data, (tuple, list)) or len(validation_data) not in (2, 3):
        raise ValueError("validation_data: expected a tuple (x_val, y_val) or (x_val, y_val, "
                         "sample_weight_val), a generator or a PyDataset")
    x_val, y_val, *weights = validation_data
    return train, feed(model, x_val, y_val, weights[0] if weights else None, None, val_batch,
                       validation_steps, False, "test", names, "validation_steps")


def _split(model, x, y, sample_weight, class_weight, batch_size, shuffle, steps_per_epoch,
           fraction, validation_steps, val_batch):
    """Keras's validation_split: the LAST fraction of the rows validates, before shuffling."""
    if not (isinstance(fraction, numbers.Real) and 0 < fraction < 1):
        raise ValueError(f"validation_split: expected a number in [0, 1), received "
                         f"{fraction!r}")
    if is_stream(x):
        raise ValueError("validation_split: works on arrays only; pass validation_data (a "
                         "generator or a PyDataset too) to validate a generator's model")
    steps_per_epoch = None if steps_per_epoch is None else count_argument(
        steps_per_epoch, "steps_per_epoch", 1)
    validation_steps = None if validation_steps is None else count_argument(
        validation_steps, "validation_steps", 1)
    xs, ys, weights = model._data(x, y, sample_weight, class_weight)
    rows = len(xs[0])
    split = int(math.floor(rows * (1.0 - fraction)))
    if not 0 < split < rows:
        raise ValueError(f"validation_split: {fraction} of {rows} samples leaves no training or "
                         f"no validation samples")
    parts = [([a[:split] for a in xs], [None if a is None else a[:split] for a in ys],
              None if weights is None else weights[:split]),
             ([a[split:] for a in xs], [None if a is None else a[split:] for a in ys],
              None if weights is None else weights[split:])]
    return (ArrayFeed(model, *parts[0], rows_per_batch(batch_size, split, steps_per_epoch),
                      steps_per_epoch, shuffle, "train", f"steps_per_epoch={steps_per_epoch}"),
            ArrayFeed(model, *parts[1], rows_per_batch(val_batch, rows - split, validation_steps),
                      validation_steps, False, "test", f"validation_steps={validation_steps}"))
