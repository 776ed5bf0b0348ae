"""Adagrad."""
from typing import Any, Optional

from ._checks import _number
from .optimizer import _LearningRate, Optimizer


class Adagrad(Optimizer):
    """Adagrad: each parameter's rate divided by the root of its summed squared gradients.

    Args:
        learning_rate: Finite float >= 0 or a schedule, default 0.001.
        initial_accumulator_value: Finite float >= 0, default 0.1: the sums' start.
        epsilon: Finite float >= 0, default 1e-7.
        weight_decay: Finite float >= 0 or None, default None.
        clipnorm: Float > 0 or None, default None.
        clipvalue: Float > 0 or None, default None.
        global_clipnorm: Float > 0 or None, default None.
        name: Str, default "adagrad".
        **kwargs: Only the deprecated `lr`.

    Raises:
        ValueError: As Optimizer, or when initial_accumulator_value or epsilon is negative.
        TypeError: When a number is not a number.

    Example:
        >>> import nerve
        >>> nerve.optimizers.Adagrad().get_config()["initial_accumulator_value"]
        0.1
    """
    _hyper = ("initial_accumulator_value", "epsilon")

    def __init__(self, learning_rate: _LearningRate = 0.001,
                 initial_accumulator_value: float = 0.1, epsilon: float = 1e-7,
                 weight_decay: Optional[float] = None, clipnorm: Optional[float] = None,
                 clipvalue: Optional[float] = None, global_clipnorm: Optional[float] = None,
                 name: str = "adagrad", **kwargs: Any) -> None:
        super().__init__(learning_rate, weight_decay, clipnorm, clipvalue, global_clipnorm, name,
                         **kwargs)
        self.initial_accumulator_value = _number(initial_accumulator_value,
                                                 "initial_accumulator_value")
        self.epsilon = _number(epsilon, "epsilon")

    def _slot_names(self):
        return ("accumulator",)

    def _slot_initial_value(self, name):
        return self.initial_accumulator_value

    def _bind_update(self, backend, p, g, slots):
        adagrad, (accumulators,) = backend.adagrad_update, slots
        return lambda lr, step: adagrad(p, g, accumulators, lr, self.epsilon,
                                        self._weight_decay)
