"""ModelCheckpoint: saves the model or its weights as training runs."""
import os
from typing import Optional, Union

from .. import distributed
from .._progress import print_message
from .callback import Callback
from .monitor import _Monitor


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
