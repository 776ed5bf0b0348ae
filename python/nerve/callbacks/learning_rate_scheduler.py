"""LearningRateScheduler: sets the learning rate at each epoch from a schedule."""
import inspect
import math
import numbers
from typing import Callable

from .._progress import print_message
from .callback import Callback


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
