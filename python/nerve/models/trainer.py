"""compile / fit / evaluate / predict for every model (Sequential, functional, subclassed).

The trainer talks to the model's graph through compiled plans (nerve.graph.plan), never to
its layers. All weights live in one flat parameter buffer (and one flat gradient buffer), so
an optimizer step is one kernel call; the backend (nerve.set_backend) is read at the start of
each fit, evaluate and predict call. Invalid arguments raise before the model changes; a
generator's batches (nerve.models.sources) are checked as they come, each before its step.
"""
import collections
import math
import os
import threading
import warnings
import weakref

import numpy as np

from .. import _interrupts
from .. import callbacks as callbacks_module
from .. import distributed
from ..backend import get_backend
from ..graph.plan import Plan
from ..layers.embedding import check_indices
from . import compiling, sources, steps
from .data import as_custom_targets, as_inputs, as_sample_weights, as_targets
from .sources import count_argument

_CACHED_PLANS = 8  # batch sizes x modes kept; bounded so loops over varying sizes do not grow
_MODELS = weakref.WeakSet()  # whose plan locks a forked child must not inherit held


def _reset_plan_locks():
    for model in list(_MODELS):
        model._plans_lock = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_reset_plan_locks)


def _verbosity(verbose):
    if verbose == "auto":
        return 1
    if verbose not in (0, 1, 2):
        raise ValueError(f"verbose: expected 'auto', 0, 1 or 2, received {verbose!r}")
    return verbose


def _progress_bar(verbose):
    """Whether to print progress: when asked, on the one process that prints (rank 0)."""
    return verbose != 0 and distributed.is_root()


class Trainer(compiling.Compiling):
    """The training half of a Model: buffers, plans and the loops."""

    def _init_trainer(self):
        self._init_compiling()
        self.stop_training = False
        self.history = None
        self._init_plans()
        self._init_buffers()
        self._target_shapes = {}  # output index -> targets' sample shape, for custom losses

    # ---- copies (pickle, copy.deepcopy) -------------------------------------------------------
    _REBUILT = frozenset({"_plans", "_plans_lock", "_params", "_grads", "_packed",
                          "_trainable_size", "_variable_grads", "_trainable_id_set"})

    def __getstate__(self):
        """The model without its plans, their lock and its flat buffers: a copy packs its own
        on first use (each Variable carries its values; see Variable.__getstate__)."""
        return {key: value for key, value in self.__dict__.items() if key not in self._REBUILT}

    def __setstate__(self, state):
        self.__dict__.update(state)
        self._init_plans()
        self._init_buffers()

    def _init_plans(self):
        """An empty plan cache and its lock (which a forked child gets afresh)."""
        self._plans, self._plans_lock = collections.OrderedDict(), threading.Lock()
        _MODELS.add(self)

    def _init_buffers(self):
        self._params = self._grads = None
        self._packed, self._trainable_size, self._variable_grads = [], 0, []
        self._trainable_id_set = set()

    # ---- the flat buffers ---------------------------------------------------------------------
    def _pack(self):
        """Move every weight into one flat buffer, trainable ones first (the optimizer updates
        that prefix); each Variable keeps its identity and now holds a view of it. Ctrl-C
        cannot leave some variables moved and others not."""
        with _interrupts.deferred():
            self._pack_into_new_buffers()

    def _pack_into_new_buffers(self):
        trainable = {id(w) for w in self.trainable_weights}
        variables = sorted(self.weights, key=lambda v: id(v) not in trainable)
        total = sum(v.size for v in variables)
        params, grads = np.empty(total, self.dtype), np.zeros(total, self.dtype)
        offset, self._trainable_size = 0, 0
        for variable in variables:
            view = params[offset:offset + variable.size].reshape(variable.shape)
            view[...] = variable.value
            variable._value, variable._buffer = view, params
            variable._grad = grads[offset:offset + variable.size].reshape(variable.shape)
            offset += variable.size
            if id(variable) in trainable:
                self._trainable_size = offset
        self._params, self._grads, self._packed = params, grads, variables
        self._trainable_id_set = trainable
        self._variable_grads = [v._grad for v in variables if id(v) in trainable]
        with self._plans_lock:
            self._plans.clear()
        self._build_optimizer()

    def _ensure_packed(self):
        """Pack again when the model's weights changed since the last pack, or one of them
        moved to another model's buffer (a layer shared by two models)."""
        weights, params = self.weights, self._params
        if (params is None or len(weights) != len(self._packed)
                or any(v._buffer is not params for v in weights)):
            self._pack()

    def _trainable_ids(self):
        return self._trainable_id_set

    def _build_optimizer(self):
        if self.optimizer is None or self._params is None:
            return
        slots = self.optimizer._slots
        if slots is None or any(s.size != self._trainable_size or s.dtype != self.dtype
                                for s in slots):
            self.optimizer.build(self._trainable_size, self.dtype)

    def _plan(self, backend, batch, mode):
        """Preallocated buffers for one (backend, batch size, mode), per thread: concurrent
        predict calls on one model must not write into each other's buffers."""
        key = (backend.__name__, batch, mode, threading.get_ident())
        with self._plans_lock:
            plan = self._plans.get(key)
            if plan is None:
                plan = self._plans[key] = Plan(self, backend, batch, mode)
                if len(self._plans) > _CACHED_PLANS:
                    self._plans.popitem(last=False)
            else:
                self._plans.move_to_end(key)
        return plan

    def _optimizer_step(self, backend):
        if self._trainable_size == 0:
            return lambda: None
        size = self._trainable_size
        step = self.optimizer.bind(backend, self._params[:size], self._grads[:size],
                                   self._variable_grads)
        constrained = [(v.value, v.constraint) for v in self.trainable_weights
                       if v.constraint is not None]
        if not constrained:
            return step

        def constrained_step():  # Keras projects the weights after each update
            step()
            for value, constraint in constrained:
                value[...] = constraint(value)
        return constrained_step

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
    def fit(self, x=None, y=None, batch_size=None, epochs=1, verbose="auto", callbacks=None,
            validation_split=0.0, validation_data=None, shuffle=True, class_weight=None,
            sample_weight=None, initial_epoch=0, steps_per_epoch=None, validation_steps=None,
            validation_batch_size=None, validation_freq=1):
        """Train for `epochs` passes over (x, y), arrays, or x a generator or a PyDataset
        yielding (x, y[, sample_weight]) batches; returns the History callback."""
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
        callbacks = callbacks_module.CallbackList(
            callbacks, model=self, add_history=True, add_progbar=_progress_bar(verbose),
            verbose=verbose, epochs=epochs, steps=feed.batches_per_epoch)
        self.history = callbacks.history
        parallel = distributed.data_parallel(self)
        if parallel is not None:
            parallel.start_fit(feed, validation, callbacks, dict(
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
        callbacks.on_train_begin()
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
            callbacks.on_epoch_begin(epoch)
            self._train_epoch(feed, running, callbacks)
            logs = running.final_logs()
            if validation is not None and (epoch + 1) % validation_freq == 0:
                val_logs = self._test_loop(validation, callbacks, parallel)
                if val_logs is None:
                    warnings.warn(f"fit: validation_data has no batches left for epoch "
                                  f"{epoch + 1}, so it has no val_ logs", stacklevel=2)
                logs.update(("val_" + key, value) for key, value in (val_logs or {}).items())
            callbacks.on_epoch_end(epoch, logs)
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
        callbacks.on_train_end(logs)
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

    def train_on_batch(self, x, y=None, sample_weight=None, class_weight=None, return_dict=False):
        """One optimizer step on this batch; returns its loss (and metrics on this batch)."""
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

    # ---- evaluation and prediction ------------------------------------------------------------
    def evaluate(self, x=None, y=None, batch_size=None, verbose="auto", sample_weight=None,
                 steps=None, callbacks=None, return_dict=False):
        """The loss alone without metrics, else [loss, *metrics] (a dict with return_dict);
        x may be a generator or a PyDataset, and `steps` limits the batches."""
        self._require_loss("evaluate")
        verbose = _verbosity(verbose)
        feed = sources.feed(self, x, y, sample_weight, None, batch_size, steps, False, "test")
        callbacks = callbacks_module.CallbackList(
            callbacks, model=self, add_progbar=_progress_bar(verbose), verbose=verbose,
            epochs=1, steps=feed.batches_per_epoch)
        logs = self._test_loop(self._bind_test(feed, get_backend()), callbacks,
                               distributed.data_parallel(self))
        return self._results(logs, return_dict)

    def _bind_test(self, feed, backend):
        self._ensure_packed()
        sums = self._output_sums()
        feed.bind(lambda size, xs, ys, weights, kept: steps.test_step_function(
            self._plan(backend, size, "test"), xs, ys, weights, kept,
            self._loss_weights, sums), sums)
        return feed

    def _test_loop(self, feed, callbacks, parallel=None):
        """The logs of one evaluation over the feed, or None when it has no batches left;
        summed over the ranks of a data-parallel run (parallel) where they hold parts."""
        if not feed.begin():
            return None
        running, penalty = feed.running(self), steps.penalty(self)
        if parallel is not None:
            running = parallel.running(running, training=False)
        on_begin, on_end = callbacks.on_test_batch_begin, callbacks.on_test_batch_end
        callbacks.on_test_begin()
        for index, (step, _, start, size) in enumerate(feed.items()):
            on_begin(index)
            running.add(step(start) + penalty, size)
            on_end(index, running.logs)
        logs = running.final_logs()
        callbacks.on_test_end(logs)
        return logs

    def test_on_batch(self, x, y=None, sample_weight=None, return_dict=False):
        """evaluate() on one batch, without callbacks."""
        self._require_loss("test_on_batch")
        xs, ys, weights = self._data(x, y, sample_weight)
        feed = sources.ArrayFeed(self, xs, ys, weights, len(xs[0]), None, False, "test", "")
        logs = self._test_loop(self._bind_test(feed, get_backend()),
                               callbacks_module.CallbackList(model=self))
        return self._results(logs, return_dict)

    def _results(self, logs, return_dict):
        if return_dict:
            return logs
        names = ["loss"] + (self._loss_names() if len(self._output_names) > 1 else [])
        values = [logs[name] for name in names + [n for n, _ in self._named_metrics()]]
        return values[0] if len(values) == 1 else values

    def predict(self, x, batch_size=None, verbose="auto", steps=None, callbacks=None):
        """The outputs for x, computed batch_size rows at a time (a list or dict of arrays for
        a model with several outputs, as its outputs were given); x may be a generator or a
        PyDataset of x, (x,) or (x, y) batches, and `steps` limits the batches."""
        verbose = _verbosity(verbose)
        if callbacks is None and verbose == 0 and steps is None and not sources.is_stream(x):
            xs = self._inputs(x)
            batch_size = sources.rows_per_batch(batch_size, len(xs[0]), None)
            if len(xs[0]) <= batch_size:  # one batch and nothing to report: model(x)'s path
                return self._forward(xs, "predict")
            feed = sources.ArrayFeed(self, xs, None, None, batch_size, None, False, "predict",
                                     "steps=None")
        else:
            feed = sources.feed(self, x, None, None, None, batch_size, steps, False, "predict")
        callbacks = callbacks_module.CallbackList(
            callbacks, model=self, add_progbar=_progress_bar(verbose), verbose=verbose,
            epochs=1, steps=feed.batches_per_epoch)
        return self._predict_loop(get_backend(), feed, callbacks)

    def _predict_loop(self, backend, feed, callbacks):
        self._ensure_packed()
        feed.bind(lambda size, xs, ys, weights, kept: steps.predict_step_function(
            self._plan(backend, size, "predict"), xs, kept))
        on_begin, on_end = callbacks.on_predict_batch_begin, callbacks.on_predict_batch_end
        callbacks.on_predict_begin()
        for index, (step, _, start, size) in enumerate(feed.items()):
            on_begin(index)
            step(start)
            outs = feed.kept  # a stream's window may have grown for this batch
            on_end(index, {"outputs": [out[start:start + size] for out in outs]
                           if len(outs) > 1 else outs[0][start:start + size]})
        callbacks.on_predict_end()
        return self._structured_outputs(feed.outputs())

    def predict_on_batch(self, x):
        """predict() on one batch, without callbacks or progress output."""
        return self._call_on_arrays(x, False)

    def _call_on_arrays(self, x, training):
        """model(x) on arrays: one forward pass, in training behaviour when asked."""
        return self._forward(self._inputs(x), "forward_train" if training else "predict")

    def _forward(self, xs, mode):
        """The outputs of one forward pass over checked inputs as one batch (no callbacks to
        run, so no feed: the single-sample latency path)."""
        self._ensure_packed()
        outs = self._kept_predictions(len(xs[0]), every=True)
        steps.predict_step_function(self._plan(get_backend(), len(xs[0]), mode), xs, outs)(0)
        return self._structured_outputs(outs)
