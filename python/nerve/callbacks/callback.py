"""Keras-compatible callbacks: hooks that `fit`, `evaluate` and `predict` call as they run.

    from nerve.callbacks import EarlyStopping
    model.fit(x, y, validation_split=0.2, callbacks=[EarlyStopping(patience=3)])
"""
import csv
import inspect
import math
import numbers
import os
import warnings
from typing import Any, Callable, Dict, Iterable, Optional, Union

import numpy as np

from .. import distributed
from .._progress import ProgressBar, print_message

__all__ = ["Callback", "CallbackList", "History", "ProgbarLogger", "EarlyStopping",
           "ModelCheckpoint", "LearningRateScheduler", "ReduceLROnPlateau", "CSVLogger",
           "TerminateOnNaN", "LambdaCallback"]

_EPOCH_HOOKS = ("on_epoch_begin", "on_epoch_end")
_RUN_HOOKS = ("on_train_begin", "on_train_end", "on_test_begin", "on_test_end",
              "on_predict_begin", "on_predict_end")
_BATCH_HOOKS = ("on_train_batch_begin", "on_train_batch_end", "on_test_batch_begin",
                "on_test_batch_end", "on_predict_batch_begin", "on_predict_batch_end")
# Keras 1/2 names that training still calls: on_train_batch_X runs on_batch_X by default.
_BATCH_ALIASES = {"on_train_batch_begin": "on_batch_begin", "on_train_batch_end": "on_batch_end"}
_HOOKS = _EPOCH_HOOKS + _RUN_HOOKS + _BATCH_HOOKS + tuple(_BATCH_ALIASES.values())
# Metrics that improve upwards; everything else (losses, errors) improves downwards.
# What a hook receives: the epoch's or batch's metrics by name (None: none yet).
Logs = Optional[Dict[str, Any]]
_HIGHER_IS_BETTER = ("acc", "auc", "precision", "recall", "f1", "fbeta", "iou", "r2")


class Callback:
    """Base class of callbacks (keras.callbacks.Callback): override the hooks you need.

    fit, evaluate and predict call the hooks as they run; `self.model` (the model) and
    `self.params` ({"verbose", "epochs", "steps"}) are set before training starts. A callback
    stops training by setting `self.model.stop_training = True`. Hooks that are not overridden
    cost nothing per batch.

    Example:
        >>> import numpy as np, nerve
        >>> class CountBatches(nerve.callbacks.Callback):
        ...     def on_train_begin(self, logs=None):
        ...         self.batches = 0
        ...     def on_train_batch_end(self, batch, logs=None):
        ...         self.batches += 1
        >>> model = nerve.Sequential([nerve.Input((2,)), nerve.layers.Dense(1)])
        >>> model.compile(optimizer="sgd", loss="mse")
        >>> counter = CountBatches()
        >>> _ = model.fit(np.ones((4, 2)), np.ones((4, 1)), batch_size=2, epochs=2, verbose=0,
        ...               callbacks=[counter])
        >>> counter.batches
        4
    """

    # Batch logs may arrive as a zero-argument callable that computes the dict. Callbacks that
    # set this accept it as is (and call it only when they need the values); the others get a dict.
    _accepts_lazy_logs = False

    def __init__(self) -> None:
        self.model: Any = None
        self.params: Dict[str, Any] = {}

    def set_model(self, model: Any) -> None:
        """Set `self.model` (fit, evaluate and predict call this before the first hook).

        Args:
            model: The model the hooks run for.

        Example:
            >>> import nerve
            >>> callback = nerve.callbacks.Callback()
            >>> model = nerve.Sequential([nerve.Input((2,)), nerve.layers.Dense(1)])
            >>> callback.set_model(model)
            >>> callback.model is model
            True
        """
        self.model = model

    def set_params(self, params: Dict[str, Any]) -> None:
        """Set `self.params`, the run's settings.

        Args:
            params: Dict with "verbose", "epochs" and "steps" (batches per epoch, or None).

        Example:
            >>> import nerve
            >>> callback = nerve.callbacks.Callback()
            >>> callback.set_params({"verbose": 0, "epochs": 3, "steps": 10})
            >>> callback.params["epochs"]
            3
        """
        self.params = params

    def on_train_begin(self, logs: Logs = None) -> None:
        """Called once when fit starts.

        Args:
            logs: Dict or None, default None: nothing yet (None or {}).

        Example:
            >>> import nerve
            >>> show = nerve.callbacks.LambdaCallback(on_train_begin=print)
            >>> show.on_train_begin({})
            {}
        """
        pass

    def on_train_end(self, logs: Logs = None) -> None:
        """Called once when fit ends (also after an early stop).

        Args:
            logs: Dict or None, default None: the last epoch's logs.

        Example:
            >>> import nerve
            >>> show = nerve.callbacks.LambdaCallback(on_train_end=print)
            >>> show.on_train_end({})
            {}
        """
        pass

    def on_epoch_begin(self, epoch: int, logs: Logs = None) -> None:
        """Called at the start of each epoch of fit.

        Args:
            epoch: Int, the epoch's index (from 0).
            logs: Dict or None, default None: nothing yet (None or {}).

        Example:
            >>> import nerve
            >>> show = nerve.callbacks.LambdaCallback(on_epoch_begin=print)
            >>> show.on_epoch_begin(0, {})
            0 {}
        """
        pass

    def on_epoch_end(self, epoch: int, logs: Logs = None) -> None:
        """Called at the end of each epoch of fit, after validation.

        Args:
            epoch: Int, the epoch's index (from 0).
            logs: Dict or None, default None: the epoch's metrics by name ("loss", "val_loss", ...);
                a callback may add entries.

        Example:
            >>> import nerve
            >>> show = nerve.callbacks.LambdaCallback(on_epoch_end=print)
            >>> show.on_epoch_end(0, {})
            0 {}
        """
        pass

    def on_train_batch_begin(self, batch: int, logs: Logs = None) -> None:
        """Called before each training batch; by default it calls on_batch_begin.

        Args:
            batch: Int, the batch's index (from 0).
            logs: Dict or None, default None: nothing yet (None or {}).

        Example:
            >>> import nerve
            >>> show = nerve.callbacks.LambdaCallback(on_train_batch_begin=print)
            >>> show.on_train_batch_begin(0, {})
            0 {}
        """
        self.on_batch_begin(batch, logs)

    def on_train_batch_end(self, batch: int, logs: Logs = None) -> None:
        """Called after each training batch; by default it calls on_batch_end.

        Args:
            batch: Int, the batch's index (from 0).
            logs: Dict or None, default None: the epoch's running metrics ("loss", ...).

        Example:
            >>> import nerve
            >>> show = nerve.callbacks.LambdaCallback(on_train_batch_end=print)
            >>> show.on_train_batch_end(0, {})
            0 {}
        """
        self.on_batch_end(batch, logs)

    def on_batch_begin(self, batch: int, logs: Logs = None) -> None:
        """The Keras 1/2 name of on_train_batch_begin, which calls it.

        Args:
            batch: Int, the batch's index (from 0).
            logs: Dict or None, default None: nothing yet (None or {}).

        Example:
            >>> import nerve
            >>> show = nerve.callbacks.LambdaCallback(on_batch_begin=print)
            >>> show.on_train_batch_begin(0, {})
            0 {}
        """
        pass

    def on_batch_end(self, batch: int, logs: Logs = None) -> None:
        """The Keras 1/2 name of on_train_batch_end, which calls it.

        Args:
            batch: Int, the batch's index (from 0).
            logs: Dict or None, default None: the epoch's running metrics ("loss", ...).

        Example:
            >>> import nerve
            >>> show = nerve.callbacks.LambdaCallback(on_batch_end=print)
            >>> show.on_train_batch_end(0, {})
            0 {}
        """
        pass

    def on_test_begin(self, logs: Logs = None) -> None:
        """Called when evaluate starts (and when fit validates).

        Args:
            logs: Dict or None, default None: nothing yet (None or {}).

        Example:
            >>> import nerve
            >>> show = nerve.callbacks.LambdaCallback(on_test_begin=print)
            >>> show.on_test_begin({})
            {}
        """
        pass

    def on_test_end(self, logs: Logs = None) -> None:
        """Called when evaluate ends (and after fit's validation).

        Args:
            logs: Dict or None, default None: the metrics computed.

        Example:
            >>> import nerve
            >>> show = nerve.callbacks.LambdaCallback(on_test_end=print)
            >>> show.on_test_end({})
            {}
        """
        pass

    def on_test_batch_begin(self, batch: int, logs: Logs = None) -> None:
        """Called before each batch of evaluate (and of fit's validation).

        Args:
            batch: Int, the batch's index (from 0).
            logs: Dict or None, default None: nothing yet (None or {}).

        Example:
            >>> import nerve
            >>> show = nerve.callbacks.LambdaCallback(on_test_batch_begin=print)
            >>> show.on_test_batch_begin(0, {})
            0 {}
        """
        pass

    def on_test_batch_end(self, batch: int, logs: Logs = None) -> None:
        """Called after each batch of evaluate (and of fit's validation).

        Args:
            batch: Int, the batch's index (from 0).
            logs: Dict or None, default None: the running metrics.

        Example:
            >>> import nerve
            >>> show = nerve.callbacks.LambdaCallback(on_test_batch_end=print)
            >>> show.on_test_batch_end(0, {})
            0 {}
        """
        pass

    def on_predict_begin(self, logs: Logs = None) -> None:
        """Called when predict starts.

        Args:
            logs: Dict or None, default None: nothing yet (None or {}).

        Example:
            >>> import nerve
            >>> show = nerve.callbacks.LambdaCallback(on_predict_begin=print)
            >>> show.on_predict_begin({})
            {}
        """
        pass

    def on_predict_end(self, logs: Logs = None) -> None:
        """Called when predict ends.

        Args:
            logs: Dict or None, default None: None or {}.

        Example:
            >>> import nerve
            >>> show = nerve.callbacks.LambdaCallback(on_predict_end=print)
            >>> show.on_predict_end({})
            {}
        """
        pass

    def on_predict_batch_begin(self, batch: int, logs: Logs = None) -> None:
        """Called before each batch of predict.

        Args:
            batch: Int, the batch's index (from 0).
            logs: Dict or None, default None: nothing yet (None or {}).

        Example:
            >>> import nerve
            >>> show = nerve.callbacks.LambdaCallback(on_predict_batch_begin=print)
            >>> show.on_predict_batch_begin(0, {})
            0 {}
        """
        pass

    def on_predict_batch_end(self, batch: int, logs: Logs = None) -> None:
        """Called after each batch of predict.

        Args:
            batch: Int, the batch's index (from 0).
            logs: Dict or None, default None: the batch's outputs.

        Example:
            >>> import nerve
            >>> show = nerve.callbacks.LambdaCallback(on_predict_batch_end=print)
            >>> show.on_predict_batch_end(0, {})
            0 {}
        """
        pass


def _overrides(callback, hook):
    """Whether `callback` does something in `hook` (a method override or an instance attribute)."""
    names = (hook, _BATCH_ALIASES[hook]) if hook in _BATCH_ALIASES else (hook,)
    for name in names:
        method = getattr(callback, name)
        if getattr(method, "__func__", method) is not getattr(Callback, name):
            return True
    return False


def _evaluated_once(make_logs):
    """A callable that computes `make_logs()` on its first call and returns that dict after."""
    cache = []

    def logs():
        if not cache:
            cache.append(make_logs())
        return cache[0]
    return logs


def _ignore_batch(batch, logs=None):
    pass


def _batch_dispatcher(callbacks, hook):
    """The cheapest function that runs `hook` on the callbacks that override it: batch hooks
    run every step, and the training loop's whole budget per step is a few microseconds."""
    overriding = [cb for cb in callbacks if _overrides(cb, hook)]
    if not overriding:
        return _ignore_batch
    methods = tuple(getattr(cb, hook) for cb in overriding)
    lazy = all(cb._accepts_lazy_logs for cb in overriding)
    if len(methods) == 1 and lazy:
        return methods[0]

    def dispatch(batch, logs=None):
        if callable(logs):
            logs = _evaluated_once(logs) if lazy else logs()
        for method in methods:
            method(batch, logs)
    return dispatch


def _callback_list(callbacks):
    """fit's `callbacks` as a new list: None, one Callback (as Keras flattens it) or a list."""
    if callbacks is None:
        return []
    if isinstance(callbacks, Callback):
        return [callbacks]
    if isinstance(callbacks, (str, bytes, dict)) or not hasattr(callbacks, "__iter__"):
        raise TypeError(f"callbacks: expected a list of nerve.callbacks.Callback, received "
                        f"{type(callbacks).__name__}")
    return list(callbacks)


class CallbackList(Callback):
    """Runs a list of callbacks as one; fit, evaluate and predict create it.

    Each hook runs the callbacks' hooks in order. add_history and add_progbar append a
    History and a ProgbarLogger unless the list holds one already; `.history` is the History
    callback (or None).

    Args:
        callbacks: A Callback, an iterable of Callbacks, or None (default).
        model: The model, default None.
        add_history: Bool, default False.
        add_progbar: Bool, default False.
        verbose: Int, default 1 (in `params`).
        epochs: Int, default 1 (in `params`).
        steps: Int or None, default None (in `params`).

    Raises:
        TypeError: When `callbacks` is not a Callback or an iterable of them (a str or a dict
            is refused too).

    Example:
        >>> import nerve
        >>> callbacks = nerve.callbacks.CallbackList([nerve.callbacks.History()], add_progbar=True)
        >>> [type(cb).__name__ for cb in callbacks.callbacks]
        ['History', 'ProgbarLogger']
    """

    def __init__(self, callbacks: Optional[Iterable[Callback]] = None, *, model: Any = None,
                 add_history: bool = False, add_progbar: bool = False, verbose: int = 1,
                 epochs: int = 1, steps: Optional[int] = None) -> None:
        super().__init__()
        self.callbacks = _callback_list(callbacks)
        for cb in self.callbacks:
            if not isinstance(cb, Callback):
                raise TypeError("callbacks: expected instances of nerve.callbacks.Callback, "
                                f"received {type(cb).__name__}")
        self.history = next((cb for cb in self.callbacks if isinstance(cb, History)), None)
        if self.history is None and add_history:
            self.history = History()
            self.callbacks.append(self.history)
        if add_progbar and not any(isinstance(cb, ProgbarLogger) for cb in self.callbacks):
            self.callbacks.append(ProgbarLogger())
        self.set_model(model)
        self.set_params({"verbose": verbose, "epochs": epochs, "steps": steps})
        # Instance attributes shadow the (no-op) methods of Callback, once per list.
        for hook in _BATCH_HOOKS:
            setattr(self, hook, _batch_dispatcher(self.callbacks, hook))

    def set_model(self, model):
        super().set_model(model)
        for cb in self.callbacks:
            cb.set_model(model)

    def set_params(self, params):
        super().set_params(params)
        for cb in self.callbacks:
            cb.set_params(params)

    def _run(self, hook, *args):
        for cb in self.callbacks:
            getattr(cb, hook)(*args)

    def on_train_begin(self, logs=None):
        self._run("on_train_begin", logs)

    def on_train_end(self, logs=None):
        self._run("on_train_end", logs)

    def on_epoch_begin(self, epoch, logs=None):
        self._run("on_epoch_begin", epoch, logs)

    def on_epoch_end(self, epoch, logs=None):
        self._run("on_epoch_end", epoch, logs)

    def on_test_begin(self, logs=None):
        self._run("on_test_begin", logs)

    def on_test_end(self, logs=None):
        self._run("on_test_end", logs)

    def on_predict_begin(self, logs=None):
        self._run("on_predict_begin", logs)

    def on_predict_end(self, logs=None):
        self._run("on_predict_end", logs)


class History(Callback):
    """Records the epoch logs; model.fit returns it (and sets model.history).

    `history[name]` is a list with one value per epoch, `epoch` the epochs' indices.

    Example:
        >>> import numpy as np, nerve
        >>> model = nerve.Sequential([nerve.Input((2,)), nerve.layers.Dense(1)])
        >>> model.compile(optimizer="sgd", loss="mse")
        >>> history = model.fit(np.ones((4, 2)), np.ones((4, 1)), epochs=2, verbose=0)
        >>> history.epoch, list(history.history), len(history.history["loss"])
        ([0, 1], ['loss'], 2)
    """

    def __init__(self) -> None:
        super().__init__()
        self.history: Dict[str, list] = {}
        self.epoch: list = []

    def on_train_begin(self, logs=None):
        self.epoch = []

    def on_epoch_end(self, epoch, logs=None):
        self.epoch.append(epoch)
        for name, value in (logs or {}).items():
            self.history.setdefault(name, []).append(value)
        self.model.history = self


class ProgbarLogger(Callback):
    """Prints the progress bar; fit, evaluate and predict add it when verbose != 0.

    verbose=1 draws a bar per epoch, verbose=2 prints one line per epoch. Inside fit the
    validation runs silently.

    Example:
        >>> import nerve
        >>> callbacks = nerve.callbacks.CallbackList(add_progbar=True, verbose=2, epochs=3)
        >>> callbacks.callbacks[0].verbose, callbacks.callbacks[0].epochs
        (2, 3)
    """

    _accepts_lazy_logs = True

    def __init__(self) -> None:
        super().__init__()
        self.verbose, self.epochs, self.target = 1, 1, None
        self._bar = None
        self._in_fit = False  # inside fit, validation runs silently

    def set_params(self, params):
        super().set_params(params)
        verbose = params.get("verbose", 1)
        self.verbose = 1 if verbose == "auto" else verbose
        self.epochs = params.get("epochs", 1)
        self.target = params.get("steps")

    def _start(self):
        self._bar = ProgressBar(self.target, self.verbose)

    def _finish(self, logs):
        if self._bar is not None:
            self._bar.finish(logs)
            self._bar = None

    def on_train_begin(self, logs=None):
        self._in_fit = True

    def on_train_end(self, logs=None):
        self._in_fit = False

    def on_epoch_begin(self, epoch, logs=None):
        if self.verbose and self.epochs > 1:
            print_message(f"Epoch {epoch + 1}/{self.epochs}")
        self._start()

    def on_train_batch_end(self, batch, logs=None):
        self._bar.update(batch + 1, logs)

    def on_epoch_end(self, epoch, logs=None):
        self._finish(logs)

    def on_test_begin(self, logs=None):
        if not self._in_fit:
            self._start()

    def on_test_batch_end(self, batch, logs=None):
        if not self._in_fit:
            self._bar.update(batch + 1, logs)

    def on_test_end(self, logs=None):
        if not self._in_fit:
            self._finish(logs)

    def on_predict_begin(self, logs=None):
        self._start()

    def on_predict_batch_end(self, batch, logs=None):
        self._bar.update(batch + 1)  # the logs hold predictions, not metrics

    def on_predict_end(self, logs=None):
        self._finish(None)


def _number(value, name, owner, finite=False):
    """`value`, a number that is not NaN (which no comparison would ever pass); infinite only
    where that means something (patience=inf: wait forever) unless `finite`."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or math.isnan(value) \
            or (finite and math.isinf(value)):
        expected = "a finite number" if finite else "a number (not NaN)"
        raise ValueError(f"{owner}: {name} expected {expected}, received {value!r}")
    return value


class _Monitor:
    """The monitored quantity of EarlyStopping & co.: reads it from the logs and compares."""

    def __init__(self, monitor, mode, min_delta, owner):
        if mode not in ("auto", "min", "max"):
            warnings.warn(f"{owner} mode {mode!r} is unknown, fallback to auto mode.",
                          stacklevel=3)
            mode = "auto"
        if mode == "auto":
            name = monitor.removeprefix("val_")
            mode = "max" if any(word in name for word in _HIGHER_IS_BETTER) else "min"
        self.monitor, self.owner = monitor, owner
        self.higher_is_better = mode == "max"
        self.min_delta = abs(_number(min_delta, "min_delta", owner, finite=True))

    @property
    def worst(self):
        return -math.inf if self.higher_is_better else math.inf

    def improved(self, current, reference):
        if self.higher_is_better:
            return current - self.min_delta > reference
        return current + self.min_delta < reference

    def value(self, logs):
        """The monitored value, or None (with a warning, as in Keras) when the logs lack it."""
        logs = logs or {}
        value = logs.get(self.monitor)
        if value is None:
            warnings.warn(f"{self.owner} is conditioned on metric `{self.monitor}` which is not "
                          f"available. Available metrics are: {','.join(logs)}", stacklevel=3)
            return None
        return float(value)


class EarlyStopping(Callback):
    """Stops training when `monitor` has not improved by `min_delta` for `patience` epochs.

    restore_best_weights=True puts back the weights of the best epoch when training ends (also
    when it ran all its epochs, as in Keras 3). A missing `monitor` in the logs gives a
    warning and is skipped.

    Args:
        monitor: Str, default "val_loss": the logs' key watched.
        min_delta: Finite number, default 0: the smallest change counted as an improvement
            (its absolute value is used).
        patience: Number (not NaN; inf waits forever), default 0: epochs without improvement
            before stopping.
        verbose: Int, default 0: 1 prints when it stops and restores.
        mode: "auto", "min" or "max", default "auto": "auto" infers the direction from the
            name (accuracy, auc, precision, recall... improve upwards); another value warns
            and falls back to "auto".
        baseline: Finite number or None, default None: keep waiting unless the best value
            beats it.
        restore_best_weights: Bool, default False.
        start_from_epoch: Number (not NaN), default 0: epochs of warm-up that are not
            monitored.

    Raises:
        ValueError: When min_delta or baseline is not a finite number, or patience or
            start_from_epoch is not a number (or NaN).

    Example:
        >>> import numpy as np, nerve
        >>> model = nerve.Sequential([nerve.Input((2,)), nerve.layers.Dense(1)])
        >>> model.compile(optimizer="sgd", loss="mse")
        >>> stop = nerve.callbacks.EarlyStopping(monitor="loss", min_delta=10.0)
        >>> history = model.fit(np.ones((4, 2)), np.ones((4, 1)), epochs=10, verbose=0,
        ...                     callbacks=[stop])
        >>> len(history.epoch), stop.stopped_epoch
        (2, 1)
    """

    def __init__(self, monitor: str = "val_loss", min_delta: float = 0, patience: int = 0,
                 verbose: int = 0, mode: str = "auto", baseline: Optional[float] = None,
                 restore_best_weights: bool = False, start_from_epoch: int = 0) -> None:
        super().__init__()
        self._monitor = _Monitor(monitor, mode, min_delta, "Early stopping")
        self.monitor, self.min_delta = monitor, self._monitor.min_delta
        self.patience = _number(patience, "patience", "EarlyStopping")
        self.verbose = verbose
        self.baseline = None if baseline is None else _number(baseline, "baseline",
                                                               "EarlyStopping", finite=True)
        self.restore_best_weights = restore_best_weights
        self.start_from_epoch = _number(start_from_epoch, "start_from_epoch", "EarlyStopping")
        self.on_train_begin()

    def on_train_begin(self, logs=None):
        self.wait = 0
        self.stopped_epoch = 0
        self.best = self._monitor.worst
        self.best_epoch = 0
        self.best_weights = None

    def on_epoch_end(self, epoch, logs=None):
        current = self._monitor.value(logs)
        if current is None or epoch < self.start_from_epoch:
            return
        if self.restore_best_weights and self.best_weights is None:
            self._remember(epoch)  # the first monitored epoch is the best so far
        self.wait += 1
        if self._monitor.improved(current, self.best):
            self.best = current
            self._remember(epoch)
            if self.baseline is None or self._monitor.improved(current, self.baseline):
                self.wait = 0
            return
        if self.wait >= self.patience and epoch > 0:
            self.stopped_epoch = epoch
            self.model.stop_training = True

    def _remember(self, epoch):
        self.best_epoch = epoch
        if self.restore_best_weights:
            self.best_weights = [np.array(w, copy=True) for w in self.model.get_weights()]

    def on_train_end(self, logs=None):
        if self.stopped_epoch > 0 and self.verbose > 0:
            print_message(f"Epoch {self.stopped_epoch + 1}: early stopping")
        if self.restore_best_weights and self.best_weights is not None:
            if self.verbose > 0:
                print_message("Restoring model weights from the end of the best epoch: "
                              f"{self.best_epoch + 1}.")
            self.model.set_weights(self.best_weights)


class ModelCheckpoint(Callback):
    """Saves the model (or only its weights) after every epoch, or every `save_freq` batches.

    `filepath` may hold fields filled from the epoch (from 1), the batch (with save_freq=N)
    and the logs, e.g. "ckpt/{epoch:02d}-{val_loss:.2f}.nerve"; its directory is created. A
    name ending in .keras gets Keras 3's format, without the optimizer state. In a
    nerve.distributed run only rank 0 saves.

    Args:
        filepath: Str or path-like, the file name (a format string).
        monitor: Str, default "val_loss": the logs' key save_best_only compares.
        verbose: Int, default 0: 1 prints each save.
        save_best_only: Bool, default False: save only when `monitor` improves (always when
            the logs lack it, as Keras).
        save_weights_only: Bool, default False: model.save_weights instead of model.save.
        mode: "auto", "min" or "max", default "auto" (as EarlyStopping).
        save_freq: "epoch" or a positive int (batches), default "epoch".
        initial_value_threshold: Float or None, default None: the value to beat first.

    Raises:
        ValueError: When save_freq is neither "epoch" nor a positive int.
        KeyError: (during fit) When filepath names a field the logs do not have.

    Example:
        >>> import os, tempfile, numpy as np, nerve
        >>> model = nerve.Sequential([nerve.Input((2,)), nerve.layers.Dense(1)])
        >>> model.compile(optimizer="sgd", loss="mse")
        >>> with tempfile.TemporaryDirectory() as directory:
        ...     path = os.path.join(directory, "model-{epoch}.nerve")
        ...     _ = model.fit(np.ones((4, 2)), np.ones((4, 1)), epochs=2, verbose=0,
        ...                   callbacks=[nerve.callbacks.ModelCheckpoint(path)])
        ...     sorted(os.listdir(directory))
        ['model-1.nerve', 'model-2.nerve']
    """

    _accepts_lazy_logs = True  # with save_freq=N, it needs the logs only every N batches

    def __init__(self, filepath: Union[str, os.PathLike], monitor: str = "val_loss",
                 verbose: int = 0, save_best_only: bool = False,
                 save_weights_only: bool = False, mode: str = "auto",
                 save_freq: Union[str, int] = "epoch",
                 initial_value_threshold: Optional[float] = None) -> None:
        super().__init__()
        if save_freq != "epoch" and not (isinstance(save_freq, int) and save_freq > 0):
            raise ValueError("save_freq: expected 'epoch' or a positive number of batches, "
                             f"received {save_freq!r}")
        self.filepath = os.fspath(filepath)
        self.monitor, self.verbose = monitor, verbose
        self.save_best_only, self.save_weights_only = save_best_only, save_weights_only
        self.save_freq = save_freq
        self._monitor = _Monitor(monitor, mode, 0, "ModelCheckpoint")
        self.best = self._monitor.worst if initial_value_threshold is None \
            else initial_value_threshold
        self._epoch = 0
        self._batches_since_save = 0
        if save_freq != "epoch":
            self.on_train_batch_end = self._count_batch  # type: ignore[method-assign]

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch

    def _count_batch(self, batch, logs=None):
        self._batches_since_save += 1
        if self._batches_since_save >= self.save_freq:
            self._batches_since_save = 0
            self._save(self._epoch, batch, logs() if callable(logs) else logs)

    def on_epoch_end(self, epoch, logs=None):
        if self.save_freq == "epoch":
            self._save(epoch, None, logs)

    def _save(self, epoch, batch, logs):
        if not distributed.is_root():  # a nerve.distributed run: rank 0 saves, and says so
            return
        logs = logs or {}
        fields = dict(logs, epoch=epoch + 1) if batch is None \
            else dict(logs, epoch=epoch + 1, batch=batch + 1)
        try:
            path = self.filepath.format(**fields)
        except KeyError as error:
            raise KeyError(f"ModelCheckpoint: cannot fill in filepath {self.filepath!r}: no "
                           f"value for {error}. Available: {', '.join(fields)}") from None
        if self.save_best_only and not self._is_best(epoch, logs, path):
            return
        if self.verbose > 0:
            print_message(f"Epoch {epoch + 1}: saving model to {path}")
        directory = os.path.dirname(path)
        if directory:
            os.makedirs(directory, exist_ok=True)
        if self.save_weights_only:
            self.model.save_weights(path)
        else:
            self.model.save(path)

    def _is_best(self, epoch, logs, path):
        current = self._monitor.value(logs)
        if current is None:
            return True  # as Keras: without the value, save anyway
        improved = self._monitor.improved(current, self.best)
        if self.verbose > 0:
            change = f"improved from {self.best:.5f} to {current:.5f}, saving model to {path}" \
                if improved else f"did not improve from {self.best:.5f}"
            print_message(f"Epoch {epoch + 1}: {self.monitor} {change}")
        if improved:
            self.best = current
        return improved


def _learning_rate(model):
    """The rate the optimizer's next step uses: with a schedule, its value at the current
    iteration (`optimizer.learning_rate` is then the schedule itself)."""
    optimizer = model.optimizer
    current = getattr(optimizer, "current_learning_rate", None)
    return float(current() if callable(current) else optimizer.learning_rate)


class LearningRateScheduler(Callback):
    """Sets the learning rate at the start of each epoch to schedule(epoch, lr).

    `epoch` counts from 0 and `lr` is the current rate; a schedule taking one positional
    argument is called as schedule(epoch). The epoch's logs get "learning_rate".

    Args:
        schedule: Callable (epoch, lr) -> float, or epoch -> float.
        verbose: Int, default 0: 1 prints each change.

    Raises:
        ValueError: (during fit) When the schedule returns something other than a number.

    Example:
        >>> import numpy as np, nerve
        >>> model = nerve.Sequential([nerve.Input((2,)), nerve.layers.Dense(1)])
        >>> model.compile(optimizer="sgd", loss="mse")
        >>> scheduler = nerve.callbacks.LearningRateScheduler(lambda epoch, lr: 0.1 / (epoch + 1))
        >>> history = model.fit(np.ones((4, 2)), np.ones((4, 1)), epochs=2, verbose=0,
        ...                     callbacks=[scheduler])
        >>> history.history["learning_rate"]
        [0.1, 0.05]
    """

    def __init__(self, schedule: Callable[..., float], verbose: int = 0) -> None:
        super().__init__()
        self.schedule, self.verbose = schedule, verbose
        self._takes_lr = _positional_arity(schedule) >= 2

    def on_epoch_begin(self, epoch, logs=None):
        if self._takes_lr:
            rate = self.schedule(epoch, _learning_rate(self.model))
        else:
            rate = self.schedule(epoch)
        if not isinstance(rate, numbers.Real) or isinstance(rate, bool):
            raise ValueError("LearningRateScheduler: the schedule must return a float, "
                             f"returned {rate!r} for epoch {epoch}")
        self.model.optimizer.learning_rate = float(rate)
        if self.verbose > 0:
            print_message(f"Epoch {epoch + 1}: LearningRateScheduler setting learning rate "
                          f"to {float(rate)}.")

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["learning_rate"] = _learning_rate(self.model)


def _positional_arity(function):
    """How many positional arguments `function` takes (a large number for *args)."""
    try:
        parameters = inspect.signature(function).parameters.values()
    except (TypeError, ValueError):  # some builtins have no signature: assume the new API
        return 2
    kinds = [p.kind for p in parameters]
    if inspect.Parameter.VAR_POSITIONAL in kinds:
        return math.inf
    return sum(k in (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
               for k in kinds)


class ReduceLROnPlateau(Callback):
    """Multiplies the learning rate by `factor` when `monitor` stops improving.

    After `patience` epochs without an improvement of `min_delta`, the rate is multiplied by
    `factor` (never below `min_lr`), then `cooldown` epochs pass before counting again. The
    epoch's logs get "learning_rate".

    Args:
        monitor: Str, default "val_loss".
        factor: Float < 1, default 0.1.
        patience: Number (not NaN), default 10.
        verbose: Int, default 0: 1 prints each reduction.
        mode: "auto", "min" or "max", default "auto" (as EarlyStopping).
        min_delta: Finite number, default 1e-4.
        cooldown: Number (not NaN), default 0.
        min_lr: Finite number, default 0.0.

    Raises:
        ValueError: When factor >= 1 (or NaN), min_delta or min_lr is not a finite number, or
            patience or cooldown is not a number (or NaN).

    Example:
        >>> import numpy as np, nerve
        >>> model = nerve.Sequential([nerve.Input((2,)), nerve.layers.Dense(1)])
        >>> model.compile(optimizer=nerve.optimizers.SGD(0.01), loss="mse")
        >>> reduce = nerve.callbacks.ReduceLROnPlateau("loss", factor=0.5, patience=1,
        ...                                            min_delta=10.0)
        >>> _ = model.fit(np.ones((4, 2)), np.ones((4, 1)), epochs=2, verbose=0,
        ...               callbacks=[reduce])
        >>> model.optimizer.learning_rate
        0.005
    """

    def __init__(self, monitor: str = "val_loss", factor: float = 0.1, patience: int = 10,
                 verbose: int = 0, mode: str = "auto", min_delta: float = 1e-4,
                 cooldown: int = 0, min_lr: float = 0.0) -> None:
        super().__init__()
        if not factor < 1.0:  # (NaN too)
            raise ValueError("ReduceLROnPlateau does not support a factor >= 1.0. "
                             f"Received factor={factor}")
        self._monitor = _Monitor(monitor, mode, min_delta, "Learning rate reduction")
        owner = "ReduceLROnPlateau"
        self.monitor, self.factor, self.verbose = monitor, factor, verbose
        self.patience = _number(patience, "patience", owner)
        self.min_delta, self.cooldown = min_delta, _number(cooldown, "cooldown", owner)
        self.min_lr = _number(min_lr, "min_lr", owner, finite=True)
        self.on_train_begin()

    def on_train_begin(self, logs=None):
        self.best = self._monitor.worst
        self.wait = 0
        self.cooldown_counter = 0

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["learning_rate"] = _learning_rate(self.model)
        current = self._monitor.value(logs)
        if current is None:
            return
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            self.wait = 0
        if self._monitor.improved(current, self.best):
            self.best = current
            self.wait = 0
        elif self.cooldown_counter == 0:
            self.wait += 1
            if self.wait >= self.patience:
                self._reduce(epoch)

    def _reduce(self, epoch):
        old = _learning_rate(self.model)
        if old <= np.float32(self.min_lr):
            return
        new = max(old * self.factor, self.min_lr)
        self.model.optimizer.learning_rate = new
        if self.verbose > 0:
            print_message(f"Epoch {epoch + 1}: ReduceLROnPlateau reducing learning rate to {new}.")
        self.cooldown_counter = self.cooldown
        self.wait = 0


class CSVLogger(Callback):
    """Writes one row per epoch to a CSV file: "epoch" (from 0), then the logs' keys, sorted.

    The file is opened when training begins (in a nerve.distributed run, by rank 0 only) and
    closed when it ends; each row is flushed as written.

    Args:
        filename: Str or path-like.
        separator: Str, default ",".
        append: Bool, default False: add to an existing file (without repeating its header).

    Example:
        >>> import os, tempfile, numpy as np, nerve
        >>> model = nerve.Sequential([nerve.Input((2,)), nerve.layers.Dense(1)])
        >>> model.compile(optimizer="sgd", loss="mse")
        >>> with tempfile.TemporaryDirectory() as directory:
        ...     path = os.path.join(directory, "log.csv")
        ...     _ = model.fit(np.ones((4, 2)), np.ones((4, 1)), epochs=2, verbose=0,
        ...                   callbacks=[nerve.callbacks.CSVLogger(path)])
        ...     with open(path) as file:
        ...         [line.split(",")[0] for line in file.read().splitlines()]
        ['epoch', '0', '1']
    """

    def __init__(self, filename: Union[str, os.PathLike], separator: str = ",",
                 append: bool = False) -> None:
        super().__init__()
        self.filename, self.sep, self.append = os.fspath(filename), separator, append
        self._file = None
        self._writer = None

    def on_train_begin(self, logs=None):
        self.on_train_end()
        if not distributed.is_root():  # one file for a nerve.distributed run: rank 0's
            return
        has_header = self.append and os.path.exists(self.filename) \
            and os.path.getsize(self.filename) > 0
        self._file = open(self.filename, "a" if self.append else "w", newline="",
                          encoding="utf-8")
        self._write_header = not has_header

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        if self._file is None:
            return
        if self._writer is None:
            self._writer = csv.DictWriter(self._file, fieldnames=["epoch", *sorted(logs)],
                                          delimiter=self.sep, restval="NA",
                                          extrasaction="ignore")
            if self._write_header:
                self._writer.writeheader()
        self._writer.writerow({"epoch": epoch, **logs})
        self._file.flush()

    def on_train_end(self, logs=None):
        if self._file is not None:
            self._file.close()
        self._file = self._writer = None


class TerminateOnNaN(Callback):
    """Stops training as soon as a batch's loss is NaN or infinite.

    It prints which batch, and stops at the end of that epoch; with raise_error=True it
    raises instead.

    Args:
        raise_error: Bool, default False: raise RuntimeError rather than stop.

    Example:
        >>> import numpy as np, nerve
        >>> model = nerve.Sequential([nerve.Input((2,)), nerve.layers.Dense(1)])
        >>> model.compile(optimizer="sgd", loss="mse")
        >>> history = model.fit(np.full((4, 2), 1e30), np.ones((4, 1)), epochs=3, verbose=0,
        ...                     callbacks=[nerve.callbacks.TerminateOnNaN()])
        Epoch 1, batch 0: invalid loss (inf), terminating training
        >>> history.epoch
        [0]
    """

    def __init__(self, raise_error: bool = False) -> None:
        super().__init__()
        self.raise_error = raise_error
        self._epoch = 0

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch

    def on_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is None or math.isfinite(loss):
            return
        message = (f"Epoch {self._epoch + 1}, batch {batch}: invalid loss ({loss}), "
                   "terminating training")
        if self.raise_error:
            raise RuntimeError(message)
        print_message(message)
        self.model.stop_training = True


class LambdaCallback(Callback):
    """A callback from plain functions.

    Epoch and batch hooks take (index, logs); the others take (logs). Any hook name of
    Callback may be given as a keyword.

    Args:
        on_epoch_begin: Callable or None, default None.
        on_epoch_end: Callable or None, default None.
        on_train_begin: Callable or None, default None.
        on_train_end: Callable or None, default None.
        on_train_batch_begin: Callable or None, default None.
        on_train_batch_end: Callable or None, default None.
        **kwargs: Other hooks by name (on_test_begin, on_predict_batch_end, ...).

    Raises:
        TypeError: When a keyword is not a hook's name.

    Example:
        >>> import numpy as np, nerve
        >>> model = nerve.Sequential([nerve.Input((2,)), nerve.layers.Dense(1)])
        >>> model.compile(optimizer="sgd", loss="mse")
        >>> show = nerve.callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs: print(epoch))
        >>> _ = model.fit(np.ones((4, 2)), np.ones((4, 1)), epochs=2, verbose=0, callbacks=[show])
        0
        1
    """

    def __init__(self, on_epoch_begin: Optional[Callable[..., Any]] = None,
                 on_epoch_end: Optional[Callable[..., Any]] = None,
                 on_train_begin: Optional[Callable[..., Any]] = None,
                 on_train_end: Optional[Callable[..., Any]] = None,
                 on_train_batch_begin: Optional[Callable[..., Any]] = None,
                 on_train_batch_end: Optional[Callable[..., Any]] = None,
                 **kwargs: Callable[..., Any]) -> None:
        super().__init__()
        unknown = sorted(set(kwargs) - set(_HOOKS))
        if unknown:
            raise TypeError(f"LambdaCallback: unknown hooks {unknown}; "
                            f"expected some of {list(_HOOKS)}")
        hooks = dict(kwargs, on_epoch_begin=on_epoch_begin, on_epoch_end=on_epoch_end,
                     on_train_begin=on_train_begin, on_train_end=on_train_end,
                     on_train_batch_begin=on_train_batch_begin,
                     on_train_batch_end=on_train_batch_end)
        for name, function in hooks.items():
            if function is not None:
                setattr(self, name, function)
