"""ReduceLROnPlateau: lowers the learning rate when a monitored quantity stalls."""
import numpy as np

from .._progress import print_message
from .callback import Callback
from .monitor import _Monitor, _number
from .learning_rate_scheduler import _learning_rate


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
