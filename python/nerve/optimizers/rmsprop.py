"""RMSprop."""
from typing import Any, Optional

from ._checks import _number
from .optimizer import _LearningRate, Optimizer


class RMSprop(Optimizer):
    """RMSprop, optionally with momentum and centered (normalized by the gradient's variance).

    Args:
        learning_rate: Finite float >= 0 or a schedule, default 0.001.
        rho: Float in [0, 1], default 0.9: the decay of the squared-gradient average.
        momentum: Float in [0, 1], default 0.0.
        epsilon: Finite float >= 0, default 1e-7.
        centered: Bool, default False.
        weight_decay: Finite float >= 0 or None, default None.
        clipnorm: Float > 0 or None, default None.
        clipvalue: Float > 0 or None, default None.
        global_clipnorm: Float > 0 or None, default None.
        name: Str, default "rmsprop".
        **kwargs: Only the deprecated `lr`.

    Raises:
        ValueError: As Optimizer, or when rho or momentum is outside [0, 1] or epsilon is
            negative.
        TypeError: When a number is not a number.

    Example:
        >>> import nerve
        >>> nerve.optimizers.RMSprop(centered=True).get_config()["rho"]
        0.9
    """
    _hyper = ("rho", "momentum", "epsilon", "centered")

    def __init__(self, learning_rate: _LearningRate = 0.001, rho: float = 0.9,
                 momentum: float = 0.0, epsilon: float = 1e-7, centered: bool = False,
                 weight_decay: Optional[float] = None, clipnorm: Optional[float] = None,
                 clipvalue: Optional[float] = None, global_clipnorm: Optional[float] = None,
                 name: str = "rmsprop", **kwargs: Any) -> None:
        super().__init__(learning_rate, weight_decay, clipnorm, clipvalue, global_clipnorm, name,
                         **kwargs)
        in_unit = (lambda v: 0 <= v <= 1), "a number in [0, 1]"
        self.rho = _number(rho, "rho", *in_unit)
        self.momentum = _number(momentum, "momentum", *in_unit)
        self.epsilon = _number(epsilon, "epsilon")
        self.centered = bool(centered)

    def _slot_names(self):
        return (("velocity",) + (("momentum",) if self.momentum > 0 else ())
                + (("average_gradient",) if self.centered else ()))

    def _bind_update(self, backend, p, g, slots):
        rmsprop, slots = backend.rmsprop_update, list(slots)
        velocities = slots.pop(0)
        momenta = slots.pop(0) if self.momentum > 0 else None
        averages = slots.pop(0) if self.centered else None
        return lambda lr, step: rmsprop(p, g, velocities, momenta, averages, lr, self.rho,
                                        self.momentum, self.epsilon, self._weight_decay)
