"""Learning-rate schedules (keras.optimizers.schedules): the learning rate as a function of
the step.
"""
import math
from typing import Any, Dict, Optional, Sequence, Union

import numpy as np

from .. import utils
from ._checks import _flag, _number


class LearningRateSchedule(utils.Configurable):
    """Base class of learning-rate schedules (keras.optimizers.schedules).

    An optimizer given a schedule as its learning_rate calls it with its iteration count
    before each step (0 for the first step). The built-in schedules check every argument when
    made, the rates as a plain rate is checked (finite, >= 0: a negative one would train
    uphill), so none fails or misleads mid-fit. A subclass defines __call__; get_config and
    from_config come from the constructor arguments named in `_config_keys`.

    Example:
        >>> import nerve
        >>> class Halving(nerve.optimizers.schedules.LearningRateSchedule):
        ...     def __call__(self, step):
        ...         return 0.1 / 2 ** step
        >>> optimizer = nerve.optimizers.SGD(learning_rate=Halving())
        >>> optimizer.current_learning_rate()
        0.1
    """

    def __call__(self, step: int) -> float:
        """The learning rate of step `step`.

        Args:
            step: Int >= 0, the optimizer's iteration count.

        Returns:
            The rate, a float.

        Raises:
            NotImplementedError: On the base class, which has no schedule.

        Example:
            >>> import nerve
            >>> nerve.optimizers.schedules.ExponentialDecay(0.1, 10, 0.5)(20)
            0.025
        """
        raise NotImplementedError


def _decay_fraction(step, decay_steps, staircase):
    fraction = step / decay_steps
    return math.floor(fraction) if staircase else fraction


def _decay_steps(value):
    """An int >= 1; a whole float too (Keras code writes decay_steps=1e4), not 2.5 or True."""
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        value = int(value)
    return utils.count_argument(value, "decay_steps", 1)


class ExponentialDecay(LearningRateSchedule):
    """initial_learning_rate * decay_rate ** (step / decay_steps).

    Args:
        initial_learning_rate: Finite float >= 0.
        decay_steps: Int >= 1 (a whole float such as 1e4 is accepted).
        decay_rate: Finite float > 0.
        staircase: Bool, default False: whether step / decay_steps is rounded down (the rate
            then drops every decay_steps steps).
        name: Str, default "ExponentialDecay".

    Raises:
        TypeError: When a rate is not a number, or `staircase` is not a bool.
        ValueError: When a rate is out of its range or not finite, or `decay_steps` is not an
            int >= 1.

    Example:
        >>> import nerve
        >>> schedule = nerve.optimizers.schedules.ExponentialDecay(0.1, 10, 0.5, staircase=True)
        >>> schedule(0), schedule(9), schedule(10)
        (0.1, 0.1, 0.05)
    """
    _config_keys = ("initial_learning_rate", "decay_steps", "decay_rate", "staircase", "name")

    def __init__(self, initial_learning_rate: float, decay_steps: int, decay_rate: float,
                 staircase: bool = False, name: str = "ExponentialDecay") -> None:
        self.initial_learning_rate = _number(initial_learning_rate, "initial_learning_rate")
        self.decay_steps = _decay_steps(decay_steps)
        self.decay_rate = _number(decay_rate, "decay_rate", lambda v: v > 0, "a finite number > 0")
        self.staircase, self.name = _flag(staircase, "staircase"), name

    def __call__(self, step):
        fraction = _decay_fraction(step, self.decay_steps, self.staircase)
        return self.initial_learning_rate * self.decay_rate ** fraction


class InverseTimeDecay(ExponentialDecay):
    """initial_learning_rate / (1 + decay_rate * step / decay_steps).

    Args:
        initial_learning_rate: Finite float >= 0.
        decay_steps: Int >= 1 (a whole float such as 1e4 is accepted).
        decay_rate: Finite float > 0.
        staircase: Bool, default False: whether step / decay_steps is rounded down.
        name: Str, default "InverseTimeDecay".

    Raises:
        TypeError: When a rate is not a number, or `staircase` is not a bool.
        ValueError: When a rate is out of its range or not finite, or `decay_steps` is not an
            int >= 1.

    Example:
        >>> import nerve
        >>> nerve.optimizers.schedules.InverseTimeDecay(0.1, 10, 1.0)(10)
        0.05
    """
    _config_keys = ExponentialDecay._config_keys

    def __init__(self, initial_learning_rate: float, decay_steps: int, decay_rate: float,
                 staircase: bool = False, name: str = "InverseTimeDecay") -> None:
        super().__init__(initial_learning_rate, decay_steps, decay_rate, staircase, name)

    def __call__(self, step):
        fraction = _decay_fraction(step, self.decay_steps, self.staircase)
        return self.initial_learning_rate / (1 + self.decay_rate * fraction)


class PiecewiseConstantDecay(LearningRateSchedule):
    """A constant rate per interval of steps.

    The rate is values[0] up to boundaries[0] (inclusive), values[1] up to boundaries[1], and
    values[-1] after the last boundary.

    Args:
        boundaries: Sequence of increasing finite numbers (step counts).
        values: Sequence of len(boundaries) + 1 finite rates >= 0.
        name: Str, default "PiecewiseConstant".

    Raises:
        TypeError: When a boundary or value is not a number.
        ValueError: When the lengths do not match, the boundaries do not increase, or a
            value is negative or not finite.

    Example:
        >>> import nerve
        >>> schedules = nerve.optimizers.schedules
        >>> schedule = schedules.PiecewiseConstantDecay([10, 20], [0.1, 0.01, 0.001])
        >>> schedule(10), schedule(11), schedule(25)
        (0.1, 0.01, 0.001)
    """

    _config_keys = ("boundaries", "values", "name")

    def __init__(self, boundaries: Sequence[float], values: Sequence[float],
                 name: str = "PiecewiseConstant") -> None:
        boundaries, values = list(boundaries), list(values)
        if len(values) != len(boundaries) + 1:
            raise ValueError(f"values: expected len(boundaries) + 1 = {len(boundaries) + 1} "
                             f"values, received {len(values)}")
        bounds = [_number(b, f"boundaries[{i}]", lambda v: True, "a finite number")
                  for i, b in enumerate(boundaries)]
        if any(later <= earlier for earlier, later in zip(bounds, bounds[1:])):
            raise ValueError(f"boundaries: expected increasing step counts, received "
                             f"{boundaries!r}")
        self.boundaries, self.name = boundaries, name
        self.values = [_number(v, f"values[{i}]") for i, v in enumerate(values)]

    def __call__(self, step):
        for boundary, value in zip(self.boundaries, self.values):
            if step <= boundary:
                return value
        return self.values[-1]


class PolynomialDecay(LearningRateSchedule):
    """A polynomial decay from initial_learning_rate to end_learning_rate in decay_steps.

    The rate is (initial - end) * (1 - min(step, decay_steps) / decay_steps) ** power + end.

    Args:
        initial_learning_rate: Finite float >= 0.
        decay_steps: Int >= 1 (a whole float such as 1e4 is accepted).
        end_learning_rate: Finite float >= 0, default 0.0001.
        power: Finite float > 0, default 1.0 (linear).
        name: Str, default "PolynomialDecay".

    Raises:
        TypeError: When a rate or `power` is not a number.
        ValueError: When one is out of its range or not finite, or `decay_steps` is not an int
            >= 1.

    Example:
        >>> import nerve
        >>> schedule = nerve.optimizers.schedules.PolynomialDecay(0.1, 10, end_learning_rate=0.0)
        >>> schedule(5), schedule(100)
        (0.05, 0.0)
    """
    _config_keys = ("initial_learning_rate", "decay_steps", "end_learning_rate", "power", "name")

    def __init__(self, initial_learning_rate: float, decay_steps: int,
                 end_learning_rate: float = 0.0001, power: float = 1.0,
                 name: str = "PolynomialDecay") -> None:
        self.initial_learning_rate = _number(initial_learning_rate, "initial_learning_rate")
        self.decay_steps = _decay_steps(decay_steps)
        self.end_learning_rate = _number(end_learning_rate, "end_learning_rate")
        # power > 0: 0 ** power at the end of the decay is a ZeroDivisionError otherwise
        self.power = _number(power, "power", lambda v: v > 0, "a finite number > 0")
        self.name = name

    def __call__(self, step):
        remaining = 1 - min(step, self.decay_steps) / self.decay_steps
        span = self.initial_learning_rate - self.end_learning_rate
        return span * remaining ** self.power + self.end_learning_rate


class CosineDecay(LearningRateSchedule):
    """An optional linear warmup, then a cosine decay (keras.optimizers.schedules.CosineDecay).

    For warmup_steps steps the rate rises linearly from initial_learning_rate to
    warmup_target; then it follows a half cosine over decay_steps from the peak (warmup_target,
    or initial_learning_rate without a warmup) down to alpha * the peak, and stays there.

    Args:
        initial_learning_rate: Finite float >= 0.
        decay_steps: Int >= 1 (a whole float such as 1e4 is accepted).
        alpha: Float in [0, 1], default 0.0: the final rate as a fraction of the peak.
        name: Str, default "CosineDecay".
        warmup_target: Finite float >= 0 or None, default None (no warmup).
        warmup_steps: Int >= 0, default 0.

    Raises:
        TypeError: When a rate or `alpha` is not a number.
        ValueError: When one is out of its range or not finite, or `decay_steps` or
            `warmup_steps` is not an int in its range.

    Example:
        >>> import nerve
        >>> schedule = nerve.optimizers.schedules.CosineDecay(0.0, 10, warmup_target=0.1,
        ...                                                   warmup_steps=5)
        >>> round(schedule(0), 6), round(schedule(5), 6), round(schedule(10), 6)
        (0.0, 0.1, 0.05)
    """

    _config_keys = ("initial_learning_rate", "decay_steps", "alpha", "name", "warmup_target",
                    "warmup_steps")

    def __init__(self, initial_learning_rate: float, decay_steps: int, alpha: float = 0.0,
                 name: str = "CosineDecay", warmup_target: Optional[float] = None,
                 warmup_steps: int = 0) -> None:
        self.initial_learning_rate = _number(initial_learning_rate, "initial_learning_rate")
        self.decay_steps = _decay_steps(decay_steps)
        self.alpha = _number(alpha, "alpha", lambda v: 0 <= v <= 1, "a number in [0, 1]")
        self.name = name
        self.warmup_target = (None if warmup_target is None
                              else _number(warmup_target, "warmup_target"))
        self.warmup_steps = utils.count_argument(warmup_steps, "warmup_steps", 0)

    def __call__(self, step):
        peak = self.initial_learning_rate if self.warmup_target is None else self.warmup_target
        if step < self.warmup_steps:
            return self.initial_learning_rate + (peak - self.initial_learning_rate) * (
                step / self.warmup_steps)
        completed = min(step - self.warmup_steps, self.decay_steps) / self.decay_steps
        cosine = 0.5 * (1 + math.cos(math.pi * completed))
        return peak * ((1 - self.alpha) * cosine + self.alpha)


_SCHEDULES = (LearningRateSchedule, ExponentialDecay, InverseTimeDecay, PiecewiseConstantDecay,
              PolynomialDecay, CosineDecay)


def get(identifier: Union[str, LearningRateSchedule, Dict[str, Any], type]
       ) -> LearningRateSchedule:
    """A LearningRateSchedule from an identifier (schedules.get and schedules.deserialize).

    Args:
        identifier: A schedule (returned as is), a {"class_name", "config"} dict (as
            schedules.serialize writes), or a schedule's class name or class (which only
            works for a schedule whose arguments all have defaults).

    Returns:
        A LearningRateSchedule.

    Raises:
        ValueError: When the name is unknown, the dict lacks "class_name", or an argument
            is out of its range.
        TypeError: When `identifier` is none of these, or a required argument is missing.

    Example:
        >>> import nerve
        >>> schedules = nerve.optimizers.schedules
        >>> config = schedules.serialize(schedules.ExponentialDecay(0.1, 10, 0.5))
        >>> schedules.deserialize(config)(10)
        0.05
    """
    return utils.lookup(identifier, {c.__name__: c for c in _SCHEDULES[1:]},
                        "learning-rate schedule", LearningRateSchedule)


deserialize = get
serialize = utils.serialize
