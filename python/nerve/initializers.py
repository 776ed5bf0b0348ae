"""Weight initializers (keras.initializers): call one with a shape to get a NumPy array.

Unseeded initializers draw from nerve's generator (nerve.utils.set_random_seed); a seeded one
returns the same values on every call, as in Keras 3.
"""
import math
import numbers
from typing import Any, Dict, Optional, Tuple, Type, Union

import numpy as np

from . import utils
from ._typing import DTypeLike, Shape

__all__ = ["Initializer", "Constant", "Zeros", "Ones", "RandomNormal", "RandomUniform",
           "TruncatedNormal", "VarianceScaling", "GlorotUniform", "GlorotNormal", "HeUniform",
           "HeNormal", "LecunUniform", "LecunNormal", "get", "serialize", "deserialize"]


class Initializer(utils.Configurable):
    def __call__(self, shape: Shape, dtype: DTypeLike = None) -> np.ndarray:
        dtype = utils.standardize_dtype(dtype or utils.floatx())
        return np.asarray(self._values(tuple(shape)), dtype=dtype).reshape(shape)

    def _values(self, shape: Tuple[int, ...]) -> np.ndarray:
        raise NotImplementedError(f"{type(self).__name__} defines no _values(shape)")

    def _generator(self) -> np.random.Generator:
        seed = getattr(self, "seed", None)
        return utils.generator() if seed is None else np.random.default_rng(seed)


def _seed(seed, owner):
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, numbers.Integral)
                             or seed < 0):
        raise ValueError(f"{owner}: seed expected None or an int >= 0, received {seed!r}")
    return seed


class Constant(Initializer):
    _config_keys = ("value",)

    def __init__(self, value: float = 0.0) -> None:
        self.value = utils.finite_number(value, "Constant: value")

    def _values(self, shape):
        return np.full(shape, self.value)


class Zeros(Initializer):
    def _values(self, shape):
        return np.zeros(shape)


class Ones(Initializer):
    def _values(self, shape):
        return np.ones(shape)


class RandomNormal(Initializer):
    _config_keys = ("mean", "stddev", "seed")

    def __init__(self, mean: float = 0.0, stddev: float = 0.05, seed: Optional[int] = None) -> None:
        _normal_arguments(self, mean, stddev, seed)

    def _values(self, shape):
        return self._generator().normal(self.mean, self.stddev, shape)


class RandomUniform(Initializer):
    _config_keys = ("minval", "maxval", "seed")

    def __init__(self, minval: float = -0.05, maxval: float = 0.05,
                 seed: Optional[int] = None) -> None:
        self.minval = utils.finite_number(minval, "RandomUniform: minval")
        self.maxval = utils.finite_number(maxval, "RandomUniform: maxval")
        self.seed = _seed(seed, "RandomUniform")

    def _values(self, shape):
        return self._generator().uniform(self.minval, self.maxval, shape)


def _normal_arguments(initializer, mean, stddev, seed):
    owner = type(initializer).__name__
    initializer.mean = utils.finite_number(mean, f"{owner}: mean")
    initializer.stddev = utils.finite_number(stddev, f"{owner}: stddev")
    initializer.seed = _seed(seed, owner)


def _truncated_normal(generator, stddev, shape):
    """Normal samples redrawn until all lie within two standard deviations."""
    values = generator.standard_normal(shape)
    outside = np.abs(values) > 2.0
    while outside.any():
        values[outside] = generator.standard_normal(int(outside.sum()))
        outside = np.abs(values) > 2.0
    return values * stddev


class TruncatedNormal(Initializer):
    _config_keys = ("mean", "stddev", "seed")

    def __init__(self, mean: float = 0.0, stddev: float = 0.05, seed: Optional[int] = None) -> None:
        _normal_arguments(self, mean, stddev, seed)

    def _values(self, shape):
        return self.mean + _truncated_normal(self._generator(), self.stddev, shape)


def _fans(shape):
    if len(shape) < 1:
        return 1, 1
    if len(shape) == 1:
        return shape[0], shape[0]
    receptive = math.prod(shape[:-2])
    return shape[-2] * receptive, shape[-1] * receptive


class VarianceScaling(Initializer):
    """Samples with variance scale / fan (fan_in, fan_out or their average)."""

    _config_keys: Tuple[str, ...] = ("scale", "mode", "distribution", "seed")
    _MODES = ("fan_in", "fan_out", "fan_avg")
    _DISTRIBUTIONS = ("truncated_normal", "untruncated_normal", "uniform")

    def __init__(self, scale: float = 1.0, mode: str = "fan_in",
                 distribution: str = "truncated_normal", seed: Optional[int] = None) -> None:
        if mode not in self._MODES:
            raise ValueError(f"mode: expected one of {self._MODES}, received {mode!r}")
        if distribution not in self._DISTRIBUTIONS:
            raise ValueError(f"distribution: expected one of {self._DISTRIBUTIONS}, "
                             f"received {distribution!r}")
        if not utils.finite_number(scale, "scale") > 0:
            raise ValueError(f"scale: expected a number > 0, received {scale!r}")
        self.scale, self.mode, self.distribution = float(scale), mode, distribution
        self.seed = _seed(seed, type(self).__name__)

    def _values(self, shape):
        fan_in, fan_out = _fans(shape)
        fan = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2}[self.mode]
        variance = self.scale / max(1.0, fan)
        generator = self._generator()
        if self.distribution == "uniform":
            limit = math.sqrt(3.0 * variance)
            return generator.uniform(-limit, limit, shape)
        if self.distribution == "untruncated_normal":
            return generator.normal(0.0, math.sqrt(variance), shape)
        # Keras's constant: the stddev of a unit normal truncated to [-2, 2].
        return _truncated_normal(generator, math.sqrt(variance) / 0.87962566103423978, shape)


def _variance_scaling(name: str, scale: float, mode: str,
                      distribution: str) -> Type[VarianceScaling]:
    class Preset(VarianceScaling):
        _config_keys = ("seed",)

        def __init__(self, seed: Optional[int] = None) -> None:
            super().__init__(scale, mode, distribution, seed)

    Preset.__name__ = Preset.__qualname__ = name
    Preset.__doc__ = f"VarianceScaling(scale={scale}, mode={mode!r}, distribution={distribution!r})."
    return Preset


GlorotUniform = _variance_scaling("GlorotUniform", 1.0, "fan_avg", "uniform")
GlorotNormal = _variance_scaling("GlorotNormal", 1.0, "fan_avg", "truncated_normal")
HeUniform = _variance_scaling("HeUniform", 2.0, "fan_in", "uniform")
HeNormal = _variance_scaling("HeNormal", 2.0, "fan_in", "truncated_normal")
LecunUniform = _variance_scaling("LecunUniform", 1.0, "fan_in", "uniform")
LecunNormal = _variance_scaling("LecunNormal", 1.0, "fan_in", "truncated_normal")

_CLASSES = (Constant, Zeros, Ones, RandomNormal, RandomUniform, TruncatedNormal,
            VarianceScaling, GlorotUniform, GlorotNormal, HeUniform, HeNormal, LecunUniform,
            LecunNormal)
_ALIASES = {"constant": Constant, "zeros": Zeros, "ones": Ones, "random_normal": RandomNormal,
            "random_uniform": RandomUniform, "uniform": RandomUniform, "normal": RandomNormal,
            "truncated_normal": TruncatedNormal,
            "variance_scaling": VarianceScaling, "glorot_uniform": GlorotUniform,
            "glorot_normal": GlorotNormal, "he_uniform": HeUniform, "he_normal": HeNormal,
            "lecun_uniform": LecunUniform, "lecun_normal": LecunNormal}
_REGISTRY = {**{cls.__name__: cls for cls in _CLASSES}, **_ALIASES}

serialize = utils.serialize


def get(identifier: Union[str, Initializer, Dict[str, Any], type]) -> Initializer:
    """An Initializer from a name ("glorot_uniform", "HeNormal"), instance, class or config."""
    return utils.lookup(identifier, _REGISTRY, "initializer", Initializer)


deserialize = get
