"""Weight constraints (keras.constraints): projections applied to a weight after each
optimizer step. A constraint is any callable w -> projected w (an array of w's shape)."""
import numbers

import numpy as np

from . import utils

__all__ = ["Constraint", "NonNeg", "MaxNorm", "MinMaxNorm", "UnitNorm", "get", "serialize",
           "deserialize"]

_EPSILON = 1e-7  # keras.config.epsilon(): keeps a zero column from dividing by zero


class Constraint(utils.Configurable):
    def __call__(self, w):
        return w


class NonNeg(Constraint):
    """w with its negative entries set to zero."""

    def __call__(self, w):
        return np.maximum(w, 0)


def _axis(axis, owner):
    """An int or a list of ints: the axes whose slices are the columns normed."""
    axes = list(axis) if isinstance(axis, (list, tuple)) else [axis]
    if not axes or not all(isinstance(a, numbers.Integral) and not isinstance(a, bool)
                           for a in axes):
        raise ValueError(f"{owner}: axis expected an int or a list of ints, received {axis!r}")
    return [int(a) for a in axes] if isinstance(axis, (list, tuple)) else int(axis)


def _norms(w, axis):
    return np.sqrt(np.sum(np.square(w), axis=axis, keepdims=True))


class MaxNorm(Constraint):
    """Columns (the slices along `axis`) with an L2 norm above max_value scaled down to it."""

    _config_keys = ("max_value", "axis")

    def __init__(self, max_value=2, axis=0):
        self.max_value = utils.finite_number(max_value, "MaxNorm: max_value")
        self.axis = _axis(axis, "MaxNorm")

    def __call__(self, w):
        norms = _norms(w, self.axis)
        return w * (np.clip(norms, 0, self.max_value) / (_EPSILON + norms))


class MinMaxNorm(Constraint):
    """Norms moved towards [min_value, max_value] by `rate` (1: all the way)."""

    _config_keys = ("min_value", "max_value", "rate", "axis")

    def __init__(self, min_value=0.0, max_value=1.0, rate=1.0, axis=0):
        self.min_value = utils.finite_number(min_value, "MinMaxNorm: min_value")
        self.max_value = utils.finite_number(max_value, "MinMaxNorm: max_value")
        self.rate = utils.finite_number(rate, "MinMaxNorm: rate")
        self.axis = _axis(axis, "MinMaxNorm")

    def __call__(self, w):
        norms = _norms(w, self.axis)
        desired = (self.rate * np.clip(norms, self.min_value, self.max_value)
                   + (1 - self.rate) * norms)
        return w * (desired / (_EPSILON + norms))


class UnitNorm(Constraint):
    _config_keys = ("axis",)

    def __init__(self, axis=0):
        self.axis = _axis(axis, "UnitNorm")

    def __call__(self, w):
        return w / (_EPSILON + _norms(w, self.axis))


_REGISTRY = {"NonNeg": NonNeg, "MaxNorm": MaxNorm, "MinMaxNorm": MinMaxNorm,
             "UnitNorm": UnitNorm, "non_neg": NonNeg, "max_norm": MaxNorm,
             "min_max_norm": MinMaxNorm, "unit_norm": UnitNorm}
serialize = utils.serialize


def get(identifier):
    """A constraint from None, a name ("non_neg"), an instance, a config dict or a callable."""
    if identifier is None:
        return None
    if callable(identifier) and not isinstance(identifier, type):
        return identifier
    return utils.lookup(identifier, _REGISTRY, "constraint", Constraint)


deserialize = get
