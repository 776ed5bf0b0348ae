"""EarlyStopping: stops training when a monitored quantity stops improving."""
from typing import Optional

import numpy as np

from .._progress import print_message
from .callback import Callback
from .monitor import _Monitor, _number


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
