"""Optimizers (keras.optimizers) with Keras 3 defaults, and learning-rate schedules
(nerve.optimizers.schedules).

A model keeps all its trainable parameters in one flat buffer, so an optimizer's state is one
flat buffer per slot (Adam: m and v) and a training step is one backend call.
"""
import math
import sys
import types
import warnings
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple, Type, TypeVar, Union

import numpy as np

from .. import _interrupts, utils
from .._typing import ArrayLike, DTypeLike

__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "schedules", "get",
           "serialize", "deserialize"]


# ---- learning-rate schedules ----------------------------------------------------------------

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


def _flag(value, name):
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name}: expected True or False, received {value!r}")
    return bool(value)


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
# A module object, so both `nerve.optimizers.schedules.CosineDecay` and
# `from nerve.optimizers.schedules import CosineDecay` work as in Keras.
schedules = types.ModuleType(__package__ + ".schedules", "Learning-rate schedules.")
for _cls in _SCHEDULES:
    setattr(schedules, _cls.__name__, _cls)
schedules.serialize = utils.serialize  # type: ignore[attr-defined]


def _get_schedule(identifier: Union[str, LearningRateSchedule, Dict[str, Any], type]
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


schedules.deserialize = schedules.get = _get_schedule  # type: ignore[attr-defined]
sys.modules[schedules.__name__] = schedules


# A learning rate as the optimizers take it: a float, a schedule or a schedule's config.
_LearningRate = Union[float, LearningRateSchedule, Dict[str, Any]]
_Self = TypeVar("_Self", bound="Optimizer")


# ---- optimizers -----------------------------------------------------------------------------

def _number(value, name, ok=lambda v: v >= 0, expected="a finite number >= 0"):
    try:
        value = float(value)
    except (TypeError, ValueError):
        raise TypeError(f"{name}: expected a number, received {type(value).__name__}") from None
    if not (math.isfinite(value) and ok(value)):
        raise ValueError(f"{name}: expected {expected}, received {value!r}")
    return value


def _optional_positive(value, name):
    return None if value is None else _number(value, name, lambda v: v > 0, "a number > 0")


class Optimizer:
    """Base class of nerve's optimizers (keras.optimizers.Optimizer).

    It holds the learning rate (a float or a schedule), decoupled weight decay and gradient
    clipping. A model keeps its trainable parameters in one flat buffer, so the optimizer's
    state is one flat buffer per slot (Adam: momentum and velocity) and a training step is one
    backend call; the slots are created when the model is built and compiled.

    Args:
        learning_rate: Finite float >= 0, a LearningRateSchedule or a schedule's config dict,
            default 0.001.
        weight_decay: Finite float >= 0 or None, default None (no decay): each step also
            subtracts learning_rate * weight_decay * w.
        clipnorm: Float > 0 or None, default None: each variable's gradient is scaled to at most
            this L2 norm.
        clipvalue: Float > 0 or None, default None: gradients are clipped element-wise to
            [-clipvalue, clipvalue].
        global_clipnorm: Float > 0 or None, default None: all gradients together are scaled to
            at most this L2 norm.
        name: Str or None, default None (the class name in lower case).
        **kwargs: Only `lr`, the deprecated name of learning_rate (a DeprecationWarning).

    Raises:
        ValueError: When an argument is unknown, both clipnorm and global_clipnorm are given,
            or a number is out of its range or not finite.
        TypeError: When a number is not a number.

    Example:
        >>> import numpy as np, nerve
        >>> nerve.utils.set_random_seed(0)
        >>> model = nerve.Sequential([nerve.Input((3,)), nerve.layers.Dense(1)])
        >>> optimizer = nerve.optimizers.SGD(learning_rate=0.1, clipnorm=1.0)
        >>> model.compile(optimizer=optimizer, loss="mse")
        >>> _ = model.fit(np.ones((4, 3)), np.ones((4, 1)), epochs=1, batch_size=2, verbose=0)
        >>> optimizer.iterations
        2
    """

    _hyper: Tuple[str, ...] = ()  # subclass constructor arguments, in get_config order
    _slots: Any  # None until build(), then one flat array per slot
    _schedule: Optional[LearningRateSchedule]
    _learning_rate: Optional[float]

    def __init__(self, learning_rate: _LearningRate = 0.001,
                 weight_decay: Optional[float] = None, clipnorm: Optional[float] = None,
                 clipvalue: Optional[float] = None, global_clipnorm: Optional[float] = None,
                 name: Optional[str] = None, **kwargs: Any) -> None:
        if "lr" in kwargs:
            warnings.warn("`lr` is deprecated, use `learning_rate`", DeprecationWarning,
                          stacklevel=3)
            learning_rate = kwargs.pop("lr")
        if kwargs:
            raise ValueError(f"Unknown argument(s) for {type(self).__name__}: "
                             f"{', '.join(sorted(kwargs))}")
        if clipnorm is not None and global_clipnorm is not None:
            raise ValueError("clipnorm and global_clipnorm: expected at most one of them")
        self.learning_rate = learning_rate
        self.weight_decay = weight_decay
        self._weight_decay = _number(weight_decay or 0.0, "weight_decay")
        self.clipnorm = _optional_positive(clipnorm, "clipnorm")
        self.clipvalue = _optional_positive(clipvalue, "clipvalue")
        self.global_clipnorm = _optional_positive(global_clipnorm, "global_clipnorm")
        self.name = name or type(self).__name__.lower()
        self.iterations = 0
        self._slots = None

    # -- learning rate: a float (settable by callbacks) or a schedule of the iteration count
    @property
    def learning_rate(self) -> Union[float, LearningRateSchedule]:
        """The learning rate: a float, or the LearningRateSchedule it was given.

        Setting it (callbacks do) takes a finite float >= 0, a schedule or a schedule's config
        dict; TypeError or ValueError otherwise.
        """
        return self._schedule or self._learning_rate  # type: ignore[return-value]

    @learning_rate.setter
    def learning_rate(self, value: _LearningRate) -> None:
        if isinstance(value, dict):
            value = schedules.deserialize(value)
        if isinstance(value, LearningRateSchedule):
            self._schedule, self._learning_rate = value, None
        else:
            self._schedule = None
            self._learning_rate = _number(value, "learning_rate")

    lr = learning_rate  # the Keras 2 name, still used by old callbacks

    def current_learning_rate(self) -> float:
        """The rate the next step uses: the schedule's value at `iterations`, or the float.

        Returns:
            A float.

        Example:
            >>> import nerve
            >>> schedule = nerve.optimizers.schedules.ExponentialDecay(0.1, 10, 0.5)
            >>> nerve.optimizers.Adam(learning_rate=schedule).current_learning_rate()
            0.1
        """
        if self._schedule is None:
            return self._learning_rate  # type: ignore[return-value]
        return float(self._schedule(self.iterations))

    # -- state: one flat buffer per slot, created when the model is built and compiled
    def _slot_names(self):
        return ()

    def build(self, size: int, dtype: DTypeLike) -> None:
        """Create the slots, one flat buffer each (a model calls this once it is built).

        Args:
            size: Int, the number of trainable parameters.
            dtype: Their dtype.

        Example:
            >>> import nerve
            >>> optimizer = nerve.optimizers.Adam()
            >>> optimizer.build(3, "float32")
            >>> [slot.shape for slot in optimizer.get_state()]
            [(), (3,), (3,)]
        """
        self._slots = [np.full(size, self._slot_initial_value(name), dtype=dtype)
                       for name in self._slot_names()]

    def _slot_initial_value(self, name):
        return 0.0

    @property
    def built(self) -> bool:
        """Whether the slots exist (the optimizer's model was built)."""
        return self._slots is not None

    def get_state(self) -> List[np.ndarray]:
        """The iteration count and the slots, as copies.

        Returns:
            A list [iterations (an int64 array of shape ()), *slots]; [] before build.

        Example:
            >>> import nerve
            >>> optimizer = nerve.optimizers.SGD(momentum=0.9)
            >>> optimizer.get_state()
            []
            >>> optimizer.build(2, "float32")
            >>> optimizer.get_state()
            [array(0), array([0., 0.], dtype=float32)]
        """
        if self._slots is None:
            return []
        return [np.array(self.iterations, dtype=np.int64)] + [s.copy() for s in self._slots]

    def set_state(self, state: Sequence[ArrayLike]) -> None:
        """Restore what get_state returned (nothing changes when a check fails).

        Args:
            state: Sequence of arrays: the iteration count, then one array per slot, of the
                slots' shapes.

        Raises:
            ValueError: When the optimizer is not built yet, the number of arrays or a shape
                differs, or the iteration count is negative.

        Example:
            >>> import nerve
            >>> optimizer = nerve.optimizers.SGD(momentum=0.9)
            >>> optimizer.build(2, "float32")
            >>> optimizer.set_state([5, [1.0, 2.0]])
            >>> optimizer.iterations
            5
        """
        self._require_built()
        state = list(state)
        expected = [()] + [s.shape for s in self._slots]
        if len(state) != len(expected):
            raise ValueError(f"state: expected {len(expected)} arrays for {self.name} "
                             f"(iterations and {', '.join(self._slot_names()) or 'no slots'}), "
                             f"received {len(state)}")
        arrays = [np.asarray(a) for a in state]
        for i, (array, shape) in enumerate(zip(arrays, expected)):
            if array.shape != shape:
                raise ValueError(f"state[{i}]: expected shape {shape}, received {array.shape}")
        iterations = int(arrays[0])
        if iterations < 0:
            raise ValueError(f"state[0]: expected iterations >= 0, received {iterations}")
        with _interrupts.deferred():  # Ctrl-C cannot restore some slots and not the others
            for slot, array in zip(self._slots, arrays[1:]):
                slot[...] = array
            self.iterations = iterations

    def _require_built(self):
        if self._slots is None:
            raise ValueError(f"{self.name} has no state yet: compile a model with it and build "
                             f"the model (fit, build or an input shape) first")

    # -- the training step
    def bind(self, backend: Any, params: np.ndarray, grads: np.ndarray,
             variable_grads: Sequence[np.ndarray]) -> Callable[[], None]:
        """A function running one training step over the flat buffers (models call this).

        The step clips the gradients, applies weight decay and the update, and counts the
        iteration.

        Args:
            backend: The backend module (nerve.backend.get_backend()).
            params: The flat parameter buffer, updated in place.
            grads: The flat gradient buffer (clipped in place).
            variable_grads: The per-variable views of `grads`, for clipnorm.

        Returns:
            A function of no arguments.

        Example:
            >>> import numpy as np, nerve
            >>> optimizer = nerve.optimizers.SGD(learning_rate=0.5)
            >>> params, grads = np.ones(2, "float32"), np.ones(2, "float32")
            >>> optimizer.build(2, "float32")
            >>> optimizer.bind(nerve.get_backend(), params, grads, [grads])()
            >>> params
            array([0.5, 0.5], dtype=float32)
        """
        clip = self._bind_clipping(backend, grads, variable_grads)
        # _bind_update: each subclass's own
        update = self._bind_update(  # type: ignore[attr-defined]
            backend, [params], [grads], [[s] for s in self._slots])

        def step():
            if clip is not None:
                clip()
            iterations = self.iterations
            schedule = self._schedule
            lr = self._learning_rate if schedule is None else float(schedule(iterations))
            update(lr, iterations + 1)
            self.iterations = iterations + 1
        return step

    def _bind_clipping(self, backend, grads, variable_grads):
        steps = []
        if self.clipnorm is not None:
            clip_norm, singles = backend.clip_by_global_norm, [[g] for g in variable_grads]
            steps.append(lambda: [clip_norm(single, self.clipnorm) for single in singles])
        if self.global_clipnorm is not None:
            clip_global, all_grads = backend.clip_by_global_norm, [grads]
            steps.append(lambda: clip_global(all_grads, self.global_clipnorm))
        if self.clipvalue is not None:
            clip_value, all_grads = backend.clip_by_value, [grads]
            steps.append(lambda: clip_value(all_grads, self.clipvalue))
        if not steps:
            return None
        return steps[0] if len(steps) == 1 else lambda: [s() for s in steps]

    # -- serialization
    def get_config(self) -> Dict[str, Any]:
        """The constructor arguments, as Keras writes them (a schedule as its serialized dict).

        Returns:
            A new dict.

        Example:
            >>> import nerve
            >>> nerve.optimizers.SGD(momentum=0.9).get_config()["momentum"]
            0.9
        """
        learning_rate = (utils.serialize(self._schedule) if self._schedule is not None
                         else self._learning_rate)
        config = {"name": self.name, "learning_rate": learning_rate,
                  "weight_decay": self.weight_decay, "clipnorm": self.clipnorm,
                  "global_clipnorm": self.global_clipnorm, "clipvalue": self.clipvalue}
        config.update((key, getattr(self, key)) for key in self._hyper)
        return config

    @classmethod
    def from_config(cls: Type[_Self], config: Dict[str, Any]) -> _Self:
        """An optimizer made from a get_config dict.

        Args:
            config: Dict of constructor arguments.

        Returns:
            A new optimizer.

        Raises:
            ValueError: When an argument is unknown or out of its range.

        Example:
            >>> import nerve
            >>> config = nerve.optimizers.Adam(learning_rate=0.01).get_config()
            >>> nerve.optimizers.Adam.from_config(config).learning_rate
            0.01
        """
        return cls(**config)

    def __repr__(self):
        return f"{type(self).__name__}(learning_rate={self.learning_rate!r})"


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


_CLASSES = (SGD, Adam, AdamW, RMSprop, Adagrad)
_REGISTRY = {**{cls.__name__: cls for cls in _CLASSES},
             **{cls.__name__.lower(): cls for cls in _CLASSES}}


serialize = utils.serialize


def get(identifier: Union[str, "Optimizer", Dict[str, Any], type]) -> "Optimizer":
    """An Optimizer from an identifier, as Keras's optimizers.get.

    Args:
        identifier: A name ("adam", "SGD", "rmsprop", ...; made with its defaults), an
            Optimizer (returned as is), an Optimizer subclass (instantiated) or a
            {"class_name", "config"} dict (as serialize writes).

    Returns:
        An Optimizer.

    Raises:
        ValueError: When the name is unknown or the dict lacks "class_name".
        TypeError: When `identifier` is none of these.

    Example:
        >>> import nerve
        >>> nerve.optimizers.get("adam")
        Adam(learning_rate=0.001)
        >>> nerve.optimizers.get({"class_name": "SGD", "config": {"learning_rate": 0.1}})
        SGD(learning_rate=0.1)
    """
    return utils.lookup(identifier, _REGISTRY, "optimizer", Optimizer)


deserialize = get
