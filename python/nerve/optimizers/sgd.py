"""SGD: stochastic gradient descent, with optional (Nesterov) momentum."""
from typing import Any, Optional

from ._checks import _number
from .optimizer import _LearningRate, Optimizer


class SGD(Optimizer):
    """Stochastic gradient descent, with optional (Nesterov) momentum.

    Args:
        learning_rate: Finite float >= 0 or a schedule, default 0.01.
        momentum: Float in [0, 1], default 0.0 (no velocity slot).
        nesterov: Bool, default False.
        weight_decay: Finite float >= 0 or None, default None.
        clipnorm: Float > 0 or None, default None.
        clipvalue: Float > 0 or None, default None.
        global_clipnorm: Float > 0 or None, default None.
        name: Str, default "SGD".
        **kwargs: Only the deprecated `lr`.

    Raises:
        ValueError: As Optimizer, or when `momentum` is outside [0, 1].
        TypeError: When a number is not a number.

    Example:
        >>> import nerve
        >>> nerve.optimizers.SGD(learning_rate=0.1, momentum=0.9, nesterov=True)
        SGD(learning_rate=0.1)
    """
    _hyper = ("momentum", "nesterov")

    def __init__(self, learning_rate: _LearningRate = 0.01, momentum: float = 0.0,
                 nesterov: bool = False, weight_decay: Optional[float] = None,
                 clipnorm: Optional[float] = None, clipvalue: Optional[float] = None,
                 global_clipnorm: Optional[float] = None, name: str = "SGD",
                 **kwargs: Any) -> None:
        super().__init__(learning_rate, weight_decay, clipnorm, clipvalue, global_clipnorm, name,
                         **kwargs)
        self.momentum = _number(momentum, "momentum", lambda v: 0 <= v <= 1, "a number in [0, 1]")
        self.nesterov = bool(nesterov)

    def _slot_names(self):
        return ("momentum",) if self.momentum > 0 else ()

    def _bind_update(self, backend, p, g, slots):
        sgd, velocities = backend.sgd_update, (slots[0] if slots else None)
        return lambda lr, step: sgd(p, g, velocities, lr, self.momentum, self.nesterov,
                                    self._weight_decay)
