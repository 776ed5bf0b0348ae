"""compile / fit / evaluate / predict for every model (Sequential, functional, subclassed).

The trainer talks to the model's graph through compiled plans (nerve.graph.plan), never to
its layers. All weights live in one flat parameter buffer (and one flat gradient buffer), so
an optimizer step is one kernel call; the backend (nerve.set_backend) is read at the start of
each fit, evaluate and predict call. Invalid arguments raise before the model changes; a
generator's batches (nerve.models.sources) are checked as they come, each before its step.
"""
from __future__ import annotations

import math
import warnings
from typing import Any, Mapping, Optional, Sequence, Union

import numpy as np

from .. import _interrupts
from .. import callbacks as callbacks_module
from .. import distributed
from ..backend import get_backend
from ..layers.embedding import check_indices
from . import compiling, sources, steps
from .buffers import Buffers
from .data import Data, Logs, as_custom_targets, as_inputs, as_sample_weights, as_targets
from .inference import Inference, _progress_bar, _verbosity
from .sources import count_argument

from .._typing import ArrayLike
from ..callbacks import Callback, History


class Trainer(Inference, Buffers, compiling.Compiling):
    """The training half of a Model: the data checks and the loops (fit, train_on_batch).

    Not used on its own: nerve.Model inherits it, and its methods are documented there. The
    flat buffers and plans are Buffers' (nerve.models.buffers); evaluate and predict are
    Inference's (nerve.models.inference).

    Example:
        >>> from nerve.models.trainer import Trainer
        >>> [name for name in ("fit", "train_on_batch") if name in vars(Trainer)]
        ['fit', 'train_on_batch']
    """

    def _init_trainer(self):
        self._init_compiling()
        self.stop_training = False
        self.history = None
        self._init_plans()
        self._init_buffers()
        self._target_shapes = {}  # output index -> targets' sample shape, for custom losses

    def _target_shape(self, index):
        """The per-sample shape of output `index`'s targets, as its custom loss sees them."""
        return self._target_shapes.get(index, tuple(self.outputs[index].shape[1:]))

    # ---- data ---------------------------------------------------------------------------------
    def _inputs(self, x, name="x"):
        """The inputs as a list of checked arrays in the model's input order; builds the
        model from their shapes when it has no input shape yet."""
        arrays = self._input_arrays(x, name)
        self._build_from_data(arrays)
        labels, graph = self._input_labels(name), self._graph_for(False)
        checked = [as_inputs(a, label, t.dtype, t.shape[1:])
                   for a, label, t in zip(arrays, labels, graph.inputs)]
        check_indices(graph, checked, labels)
        if len({len(a) for a in checked}) > 1:
            raise ValueError(f"{name}: every input needs the same number of samples, received "
                             f"{[len(a) for a in checked]}")
        return checked

    def _input_labels(self, name):
        if len(self._input_names) == 1:
            return [name]
        return [f"{name}[{n!r}]" for n in self._input_names]

    def _input_arrays(self, x, name):
        names = self._input_names
        if isinstance(x, dict):
            missing = [n for n in names if n not in x]
            if missing or len(x) != len(names):
                raise ValueError(f"{name}: expected a dict with the keys {names} (the model's "
                                 f"inputs), received keys {sorted(x)}")
            return [x[n] for n in names]
        if isinstance(x, (list, tuple)) and len(names) > 1:
            if len(x) != len(names):
                raise ValueError(f"{name}: the model has {len(names)} inputs {names}, "
                                 f"received a list of {len(x)} arrays")
            return list(x)
        if len(names) > 1:
            raise ValueError(f"{name}: the model has {len(names)} inputs {names}; pass a list "
                             f"or a dict of arrays")
        return [x]

    def _targets(self, y, rows, name="y"):
        names = self._output_names
        if isinstance(y, dict):
            unknown = sorted(set(y) - set(names))
            if unknown:
                raise ValueError(f"{name}: unknown outputs {unknown}; the model's outputs are "
                                 f"{names}")
            given = [y.get(n) for n in names]
        elif isinstance(y, (list, tuple)) and len(names) > 1:
            if len(y) != len(names):
                raise ValueError(f"{name}: the model has {len(names)} outputs {names}, "
                                 f"received a list of {len(y)} arrays")
            given = list(y)
        else:
            given = [y] + [None] * (len(names) - 1) if len(names) == 1 else None
            if given is None:
                raise ValueError(f"{name}: the model has {len(names)} outputs {names}; pass a "
                                 f"list or a dict of targets")
        targets = []
        for index, (value, loss) in enumerate(zip(given, self._output_losses)):
            label = name if len(names) == 1 else f"{name}[{names[index]!r}]"
            if loss is None:
                targets.append(None)
            elif value is None:
                raise ValueError(f"{label}: expected targets for output {names[index]!r}, "
                                 f"which has a loss")
            elif loss.kind is None:
                targets.append(self._custom_targets(index, value, rows, label))
            else:
                targets.append(as_targets(value, loss, self.outputs[index].shape[-1], rows,
                                          self.dtype, label))
        return targets

    def _custom_targets(self, index, value, rows, label):
        """Targets of a custom loss, shaped as Keras hands them to it (see as_custom_targets);
        the plans are rebuilt when that shape changes."""
        array = as_custom_targets(value, self.outputs[index].shape[1:], rows, self.dtype, label)
        if self._target_shape(index) != array.shape[1:]:
            self._target_shapes[index] = array.shape[1:]
            with self._plans_lock:
                self._plans.clear()
        return array

    def _data(self, x, y, sample_weight=None, class_weight=None,
              names=("x", "y", "sample_weight"), check_metrics=True):
        """Checked (inputs, targets, sample weights); the metrics are first tried on the
        targets unless told not to (a generator's later batches: that resets them)."""
        xs = self._inputs(x, names[0])
        self._resolve_compile()
        ys = self._targets(y, len(xs[0]), names[1])
        if check_metrics:
            self._check_metrics_on(ys)
        if class_weight is not None and len(ys) > 1:
            raise ValueError("class_weight: not supported for models with several outputs; "
                             "pass sample_weight instead")
        weights = as_sample_weights(sample_weight, class_weight, ys[0], len(xs[0]), self.dtype,
                                    names[2])
        return xs, ys, weights

    def _loss_targets(self, ys):
        """The targets the loss kernels take: label-smoothed for a loss that smooths (Keras
        smooths inside the loss, so the metrics still see the given labels)."""
        return [y if y is None or not getattr(loss, "label_smoothing", 0.0)
                else loss.smooth(y, y.shape[-1]) for y, loss in zip(ys, self._output_losses)]

    def _kept_predictions(self, rows, every=False):
        return [np.empty((rows,) + t.shape[1:], self.dtype)
                if every or self._output_metrics[i] or self._output_weighted_metrics[i] else None
                for i, t in enumerate(self.outputs)]

    def _output_sums(self):
        return np.zeros(len(self._output_names)) if len(self._output_names) > 1 else None

    # ---- training -----------------------------------------------------------------------------
    def fit(self, x: Optional[Data] = None, y: Optional[Data] = None,
            batch_size: Optional[int] = None, epochs: int = 1, verbose: Union[str, int] = "auto",
            callbacks: Optional[Sequence[Callback]] = None, validation_split: float = 0.0,
            validation_data: Optional[Any] = None, shuffle: bool = True,
            class_weight: Optional[Mapping[int, float]] = None,
            sample_weight: Optional[ArrayLike] = None, initial_epoch: int = 0,
            steps_per_epoch: Optional[int] = None, validation_steps: Optional[int] = None,
            validation_batch_size: Optional[int] = None,
            validation_freq: int = 1) -> History:
        """Train the model for a number of epochs (passes over the data).

        Every argument is checked before the model changes: a bad one raises and leaves the
        weights, the optimizer and the data as they were. A generator's or a PyDataset's
        batches are checked as they come, each before its step. Each step runs whole: Ctrl-C
        (KeyboardInterrupt) takes effect between two steps, so an interrupted fit leaves the
        weights of the last finished step. A loss that stops being finite gives one
        RuntimeWarning and training goes on (pass callbacks=[TerminateOnNaN()] to stop).

        Under nerve.distributed (mpiexec, size() > 1) fit trains data-parallel: every rank
        passes the same arguments; the ranks first check that they agree (model, optimizer,
        batch_size, epochs, number of samples: a mismatch is a ValueError naming it) and take
        rank 0's weights; each step every rank takes its slice of the global batch of
        batch_size rows and the gradients are summed, so the weights equal one process's
        (up to rounding). x and validation_data must be arrays there; the logs are global on
        every rank and only rank 0 prints. See nerve.distributed.strategy.

        Args:
            x: The inputs: an array (samples first) or anything NumPy converts; a list (in
                the model's input order) or a dict by input name for several inputs; or a
                generator / iterator or a nerve.utils.PyDataset yielding (x, y) or
                (x, y, sample_weight) batches. Floats, ints and bools; NaN or infinity is a
                ValueError. Defaults to None (a ValueError: fit needs data).
            y: The targets, in the same forms as x for several outputs: (samples, units), or
                (samples,) for one output; integer labels in [0, classes) for the sparse
                losses. Must be None when x is a generator or a PyDataset. Defaults to None.
            batch_size: Int >= 1, the rows a step trains on, default None: 32, or enough
                rows for steps_per_epoch batches to cover the data when it is given. Ignored
                (but checked) for a generator or a PyDataset, whose batches have their size.
            epochs: Int >= 0, the index of the epoch to stop at (with initial_epoch, as in
                Keras: epochs - initial_epoch epochs run), default 1.
            verbose: "auto" (1), 0 (silent), 1 (a progress bar) or 2 (one line per epoch),
                default "auto". Printed by rank 0 alone under nerve.distributed.
            callbacks: A list of nerve.callbacks.Callback, default None. A History (returned)
                and, when verbose, a progress bar are added.
            validation_split: Float in [0, 1), default 0.0: the fraction of the samples, the
                LAST ones before any shuffling (as in Keras), held out and evaluated at the end
                of each epoch. Arrays only; ignored when validation_data is given.
            validation_data: (x_val, y_val) or (x_val, y_val, sample_weight_val) arrays, or
                a generator or a PyDataset of such batches, evaluated at the end of each
                validation_freq-th epoch into logs named val_loss, val_<metric>. Default None.
            shuffle: Bool, default True: array rows are reshuffled each epoch (seeded by
                nerve.utils.set_random_seed); a PyDataset's batch order is shuffled; a
                generator's order is its own.
            class_weight: Dict {class label (int): weight >= 0}, default None: each sample's
                loss is weighted by its class's weight (the label itself, the rounded value of
                one output, or the argmax of one-hot targets). Every class in y needs a weight.
                Models with one output only.
            sample_weight: Array (samples,) of finite weights >= 0, default None: each
                sample's loss is weighted (times class_weight when both are given). None when
                x is a generator or a PyDataset (its batches carry them).
            initial_epoch: Int >= 0, the epoch to start from (to resume a previous fit),
                default 0.
            steps_per_epoch: Int >= 1, default None (a whole pass over the data per epoch).
                With it an epoch takes the next steps_per_epoch batches of a pass that
                continues across epochs; a pass that ends first ends the epoch early with a
                warning. Required for a PyDataset without num_batches. A generator that runs
                dry stops training with a warning (make it loop: while True:).
            validation_steps: Int >= 1, the batches of validation_data per evaluation,
                default None (all of them).
            validation_batch_size: Int >= 1, the rows per validation step, default None
                (batch_size).
            validation_freq: Int >= 1, validate every validation_freq epochs, default 1 (a
                list of epochs, which Keras also takes, is refused).

        Returns:
            The nerve.callbacks.History callback: history.history maps each log name (loss,
            each metric, val_ ones) to its value per epoch.

        Raises:
            ValueError: The model is not compiled or has no loss; an argument out of range
                (epochs, batch_size, verbose, validation_split, steps...); x, y,
                sample_weight or class_weight of the wrong shape, length or values (NaN,
                labels out of range, a class without a weight); y or sample_weight given with
                a generator; a layer with the 'step' activation (it cannot train); under
                nerve.distributed, a generator or ranks that disagree.
            TypeError: Data that is not numeric, or class_weight that is not a dict.

        Example:
            >>> import numpy as np, nerve
            >>> nerve.utils.set_random_seed(0)
            >>> model = nerve.Sequential([nerve.Input(shape=(4,)), nerve.layers.Dense(1)])
            >>> model.compile(optimizer="sgd", loss="mse", metrics=["mae"])
            >>> x, y = np.ones((8, 4), "float32"), np.zeros((8, 1), "float32")
            >>> history = model.fit(x, y, batch_size=4, epochs=2, validation_split=0.25,
            ...                     verbose=0)
            >>> sorted(history.history), len(history.history["loss"])
            (['loss', 'mae', 'val_loss', 'val_mae'], 2)
        """
        self._require_loss("fit")
        epochs = count_argument(epochs, "epochs", 0)
        initial_epoch = count_argument(initial_epoch, "initial_epoch", 0)
        validation_freq = count_argument(validation_freq, "validation_freq", 1)
        verbose = _verbosity(verbose)
        feed, validation = sources.fit_feeds(
            self, x, y, sample_weight, class_weight, batch_size, shuffle, steps_per_epoch,
            validation_split, validation_data, validation_steps, validation_batch_size)
        self._require_trainable("fit")
        backend = get_backend()
        self._ensure_packed()
        callback_list = callbacks_module.CallbackList(
            callbacks, model=self, add_history=True, add_progbar=_progress_bar(verbose),
            verbose=verbose, epochs=epochs, steps=feed.batches_per_epoch)
        self.history = callback_list.history
        parallel = distributed.data_parallel(self)
        if parallel is not None:
            parallel.start_fit(feed, validation, callback_list, dict(
                batch_size=batch_size, epochs=epochs, initial_epoch=initial_epoch,
                steps_per_epoch=steps_per_epoch, shuffle=shuffle,
                validation=validation is not None))
        sums, update = self._output_sums(), self._optimizer_step(backend)
        regularization = steps.regularization_function(self)

        def make_step(size, xs, ys, weights, kept, update=update):
            return steps.train_step_function(self._plan(backend, size, "train"), xs, ys,
                                             weights, kept, regularization, update,
                                             self._loss_weights, sums)
        feed.bind(make_step if parallel is None else parallel.train_steps(make_step, update),
                  sums)
        if validation is not None:
            self._bind_test(validation, backend)

        self.stop_training = False
        logs, diverged = {}, False
        callback_list.on_train_begin()
        for epoch in range(initial_epoch, epochs):
            if not feed.begin():
                warnings.warn(f"fit: the generator has no batches left for epoch {epoch + 1} "
                              f"of {epochs}, so training stops here; make it loop (while "
                              f"True:) and pass steps_per_epoch, or use a nerve.utils.PyDataset",
                              stacklevel=2)
                break
            running = feed.running(self)
            if parallel is not None:
                running = parallel.running(running, training=True)
            callback_list.on_epoch_begin(epoch)
            self._train_epoch(feed, running, callback_list)
            logs = running.final_logs()
            if validation is not None and (epoch + 1) % validation_freq == 0:
                val_logs = self._test_loop(validation, callback_list, parallel)
                if val_logs is None:
                    warnings.warn(f"fit: validation_data has no batches left for epoch "
                                  f"{epoch + 1}, so it has no val_ logs", stacklevel=2)
                logs.update(("val_" + key, value) for key, value in (val_logs or {}).items())
            callback_list.on_epoch_end(epoch, logs)
            if parallel is not None:  # every rank stops together
                self.stop_training = parallel.anyone(self.stop_training)
            if self.stop_training:
                break
            if not math.isfinite(logs.get("loss", 0.0)) and not diverged:
                diverged = True
                warnings.warn(
                    f"fit: the training loss became {logs['loss']} in epoch {epoch + 1}, so the "
                    f"weights are no longer finite numbers; lower the learning rate, scale the "
                    f"inputs, or pass callbacks=[TerminateOnNaN()] to stop at the first such "
                    f"batch", RuntimeWarning, stacklevel=2)
        callback_list.on_train_end(logs)
        return self.history

    def _train_epoch(self, feed, running, callbacks):
        """The epoch's steps, each one whole: Ctrl-C takes effect between two of them."""
        on_begin, on_end = callbacks.on_train_batch_begin, callbacks.on_train_batch_end
        logs = running.logs
        with _interrupts.Deferral() as deferral:
            for index, (step, rows, start, size) in enumerate(feed.items()):
                on_begin(index)
                running.add(deferral.call(step, rows, start), size)
                on_end(index, logs)
                if self.stop_training:
                    break

    def train_on_batch(self, x: Data, y: Optional[Data] = None,
                       sample_weight: Optional[ArrayLike] = None,
                       class_weight: Optional[Mapping[int, float]] = None,
                       return_dict: bool = False) -> Logs:
        """Run one optimizer step on this batch, as one step of fit would.

        The step runs whole (Ctrl-C takes effect after it). No callbacks run.

        Args:
            x: The batch's inputs: an array, or a list / dict of arrays for several inputs.
            y: The batch's targets (as fit takes them), default None.
            sample_weight: Array (samples,) of weights >= 0, default None.
            class_weight: Dict {class label: weight >= 0}, default None (one output only).
            return_dict: Bool, default False: return a dict of the logs by name.

        Returns:
            The loss on this batch (computed before the update) when the model has no
            metrics, else [loss, *metrics]; with return_dict, {name: value}.

        Raises:
            ValueError: The model is not compiled or has no loss, the data does not fit
                the model (as in fit), or a layer cannot train.
            RuntimeError: Under nerve.distributed with several ranks (the ranks would drift
                apart: use fit).

        Example:
            >>> import numpy as np, nerve
            >>> model = nerve.Sequential([nerve.Input(shape=(4,)), nerve.layers.Dense(1)])
            >>> model.compile(optimizer="sgd", loss="mse", metrics=["mae"])
            >>> loss = model.train_on_batch(np.ones((2, 4)), np.zeros((2, 1)))
            >>> sorted(model.train_on_batch(np.ones((2, 4)), np.zeros((2, 1)),
            ...                             return_dict=True))
            ['loss', 'mae']
        """
        self._require_loss("train_on_batch")
        if distributed.size() > 1:
            raise RuntimeError("train_on_batch: its step would train this rank alone, and the "
                               "ranks' models would drift apart; under nerve.distributed use "
                               "fit, which splits the batch and sums the gradients")
        xs, ys, weights = self._data(x, y, sample_weight, class_weight)
        self._require_trainable("train_on_batch")
        backend = get_backend()
        self._ensure_packed()
        rows = len(xs[0])
        predictions, sums = self._kept_predictions(rows, every=True), self._output_sums()
        step = steps.train_step_function(
            self._plan(backend, rows, "train"), xs, self._loss_targets(ys), weights,
            predictions, steps.regularization_function(self), self._optimizer_step(backend),
            self._loss_weights, sums)
        running = steps.Running(self, ys, None, predictions, sums, weights)
        with _interrupts.deferred():  # the step whole, as in fit
            running.loss_sum, running.rows = step(np.arange(rows), 0) * rows, rows
        return self._results(running.logs(), return_dict)
