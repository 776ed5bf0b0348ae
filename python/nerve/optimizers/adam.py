"""Adam and AdamW."""
from typing import Any, Optional

from ._checks import _flag, _number
from .optimizer import _LearningRate, Optimizer


class Adam(Optimizer):
    """Adam, optionally AMSGrad (the running maximum of the velocity).

    Args:
        learning_rate: Finite float >= 0 or a schedule, default 0.001.
        beta_1: Float in [0, 1), default 0.9.
        beta_2: Float in [0, 1), default 0.999.
        epsilon: Finite float >= 0, default 1e-7.
        amsgrad: Bool, default False.
        weight_decay: Finite float >= 0 or None, default None.
        clipnorm: Float > 0 or None, default None.
        clipvalue: Float > 0 or None, default None.
        global_clipnorm: Float > 0 or None, default None.
        name: Str, default "adam".
        **kwargs: Only the deprecated `lr`.

    Raises:
        ValueError: As Optimizer, or when a beta is outside [0, 1) or epsilon is negative.
        TypeError: When a number is not a number, or `amsgrad` is not a bool.

    Example:
        >>> import nerve
        >>> nerve.optimizers.Adam(amsgrad=True).get_config()["beta_2"]
        0.999
    """
    _hyper = ("beta_1", "beta_2", "epsilon", "amsgrad")

    def __init__(self, learning_rate: _LearningRate = 0.001, beta_1: float = 0.9,
                 beta_2: float = 0.999, epsilon: float = 1e-7, amsgrad: bool = False,
                 weight_decay: Optional[float] = None, clipnorm: Optional[float] = None,
                 clipvalue: Optional[float] = None, global_clipnorm: Optional[float] = None,
                 name: str = "adam", **kwargs: Any) -> None:
        super().__init__(learning_rate, weight_decay, clipnorm, clipvalue, global_clipnorm, name,
                         **kwargs)
        in_unit = (lambda v: 0 <= v < 1), "a number in [0, 1)"
        self.beta_1 = _number(beta_1, "beta_1", *in_unit)
        self.beta_2 = _number(beta_2, "beta_2", *in_unit)
        self.epsilon = _number(epsilon, "epsilon")
        self.amsgrad = _flag(amsgrad, "amsgrad")

    def _slot_names(self):
        # AMSGrad keeps the running maximum of the velocity (Keras's "velocity_hat").
        return ("momentum", "velocity") + (("velocity_hat",) if self.amsgrad else ())

    def _bind_update(self, backend, p, g, slots):
        adam, (m, v, *v_hat) = backend.adam_update, slots
        v_hat = v_hat[0] if v_hat else None
        return lambda lr, step: adam(p, g, m, v, lr, self.beta_1, self.beta_2, self.epsilon,
                                     step, self._weight_decay, v_hat)


class AdamW(Adam):
    """Adam with decoupled weight decay, 0.004 by default as in Keras.

    Args:
        learning_rate: Finite float >= 0 or a schedule, default 0.001.
        weight_decay: Finite float >= 0 or None, default 0.004.
        beta_1: Float in [0, 1), default 0.9.
        beta_2: Float in [0, 1), default 0.999.
        epsilon: Finite float >= 0, default 1e-7.
        amsgrad: Bool, default False.
        clipnorm: Float > 0 or None, default None.
        clipvalue: Float > 0 or None, default None.
        global_clipnorm: Float > 0 or None, default None.
        name: Str, default "adamw".
        **kwargs: Only the deprecated `lr`.

    Raises:
        ValueError: As Adam.
        TypeError: As Adam.

    Example:
        >>> import nerve
        >>> nerve.optimizers.AdamW().get_config()["weight_decay"]
        0.004
    """

    def __init__(self, learning_rate: _LearningRate = 0.001,
                 weight_decay: Optional[float] = 0.004, beta_1: float = 0.9,
                 beta_2: float = 0.999, epsilon: float = 1e-7, amsgrad: bool = False,
                 clipnorm: Optional[float] = None, clipvalue: Optional[float] = None,
                 global_clipnorm: Optional[float] = None, name: str = "adamw",
                 **kwargs: Any) -> None:
        super().__init__(learning_rate, beta_1, beta_2, epsilon, amsgrad, weight_decay, clipnorm,
                         clipvalue, global_clipnorm, name, **kwargs)
