"""ProgbarLogger: the progress bar fit, evaluate and predict print."""
from .._progress import ProgressBar, print_message
from .callback import Callback


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
