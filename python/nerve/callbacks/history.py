"""History: records each epoch's logs on the model."""
from typing import Dict

from .callback import Callback


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
