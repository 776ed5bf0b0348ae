"""Optimizers (keras.optimizers) with Keras 3 defaults, and learning-rate schedules
(nerve.optimizers.schedules).

A model keeps all its trainable parameters in one flat buffer, so an optimizer's state is one
flat buffer per slot (Adam: m and v) and a training step is one backend call.
"""
import math
import sys
import types
import warnings

import numpy as np

from . import _interrupts, utils

__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "schedules", "get",
           "serialize", "deserialize"]


# ---- learning-rate schedules ----------------------------------------------------------------

class LearningRateSchedule(utils.Configurable):
    """Called with the optimizer's iteration count (0 for the first step), returns the rate.
    The built-in ones check every argument when made, rates as a plain rate is checked
    (finite, >= 0: a negative one would train uphill), so none fails or misleads mid-fit."""

    def __call__(self, step):
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
    _config_keys = ("initial_learning_rate", "decay_steps", "decay_rate", "staircase", "name")

    def __init__(self, initial_learning_rate, decay_steps, decay_rate, staircase=False,
                 name="ExponentialDecay"):
        self.initial_learning_rate = _number(initial_learning_rate, "initial_learning_rate")
        self.decay_steps = _decay_steps(decay_steps)
        self.decay_rate = _number(decay_rate, "decay_rate", lambda v: v > 0, "a finite number > 0")
        self.staircase, self.name = _flag(staircase, "staircase"), name

    def __call__(self, step):
        fraction = _decay_fraction(step, self.decay_steps, self.staircase)
        return self.initial_learning_rate * self.decay_rate ** fraction


class InverseTimeDecay(ExponentialDecay):
    _config_keys = ExponentialDecay._config_keys

    def __init__(self, initial_learning_rate, decay_steps, decay_rate, staircase=False,
                 name="InverseTimeDecay"):
        super().__init__(initial_learning_rate, decay_steps, decay_rate, staircase, name)

    def __call__(self, step):
        fraction = _decay_fraction(step, self.decay_steps, self.staircase)
        return self.initial_learning_rate / (1 + self.decay_rate * fraction)


class PiecewiseConstantDecay(LearningRateSchedule):
    """values[0] up to boundaries[0] (inclusive), values[1] up to boundaries[1], ..."""

    _config_keys = ("boundaries", "values", "name")

    def __init__(self, boundaries, values, name="PiecewiseConstant"):
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
    _config_keys = ("initial_learning_rate", "decay_steps", "end_learning_rate", "power", "name")

    def __init__(self, initial_learning_rate, decay_steps, end_learning_rate=0.0001, power=1.0,
                 name="PolynomialDecay"):
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
    """Optional linear warmup to warmup_target, then cosine decay to alpha * the peak."""

    _config_keys = ("initial_learning_rate", "decay_steps", "alpha", "name", "warmup_target",
                    "warmup_steps")

    def __init__(self, initial_learning_rate, decay_steps, alpha=0.0, name="CosineDecay",
                 warmup_target=None, warmup_steps=0):
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
schedules = types.ModuleType(__name__ + ".schedules", "Learning-rate schedules.")
for _cls in _SCHEDULES:
    setattr(schedules, _cls.__name__, _cls)
schedules.serialize = utils.serialize
schedules.deserialize = schedules.get = lambda identifier: utils.lookup(
    identifier, {c.__name__: c for c in _SCHEDULES[1:]}, "learning-rate schedule",
    LearningRateSchedule)
sys.modules[schedules.__name__] = schedules


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
    """Base: learning rate (float or schedule), decoupled weight decay and gradient clipping
    (clipnorm per variable, global_clipnorm over all, clipvalue element-wise)."""

    _hyper = ()  # subclass constructor arguments, in get_config order

    def __init__(self, learning_rate=0.001, weight_decay=None, clipnorm=None, clipvalue=None,
                 global_clipnorm=None, name=None, **kwargs):
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
    def learning_rate(self):
        return self._schedule or self._learning_rate

    @learning_rate.setter
    def learning_rate(self, value):
        if isinstance(value, dict):
            value = schedules.deserialize(value)
        if isinstance(value, LearningRateSchedule):
            self._schedule, self._learning_rate = value, None
        else:
            self._schedule = None
            self._learning_rate = _number(value, "learning_rate")

    lr = learning_rate  # the Keras 2 name, still used by old callbacks

    def current_learning_rate(self):
        """The rate the next step uses."""
        if self._schedule is None:
            return self._learning_rate
        return float(self._schedule(self.iterations))

    # -- state: one flat buffer per slot, created when the model is built and compiled
    def _slot_names(self):
        return ()

    def build(self, size, dtype):
        """Create zeroed slots for `size` parameters (a model calls this once it knows them)."""
        self._slots = [np.full(size, self._slot_initial_value(name), dtype=dtype)
                       for name in self._slot_names()]

    def _slot_initial_value(self, name):
        return 0.0

    @property
    def built(self):
        return self._slots is not None

    def get_state(self):
        """[iterations, *slots] as NumPy arrays (copies); [] before the model is built."""
        if self._slots is None:
            return []
        return [np.array(self.iterations, dtype=np.int64)] + [s.copy() for s in self._slots]

    def set_state(self, state):
        """Restore what get_state returned; ValueError (nothing changed) on a mismatch."""
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
    def bind(self, backend, params, grads, variable_grads):
        """A function running one step over the flat `params` with `grads` (clipping,
        weight decay, update); `variable_grads` are the per-variable views for clipnorm."""
        clip = self._bind_clipping(backend, grads, variable_grads)
        update = self._bind_update(backend, [params], [grads], [[s] for s in self._slots])

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
    def get_config(self):
        learning_rate = (utils.serialize(self._schedule) if self._schedule is not None
                         else self._learning_rate)
        config = {"name": self.name, "learning_rate": learning_rate,
                  "weight_decay": self.weight_decay, "clipnorm": self.clipnorm,
                  "global_clipnorm": self.global_clipnorm, "clipvalue": self.clipvalue}
        config.update((key, getattr(self, key)) for key in self._hyper)
        return config

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __repr__(self):
        return f"{type(self).__name__}(learning_rate={self.learning_rate!r})"


class SGD(Optimizer):
    _hyper = ("momentum", "nesterov")

    def __init__(self, learning_rate=0.01, momentum=0.0, nesterov=False, weight_decay=None,
                 clipnorm=None, clipvalue=None, global_clipnorm=None, name="SGD", **kwargs):
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
    _hyper = ("beta_1", "beta_2", "epsilon", "amsgrad")

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7,
                 amsgrad=False, weight_decay=None, clipnorm=None, clipvalue=None,
                 global_clipnorm=None, name="adam", **kwargs):
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
    """Adam with decoupled weight decay (0.004 by default, as Keras)."""

    def __init__(self, learning_rate=0.001, weight_decay=0.004, beta_1=0.9, beta_2=0.999,
                 epsilon=1e-7, amsgrad=False, clipnorm=None, clipvalue=None,
                 global_clipnorm=None, name="adamw", **kwargs):
        super().__init__(learning_rate, beta_1, beta_2, epsilon, amsgrad, weight_decay, clipnorm,
                         clipvalue, global_clipnorm, name, **kwargs)


class RMSprop(Optimizer):
    _hyper = ("rho", "momentum", "epsilon", "centered")

    def __init__(self, learning_rate=0.001, rho=0.9, momentum=0.0, epsilon=1e-7, centered=False,
                 weight_decay=None, clipnorm=None, clipvalue=None, global_clipnorm=None,
                 name="rmsprop", **kwargs):
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
    _hyper = ("initial_accumulator_value", "epsilon")

    def __init__(self, learning_rate=0.001, initial_accumulator_value=0.1, epsilon=1e-7,
                 weight_decay=None, clipnorm=None, clipvalue=None, global_clipnorm=None,
                 name="adagrad", **kwargs):
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


def get(identifier):
    """An Optimizer from a name ("adam", "SGD"), an instance or a config dict."""
    return utils.lookup(identifier, _REGISTRY, "optimizer", Optimizer)


deserialize = get
