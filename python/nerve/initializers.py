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
    """Base class of weight initializers (keras.initializers.Initializer).

    Calling one with a shape returns a new array. A subclass defines `_values(shape)`
    returning the values (in any float dtype, cast by __call__); get_config returns the
    arguments named in `_config_keys` and from_config calls the constructor.

    Example:
        >>> import numpy as np, nerve
        >>> class Twos(nerve.initializers.Initializer):
        ...     def _values(self, shape):
        ...         return np.full(shape, 2.0)
        >>> Twos()((2,))
        array([2., 2.], dtype=float32)
    """
    def __call__(self, shape: Shape, dtype: Optional[DTypeLike] = None) -> np.ndarray:
        """A new array of `shape` holding the initial values.

        Args:
            shape: Sequence of ints.
            dtype: "float32", "float64" or None, default None (nerve.utils.floatx()).

        Returns:
            A new NumPy array.

        Raises:
            ValueError: When `dtype` is not a float dtype.

        Example:
            >>> import nerve
            >>> nerve.initializers.Zeros()((2, 2), "float64")
            array([[0., 0.],
                   [0., 0.]])
        """
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
    """Every value `value`.

    Args:
        value: Finite float, default 0.0.

    Raises:
        ValueError: When `value` is not a finite number.

    Example:
        >>> import nerve
        >>> nerve.initializers.Constant(3.0)((2,))
        array([3., 3.], dtype=float32)
    """
    _config_keys = ("value",)

    def __init__(self, value: float = 0.0) -> None:
        self.value = utils.finite_number(value, "Constant: value")

    def _values(self, shape):
        return np.full(shape, self.value)


class Zeros(Initializer):
    """Every value 0.

    Example:
        >>> import nerve
        >>> nerve.initializers.Zeros()((2,))
        array([0., 0.], dtype=float32)
    """
    def _values(self, shape):
        return np.zeros(shape)


class Ones(Initializer):
    """Every value 1.

    Example:
        >>> import nerve
        >>> nerve.initializers.Ones()((2,))
        array([1., 1.], dtype=float32)
    """
    def _values(self, shape):
        return np.ones(shape)


class RandomNormal(Initializer):
    """Samples of a normal distribution N(mean, stddev ** 2).

    Args:
        mean: Finite float, default 0.0.
        stddev: Finite float, default 0.05.
        seed: Int >= 0 or None, default None: a seeded initializer returns the same values on
            every call; an unseeded one draws from nerve's generator.

    Raises:
        ValueError: When mean or stddev is not a finite number, or seed is not None or an
            int >= 0.

    Example:
        >>> import nerve
        >>> values = nerve.initializers.RandomNormal(stddev=1.0, seed=0)((2, 3))
        >>> values.shape, values.dtype
        ((2, 3), dtype('float32'))
    """
    _config_keys = ("mean", "stddev", "seed")

    def __init__(self, mean: float = 0.0, stddev: float = 0.05, seed: Optional[int] = None) -> None:
        _normal_arguments(self, mean, stddev, seed)

    def _values(self, shape):
        return self._generator().normal(self.mean, self.stddev, shape)


class RandomUniform(Initializer):
    """Samples of a uniform distribution on [minval, maxval).

    Args:
        minval: Finite float, default -0.05.
        maxval: Finite float, default 0.05.
        seed: Int >= 0 or None, default None (nerve's generator).

    Raises:
        ValueError: When minval or maxval is not a finite number, or seed is not None or an
            int >= 0.

    Example:
        >>> import nerve
        >>> values = nerve.initializers.RandomUniform(0.0, 1.0, seed=0)((100,))
        >>> bool(values.min() >= 0.0 and values.max() < 1.0)
        True
    """
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
    """Samples of N(mean, stddev ** 2), redrawn until all lie within 2 stddev of the mean.

    Args:
        mean: Finite float, default 0.0.
        stddev: Finite float, default 0.05.
        seed: Int >= 0 or None, default None (nerve's generator).

    Raises:
        ValueError: When mean or stddev is not a finite number, or seed is not None or an
            int >= 0.

    Example:
        >>> import numpy as np, nerve
        >>> values = nerve.initializers.TruncatedNormal(stddev=1.0, seed=0)((1000,))
        >>> bool(np.abs(values).max() <= 2.0)
        True
    """
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
    """Samples with variance scale / fan (keras.initializers.VarianceScaling).

    The fan is the kernel's fan_in, fan_out or their average; for a kernel of more than two
    axes both are multiplied by the receptive field (the product of the leading axes).

    Args:
        scale: Float > 0, default 1.0.
        mode: "fan_in", "fan_out" or "fan_avg", default "fan_in".
        distribution: "truncated_normal", "untruncated_normal" or "uniform", default
            "truncated_normal".
        seed: Int >= 0 or None, default None (nerve's generator).

    Raises:
        ValueError: When mode or distribution is not one of these, scale is not a finite
            number > 0, or seed is not None or an int >= 0.

    Example:
        >>> import nerve
        >>> init = nerve.initializers.VarianceScaling(2.0, "fan_in", "uniform", seed=0)
        >>> bool(abs(init((50, 4))).max() <= (3 * 2.0 / 50) ** 0.5)
        True
    """

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
    summary = f"VarianceScaling(scale={scale}, mode={mode!r}, distribution={distribution!r})."
    Preset.__doc__ = f"""{summary}

    Args:
        seed: Int >= 0 or None, default None: a seeded initializer returns the same values
            on every call; an unseeded one draws from nerve's generator.

    Raises:
        ValueError: When seed is not None or an int >= 0.

    Example:
        >>> import nerve
        >>> nerve.initializers.{name}(seed=0)((2, 3)).shape
        (2, 3)
    """
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
    """An Initializer from an identifier, as Keras's initializers.get.

    Args:
        identifier: A name ("glorot_uniform", "HeNormal", "zeros", ...; made with its
            defaults), an Initializer (returned as is), an Initializer subclass (instantiated)
            or a {"class_name", "config"} dict (as serialize writes).

    Returns:
        An Initializer.

    Raises:
        ValueError: When the name is unknown or the dict lacks "class_name".
        TypeError: When `identifier` is none of these.

    Example:
        >>> import nerve
        >>> nerve.initializers.get("he_normal")
        HeNormal(seed=None)
    """
    return utils.lookup(identifier, _REGISTRY, "initializer", Initializer)


deserialize = get
