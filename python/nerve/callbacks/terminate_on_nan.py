"""TerminateOnNaN: stops training at the first NaN or infinite loss."""
import math

from .._progress import print_message
from .callback import Callback


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
