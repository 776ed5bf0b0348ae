"""Sequential models (keras.models): build, compile, fit, evaluate, predict, save.

    from nerve.models import Sequential
    from nerve.layers import Dense
    model = Sequential([Dense(10, input_dim=8, activation="relu"), Dense(1, activation="sigmoid")])
    model.compile(loss="binary_crossentropy", optimizer="adam", metrics=["accuracy"])
    model.fit(x, y, epochs=150, batch_size=10)

All parameters live in one flat buffer (the layers' kernel and bias are views into it), so an
optimizer step is one kernel call; the backend (nerve.set_backend) is read at the start of each
fit, evaluate and predict call. Invalid arguments raise before the model changes.
"""
import collections
import math
import numbers
import threading
import warnings

import numpy as np

from . import _training
from . import callbacks as callbacks_module
from . import layers as layers_module
from . import losses, optimizers, saving, utils
from . import metrics as metrics_module
from .backend import get_backend
from .layers import InputLayer, Layer, unique_name

__all__ = ["Sequential", "load_model"]

load_model = saving.load_model
_CACHED_PLANS = 8  # batch sizes x modes kept; bounded so loops over varying sizes do not grow


def _count(value, name, minimum):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise ValueError(f"{name}: expected an int >= {minimum}, received {value!r}")
    return int(value)


def _verbosity(verbose):
    if verbose == "auto":
        return 1
    if verbose not in (0, 1, 2):
        raise ValueError(f"verbose: expected 'auto', 0, 1 or 2, received {verbose!r}")
    return verbose


class Sequential:
    """A linear stack of layers."""

    def __init__(self, layers=None, trainable=True, name=None):
        self.name = name or unique_name("sequential")
        self.trainable = bool(trainable)
        self._layers, self._input = [], None
        self.built = False
        self.optimizer = self.loss = None
        self._metric_ids, self._metrics = [], None
        self._loss_id = None
        self.stop_training = False
        self.history = None
        self._plans = collections.OrderedDict()
        self._plans_lock = threading.Lock()
        self._params = self._grads = None
        for layer in layers or ():
            self.add(layer)

    # ---- structure ----------------------------------------------------------------------------
    @property
    def layers(self):
        return list(self._layers)

    def add(self, layer):
        """Append a layer; with a known input shape the model (re)builds at once, as Keras."""
        if isinstance(layer, InputLayer):
            if self._layers or self._input is not None:
                raise ValueError("Input: expected as the first layer of the model only")
            self._input = layer
            return
        if not isinstance(layer, Layer):
            raise TypeError(f"layer: expected a nerve.layers.Layer, received {type(layer).__name__}")
        if getattr(layer, "_model", None) not in (None, self):
            raise ValueError(f"layer: {layer.name!r} already belongs to model "
                             f"{layer._model.name!r}; nerve models cannot share layers")
        if any(layer.name == other.name for other in self._layers):
            raise ValueError(f"layer: the names of a model's layers must be unique; {layer.name!r} "
                             f"is already in {self.name!r}")
        if self._layers and layer.dtype != self.dtype:
            raise ValueError(f"layer: all layers of a model share one dtype; {layer.name!r} is "
                             f"{layer.dtype}, the model {self.dtype}")
        input_shape = self._input_shape_known()
        if input_shape is None and not self._layers and layer._input_shape_arg is not None:
            input_shape = (None,) + layer._input_shape_arg
        if input_shape is not None:
            self._output_shape(input_shape, self._layers + [layer])  # raises before any change
        if input_shape is not None and self._input is None:
            self._input = InputLayer(shape=input_shape[1:], dtype=layer.dtype)
        self._layers.append(layer)
        layer._model = self
        if input_shape is not None:
            self.build(input_shape)

    def pop(self):
        """Remove the last layer."""
        if not self._layers:
            raise ValueError("pop: the model has no layers")
        layer = self._layers.pop()
        layer._model = None
        if self.built and self._layers:
            self._pack()
        self.built = self.built and bool(self._layers)
        return layer

    @property
    def dtype(self):
        return self._layers[0].dtype if self._layers else None

    def _input_shape_known(self):
        return None if self._input is None else (None,) + tuple(self._input.batch_shape[1:])

    @property
    def input_shape(self):
        shape = self._input_shape_known()
        if shape is None:
            raise AttributeError("input_shape: the model has no input yet (give input_shape, "
                                 "input_dim or an Input layer, or call it on data)")
        return shape

    @property
    def output_shape(self):
        return self._output_shape(self.input_shape)

    def _output_shape(self, input_shape, layers=None):
        shape = tuple(input_shape)
        for layer in self._layers if layers is None else layers:
            if layer.built and layer._variables and getattr(layer, "kernel", None) is not None \
                    and layer.kernel.shape[0] != shape[-1]:
                raise ValueError(f"input: layer {layer.name!r} takes {layer.kernel.shape[0]} "
                                 f"features, received {shape[-1]}")
            shape = tuple(layer.compute_output_shape(shape))
        return shape

    def build(self, input_shape=None):
        """Create the weights for inputs of `input_shape` (batch dimension first, e.g. (None, 8))."""
        if input_shape is None:
            input_shape = self.input_shape
        if not self._layers:
            raise ValueError("build: the model has no layers; add some first")
        try:
            input_shape = (None,) + tuple(int(d) for d in tuple(input_shape)[1:])
        except (TypeError, ValueError):
            raise ValueError(f"input_shape: expected a shape such as (None, 8), received "
                             f"{input_shape!r}") from None
        known = self._input_shape_known()
        if known is not None and known != input_shape:
            raise ValueError(f"input_shape: the model takes inputs of shape {known}, received "
                             f"{input_shape}")
        self._output_shape(input_shape)
        if self._input is None:
            self._input = InputLayer(shape=input_shape[1:], dtype=self.dtype)
        shape = input_shape
        for layer in self._layers:
            if not layer.built:
                layer.build(shape)
            shape = layer.compute_output_shape(shape)
        self._pack()
        self.built = True

    def _pack(self):
        """Move every weight into one flat buffer, trainable ones first (the optimizer updates
        that prefix), and point the layers' weights and gradients at views of it."""
        variables = [(layer, name) for layer in self._layers for name in layer._variables]
        variables.sort(key=lambda item: not (item[0].trainable and self.trainable))
        total = sum(getattr(layer, name).size for layer, name in variables)
        params, grads = np.empty(total, self.dtype), np.zeros(total, self.dtype)
        offset, self._trainable_size, self._variable_grads = 0, 0, []
        for layer, name in variables:
            value = getattr(layer, name)
            view = params[offset:offset + value.size].reshape(value.shape)
            view[...] = value
            setattr(layer, name, view)
            layer._grads[name] = grads[offset:offset + value.size].reshape(value.shape)
            offset += value.size
            if layer.trainable and self.trainable:
                self._trainable_size = offset
                self._variable_grads.append(layer._grads[name])
        self._params, self._grads = params, grads
        with self._plans_lock:
            self._plans.clear()
        self._build_optimizer()

    def _build_optimizer(self):
        if self.optimizer is None or self._params is None:
            return
        slots = self.optimizer._slots
        if slots is None or any(s.size != self._trainable_size or s.dtype != self.dtype
                                for s in slots):
            self.optimizer.build(self._trainable_size, self.dtype)

    # ---- weights ------------------------------------------------------------------------------
    @property
    def weights(self):
        return [w for layer in self._layers for w in layer.weights]

    @property
    def trainable_weights(self):
        return [w for layer in self._layers if layer.trainable and self.trainable
                for w in layer.weights]

    @property
    def non_trainable_weights(self):
        return [w for layer in self._layers if not (layer.trainable and self.trainable)
                for w in layer.weights]

    def count_params(self):
        return sum(w.size for w in self.weights)

    def get_weights(self):
        """Copies of the weights in Keras order: [kernel, bias, kernel, bias, ...]."""
        return [w.copy() for w in self.weights]

    def set_weights(self, weights):
        """Copy `weights` (the get_weights layout) into the model; nothing changes on error."""
        targets = self.weights
        if not self.built:
            raise ValueError("set_weights: the model is not built yet (call build() or fit first)")
        arrays = layers_module._checked_weights(weights, [w.shape for w in targets], self.name)
        for target, value in zip(targets, arrays):
            target[...] = value

    # ---- configuration (used by nerve.saving) -------------------------------------------------
    def get_config(self):
        layers = ([layers_module.serialize(self._input)] if self._input is not None else [])
        layers += [layers_module.serialize(layer) for layer in self._layers]
        return {"name": self.name, "trainable": self.trainable, "layers": layers}

    @classmethod
    def from_config(cls, config):
        model = cls(name=config.get("name"), trainable=config.get("trainable", True))
        for layer_config in config.get("layers", []):
            model.add(layers_module.deserialize(layer_config))
        return model

    def get_build_config(self):
        return {"input_shape": list(self.input_shape)} if self.built else None

    def get_compile_config(self):
        if self.optimizer is None:
            return None
        metrics = [m if isinstance(m, str) else metrics_module.serialize(m)
                   for m in self._metric_ids]
        loss = self._loss_id if isinstance(self._loss_id, str) or self.loss is None \
            else losses.serialize(self.loss)
        return {"optimizer": optimizers.serialize(self.optimizer), "loss": loss,
                "metrics": metrics}

    def compile_from_config(self, config):
        self.compile(optimizer=optimizers.deserialize(config["optimizer"]),
                     loss=config.get("loss"), metrics=config.get("metrics"))

    # ---- compile ------------------------------------------------------------------------------
    def compile(self, optimizer="rmsprop", loss=None, metrics=None):
        """Choose the optimizer, loss and metrics (Keras identifiers or objects)."""
        optimizer = optimizers.get(optimizer)
        loss_object = None if loss is None else losses.get(loss)
        if metrics is None:
            metrics = []
        if isinstance(metrics, (str, metrics_module.Metric)):
            raise TypeError("metrics: expected a list, such as metrics=['accuracy']")
        metrics = list(metrics)
        for metric in metrics:
            metrics_module.check(metric)
        self.optimizer, self.loss, self._loss_id = optimizer, loss_object, loss
        self._metric_ids, self._metrics = metrics, None
        if self.built:
            self._pack()  # applies changed `trainable` flags, as Keras's compile does

    @property
    def compiled(self):
        return self.optimizer is not None

    @property
    def metrics_names(self):
        return ["loss"] + [m if isinstance(m, str) else m.name for m in self._metric_ids]

    def _resolved_metrics(self, outputs, y=None):
        """The metrics; with targets y, each is first tried on them (all rows: whether
        shapes broadcast depends on the row count), so a metric that cannot take these
        targets raises before a training step changes the model."""
        if self._metrics is None:
            self._metrics = [metrics_module.resolve(m, self.loss, outputs)
                             for m in self._metric_ids]
        if y is not None:
            for metric in self._metrics:
                metric.update_state(y, np.zeros((len(y), outputs), self.dtype))
                metric.reset_state()
        return self._metrics

    def _require_loss(self, method):
        if self.optimizer is None:
            raise ValueError(f"{method}: call compile() before {method}()")
        if self.loss is None:
            raise ValueError(f"{method}: the model was compiled without a loss")

    def _require_trainable(self, method):
        for layer in self._layers:
            if layer.output_activation == "step":
                raise ValueError(f"{method}: layer {layer.name!r} uses the 'step' activation, "
                                 f"which has no derivative: the model can predict, not train")

    # ---- data ---------------------------------------------------------------------------------
    def _inputs(self, x, name="x"):
        """(x converted and checked, number of outputs); builds nothing."""
        if not self._layers:
            raise ValueError(f"{name}: the model has no layers; add some first")
        known = self._input_shape_known()
        x = _training.as_inputs(x, name, self.dtype, None if known is None else known[1:])
        return x, self._output_shape((None,) + x.shape[1:])[-1]

    def _data(self, x, y, sample_weight=None, class_weight=None, names=("x", "y")):
        x, outputs = self._inputs(x, names[0])
        y = _training.as_targets(y, self.loss, outputs, len(x), self.dtype, names[1])
        weights = _training.as_sample_weights(sample_weight, class_weight, y, len(x), self.dtype)
        return x, y, weights

    def _validation_data(self, validation_data):
        if not isinstance(validation_data, (tuple, list)) or len(validation_data) not in (2, 3):
            raise ValueError("validation_data: expected a tuple (x_val, y_val) or "
                             "(x_val, y_val, sample_weight_val)")
        x, y, *weights = validation_data
        return self._data(x, y, weights[0] if weights else None, names=("validation_data x",
                                                                         "validation_data y"))

    def _build_for(self, x):
        if not self.built:
            self.build((None,) + x.shape[1:])

    def _plan(self, backend, batch, mode):
        """Preallocated buffers for one (backend, batch size, mode), per thread: concurrent
        predict calls on one model must not write into each other's buffers."""
        key = (backend.__name__, batch, mode, threading.get_ident())
        with self._plans_lock:
            plan = self._plans.get(key)
            if plan is None:
                plan = self._plans[key] = _training.Plan(self, backend, batch, mode)
                if len(self._plans) > _CACHED_PLANS:
                    self._plans.popitem(last=False)
            else:
                self._plans.move_to_end(key)
        return plan

    # ---- training -----------------------------------------------------------------------------
    def fit(self, x=None, y=None, batch_size=None, epochs=1, verbose="auto", callbacks=None,
            validation_split=0.0, validation_data=None, shuffle=True, class_weight=None,
            sample_weight=None, initial_epoch=0, validation_batch_size=None, validation_freq=1):
        """Train for `epochs` passes over (x, y); returns the History callback."""
        self._require_loss("fit")
        self._require_trainable("fit")
        batch_size = _count(32 if batch_size is None else batch_size, "batch_size", 1)
        epochs = _count(epochs, "epochs", 0)
        initial_epoch = _count(initial_epoch, "initial_epoch", 0)
        validation_freq = _count(validation_freq, "validation_freq", 1)
        verbose = _verbosity(verbose)
        x, y, weights = self._data(x, y, sample_weight, class_weight)
        validation = None
        if validation_data is not None:
            validation = self._validation_data(validation_data)
        elif validation_split:
            if not (isinstance(validation_split, numbers.Real) and 0 < validation_split < 1):
                raise ValueError(f"validation_split: expected a number in [0, 1), received "
                                 f"{validation_split!r}")
            split = int(math.floor(len(x) * (1.0 - validation_split)))
            if not 0 < split < len(x):
                raise ValueError(f"validation_split: {validation_split} of {len(x)} samples "
                                 f"leaves no training or no validation samples")
            validation = tuple(None if a is None else a[split:] for a in (x, y, weights))
            x, y, weights = (None if a is None else a[:split] for a in (x, y, weights))
        self._build_for(x)

        backend = get_backend()
        metrics = self._resolved_metrics(self.output_shape[-1], y)
        schedule = _training.batches(len(x), batch_size)
        callbacks = callbacks_module.CallbackList(
            callbacks, model=self, add_history=True, add_progbar=verbose != 0, verbose=verbose,
            epochs=epochs, steps=len(schedule))
        self.history = callbacks.history
        predictions = np.empty((len(x), self.output_shape[-1]), self.dtype) if metrics else None
        update = self._optimizer_step(backend)
        regularization = _training.regularization_function(self)
        steps = {size: _training.train_step_function(
            self._plan(backend, size, "train"), backend, x, y, weights, predictions,
            regularization, update) for size in {size for _, size in schedule}}
        schedule = [(steps[size], start, start + size, size) for start, size in schedule]
        generator = utils.generator()

        self.stop_training = False
        logs, diverged = {}, False
        callbacks.on_train_begin()
        for epoch in range(initial_epoch, epochs):
            callbacks.on_epoch_begin(epoch)
            order = generator.permutation(len(x)) if shuffle else np.arange(len(x))
            running = _training.Running(metrics, y, order, predictions)
            self._train_epoch(schedule, order, running, callbacks)
            logs = running.logs()
            if validation is not None and (epoch + 1) % validation_freq == 0:
                val_logs = self._test_loop(backend, *validation,
                                           validation_batch_size or batch_size, callbacks,
                                           metrics)
                logs.update(("val_" + key, value) for key, value in val_logs.items())
            callbacks.on_epoch_end(epoch, logs)
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

    def _train_epoch(self, schedule, order, running, callbacks):
        on_begin, on_end = callbacks.on_train_batch_begin, callbacks.on_train_batch_end
        logs = running.logs
        for index, (step, start, stop, size) in enumerate(schedule):
            on_begin(index)
            running.loss_sum += step(order[start:stop], start) * size
            running.rows += size
            on_end(index, logs)
            if self.stop_training:
                break

    def _optimizer_step(self, backend):
        if self._trainable_size == 0:
            return lambda: None
        size = self._trainable_size
        return self.optimizer.bind(backend, self._params[:size], self._grads[:size],
                                   self._variable_grads)

    def train_on_batch(self, x, y=None, sample_weight=None, class_weight=None, return_dict=False):
        """One optimizer step on this batch; returns its loss (and metrics on this batch)."""
        self._require_loss("train_on_batch")
        self._require_trainable("train_on_batch")
        x, y, weights = self._data(x, y, sample_weight, class_weight)
        self._build_for(x)
        backend = get_backend()
        metrics = self._resolved_metrics(self.output_shape[-1], y)
        predictions = np.empty((len(x), self.output_shape[-1]), self.dtype)
        step = _training.train_step_function(
            self._plan(backend, len(x), "train"), backend, x, y, weights, predictions,
            _training.regularization_function(self), self._optimizer_step(backend))
        running = _training.Running(metrics, y, None, predictions)
        running.loss_sum, running.rows = step(np.arange(len(x)), 0) * len(x), len(x)
        return self._results(running.logs(), return_dict)

    # ---- evaluation and prediction ------------------------------------------------------------
    def evaluate(self, x=None, y=None, batch_size=None, verbose="auto", sample_weight=None,
                 steps=None, callbacks=None, return_dict=False):
        """The loss alone without metrics, else [loss, *metrics] (a dict with return_dict)."""
        self._require_loss("evaluate")
        batch_size = _count(32 if batch_size is None else batch_size, "batch_size", 1)
        verbose = _verbosity(verbose)
        x, y, weights = self._data(x, y, sample_weight)
        self._build_for(x)
        metrics = self._resolved_metrics(self.output_shape[-1])
        callbacks = callbacks_module.CallbackList(
            callbacks, model=self, add_progbar=verbose != 0, verbose=verbose, epochs=1,
            steps=len(_training.batches(len(x), batch_size)))
        logs = self._test_loop(get_backend(), x, y, weights, batch_size, callbacks, metrics)
        return self._results(logs, return_dict)

    def _test_loop(self, backend, x, y, weights, batch_size, callbacks, metrics):
        predictions = np.empty((len(x), self.output_shape[-1]), self.dtype)
        running = _training.Running(metrics, y, None, predictions)
        schedule = _training.batches(len(x), batch_size)
        steps = {size: _training.test_step_function(self._plan(backend, size, "test"), backend,
                                                    x, y, weights, predictions)
                 for size in {size for _, size in schedule}}
        on_begin, on_end = callbacks.on_test_batch_begin, callbacks.on_test_batch_end
        callbacks.on_test_begin()
        for index, (start, size) in enumerate(schedule):
            on_begin(index)
            running.loss_sum += steps[size](start) * size
            running.rows += size
            on_end(index, running.logs)
        logs = running.logs()
        callbacks.on_test_end(logs)
        return logs

    def test_on_batch(self, x, y=None, sample_weight=None, return_dict=False):
        """evaluate() on one batch, without callbacks."""
        self._require_loss("test_on_batch")
        x, y, weights = self._data(x, y, sample_weight)
        self._build_for(x)
        metrics = self._resolved_metrics(self.output_shape[-1])
        logs = self._test_loop(get_backend(), x, y, weights, len(x),
                               callbacks_module.CallbackList(model=self), metrics)
        return self._results(logs, return_dict)

    def _results(self, logs, return_dict):
        if return_dict:
            return logs
        names = ["loss"] + [m.name for m in self._metrics]
        values = [logs[name] for name in names]
        return values[0] if len(values) == 1 else values

    def predict(self, x, batch_size=None, verbose="auto", steps=None, callbacks=None):
        """Outputs (samples, units) for x (samples, features), computed batch_size rows at a time."""
        batch_size = _count(32 if batch_size is None else batch_size, "batch_size", 1)
        verbose = _verbosity(verbose)
        x, outputs = self._inputs(x)
        self._build_for(x)
        out = np.empty((len(x), outputs), self.dtype)
        schedule = _training.batches(len(x), batch_size)
        callbacks = callbacks_module.CallbackList(
            callbacks, model=self, add_progbar=verbose != 0, verbose=verbose, epochs=1,
            steps=len(schedule))
        self._predict_loop(get_backend(), x, out, schedule, callbacks)
        return out

    def _predict_loop(self, backend, x, out, schedule, callbacks):
        steps = {size: _training.predict_step_function(self._plan(backend, size, "predict"), x, out)
                 for size in {size for _, size in schedule}}
        on_begin, on_end = callbacks.on_predict_batch_begin, callbacks.on_predict_batch_end
        callbacks.on_predict_begin()
        for index, (start, size) in enumerate(schedule):
            on_begin(index)
            steps[size](start)
            on_end(index, {"outputs": out[start:start + size]})
        callbacks.on_predict_end()

    def predict_on_batch(self, x):
        """predict() on one batch, without callbacks or progress output."""
        x, outputs = self._inputs(x)
        self._build_for(x)
        out = np.empty((len(x), outputs), self.dtype)
        self._predict_loop(get_backend(), x, out, _training.batches(len(x), len(x)),
                           callbacks_module.CallbackList(model=self))
        return out

    # ---- saving -------------------------------------------------------------------------------
    def save(self, filepath):
        """Architecture, weights, compile settings and optimizer state (nerve.saving)."""
        saving.save_model(self, filepath)

    def save_weights(self, filepath):
        saving.save_weights(self, filepath)

    def load_weights(self, filepath):
        saving.load_weights(self, filepath)

    # ---- summary ------------------------------------------------------------------------------
    def summary(self, line_length=None, print_fn=None):
        """Print the layers, their output shapes and parameter counts, in Keras's layout."""
        for line in _summary_lines(self, line_length):
            (print_fn or print)(line)

    def __repr__(self):
        return f"<Sequential name={self.name}, built={self.built}>"


# ---- summary layout -----------------------------------------------------------------------------

def _memory(count, itemsize):
    size, units = float(count * itemsize), ["B", "KB", "MB", "GB", "TB"]
    while size >= 1024 and len(units) > 1:
        size, units = size / 1024, units[1:]
    return f"{size:.2f} {units[0]}"


def _summary_lines(model, line_length):
    shape = model._input_shape_known()
    rows = []
    for layer in model._layers:
        if shape is not None:
            shape = tuple(layer.compute_output_shape(shape))
        shape_text = "?" if shape is None else "(" + ", ".join(map(str, shape)) + ")"
        params = f"{layer.count_params():,}" if layer.built else "0 (unbuilt)"
        rows.append((f"{layer.name} ({type(layer).__name__})", shape_text, params))
    header = ("Layer (type)", "Output Shape", "Param #")
    widths = [31, 22, 13]
    if line_length:
        widths[0] = max(10, line_length - 10 - widths[1] - widths[2])
    widths = [max([w] + [len(r[i]) for r in rows]) for i, w in enumerate(widths)]

    def rule(left, fill, middle, right):
        return left + middle.join(fill * (w + 2) for w in widths) + right

    def row(cells, edge):
        texts = [cells[0].ljust(widths[0]), cells[1].ljust(widths[1]), cells[2].rjust(widths[2])]
        return edge + edge.join(f" {t} " for t in texts) + edge

    lines = [f'Model: "{model.name}"', rule("┏", "━", "┳", "┓"), row(header, "┃"),
             rule("┡", "━", "╇", "┩")]
    for i, cells in enumerate(rows):
        if i:
            lines.append(rule("├", "─", "┼", "┤"))
        lines.append(row(cells, "│"))
    lines.append(rule("└", "─", "┴", "┘"))
    itemsize = np.dtype(model.dtype or "float32").itemsize
    trainable = sum(w.size for w in model.trainable_weights)
    frozen = sum(w.size for w in model.non_trainable_weights)
    optimizer = model.optimizer
    # Keras counts the optimizer's variables once it has taken a step.
    slots = sum(s.size for s in optimizer._slots) if optimizer and optimizer.iterations else 0
    lines.append(f" Total params: {trainable + frozen + slots:,} "
                 f"({_memory(trainable + frozen + slots, itemsize)})")
    lines.append(f" Trainable params: {trainable:,} ({_memory(trainable, itemsize)})")
    lines.append(f" Non-trainable params: {frozen:,} ({_memory(frozen, itemsize)})")
    if slots:
        lines.append(f" Optimizer params: {slots:,} ({_memory(slots, itemsize)})")
    return lines
