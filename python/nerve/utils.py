"""Seeding, the default float type, and small helpers shared by nerve's Keras-style modules.

    nerve.utils.set_random_seed(42)   # weight init, dropout and shuffling become repeatable
    nerve.utils.set_floatx("float64") # layers created afterwards compute in float64
"""
import math
import numbers
import operator
import random
import re

from typing import Any, Dict, Mapping, Optional, Tuple, Type, TypeVar

import numpy as np

from ._typing import ArrayLike, DTypeLike

__all__ = ["set_random_seed", "floatx", "set_floatx", "to_categorical", "PyDataset", "Sequence"]

# One generator owned by nerve: initializers, dropout and fit's shuffling draw from it. It is
# reseeded in place, so code holding a reference keeps drawing from the reseeded stream.
_GENERATOR = np.random.Generator(np.random.PCG64())
_FLOAT_TYPES = ("float32", "float64")
_INT_TYPES = ("int32", "int64")
_floatx = "float32"


def set_random_seed(seed: int) -> None:
    """Seed nerve's generator, and Python's and NumPy's global ones as Keras does: two runs
    after the same seed give bitwise-identical weights on the same backend."""
    try:
        seed = operator.index(seed)
    except TypeError:
        raise TypeError(f"seed: expected an int, received {type(seed).__name__}") from None
    if not 0 <= seed < 2**32:
        raise ValueError(f"seed: expected an int in [0, 2**32), received {seed}")
    _GENERATOR.bit_generator.state = np.random.PCG64(seed).state
    random.seed(seed)
    np.random.seed(seed)


def generator() -> np.random.Generator:
    """nerve's global np.random.Generator (see set_random_seed)."""
    return _GENERATOR


def floatx() -> str:
    """Default dtype of new layers: "float32" (as Keras) unless set_floatx changed it."""
    return _floatx


def set_floatx(value: DTypeLike) -> None:
    """Make `value` ("float32" or "float64") the dtype of layers created from now on."""
    global _floatx
    _floatx = standardize_dtype(value)


def finite_number(value, what):
    """float(value), which must be finite: NaN or an infinity in a configuration means nothing
    useful, and a model file's header (strict JSON) could not hold it."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = math.nan
    if not math.isfinite(number):
        raise ValueError(f"{what}: expected a finite number, received {value!r}")
    return number


def standardize_dtype(dtype: DTypeLike, integers: bool = False) -> str:
    """"float32" or "float64" from a name, NumPy dtype or type; with `integers` (a model's
    inputs: indices for an Embedding) also "int32" or "int64"; ValueError otherwise."""
    allowed = _FLOAT_TYPES + (_INT_TYPES if integers else ())
    try:
        name = np.dtype(dtype).name
    except TypeError:
        name = None
    if name not in allowed:
        raise ValueError(f"dtype: expected one of {', '.join(allowed)}, received {dtype!r}")
    return name


# The longest axis NumPy can hold as float64 (its arrays are at most intp's max bytes): a
# layer size beyond it can never be built, so constructors refuse it at once.
LARGEST_DIMENSION = np.iinfo(np.intp).max // 8


def is_count(value, minimum, maximum=None):
    """Whether value is an int in [minimum, maximum]: bools are not ints here (Dense(True) is
    a mistake), NumPy's integers are."""
    return (not isinstance(value, (bool, np.bool_)) and isinstance(value, numbers.Integral)
            and value >= minimum and (maximum is None or value <= maximum))


def count_argument(value, name, minimum):
    """value as an int >= minimum; ValueError naming the argument otherwise."""
    if not is_count(value, minimum):
        raise ValueError(f"{name}: expected an int >= {minimum}, received {value!r}")
    return int(value)


def size_argument(value, name):
    """A layer's size (units, input_dim, ...): an int in [1, LARGEST_DIMENSION]."""
    if not is_count(value, 1, LARGEST_DIMENSION):
        raise ValueError(f"{name}: expected a positive int (at most {LARGEST_DIMENSION}), "
                         f"received {value!r}")
    return int(value)


def to_categorical(y: ArrayLike, num_classes: Optional[int] = None) -> np.ndarray:
    """One-hot float32 rows for integer class labels, as keras.utils.to_categorical."""
    labels = np.asarray(y)
    if labels.ndim > 1 and labels.shape[-1] == 1:
        labels = labels[..., 0]
    if labels.size and not np.array_equal(labels, np.round(labels)):
        raise ValueError("y: expected integer class labels")
    labels = labels.astype(np.int64)
    if labels.size and labels.min() < 0:
        raise ValueError(f"y: expected labels >= 0, received {labels.min()}")
    if num_classes is None:
        num_classes = int(labels.max()) + 1 if labels.size else 0
    elif labels.size and labels.max() >= num_classes:
        raise ValueError(f"y: expected labels < num_classes={num_classes}, received {labels.max()}")
    out = np.zeros(labels.shape + (num_classes,), dtype=np.float32)
    np.put_along_axis(out, labels[..., None], 1.0, axis=-1)
    return out


class PyDataset:
    """Batches by index, as keras.utils.PyDataset: a subclass defines __len__ (the number of
    batches) and __getitem__(index) returning one batch, (x, y) or (x, y, sample_weight), or
    x alone for predict; on_epoch_begin() / on_epoch_end() run around every epoch. A
    `num_batches` property returning None instead of __len__ makes the dataset endless: fit
    then needs steps_per_epoch. fit(shuffle=True) visits the batches in a new order each epoch.

    workers, use_multiprocessing and max_queue_size are accepted for Keras code, but nerve
    calls __getitem__ in the calling thread, one batch at a time (its kernels already use
    every core)."""

    def __init__(self, workers: int = 1, use_multiprocessing: bool = False,
                 max_queue_size: int = 10) -> None:
        self.workers, self.use_multiprocessing = workers, use_multiprocessing
        self.max_queue_size = max_queue_size

    def __getitem__(self, index: int) -> Any:
        raise NotImplementedError(f"{type(self).__name__} defines no __getitem__(index)")

    @property
    def num_batches(self) -> Optional[int]:
        """Batches per epoch (len(self)), or None for an endless dataset."""
        if hasattr(self, "__len__"):
            return len(self)
        raise NotImplementedError(f"{type(self).__name__} defines neither __len__ nor "
                                  f"num_batches")

    def on_epoch_begin(self) -> None:
        pass

    def on_epoch_end(self) -> None:
        pass


Sequence = PyDataset  # Keras 3 keeps the old name as an alias


def lookup(identifier: Any, registry: Mapping[str, Any], kind: str, base: type) -> Any:
    """The object a Keras identifier names: an instance of `base` as is, a registered name
    (class or function), a registered class (instantiated), or {"class_name", "config"}.
    Unknown names raise ValueError listing the valid ones."""
    if isinstance(identifier, base):
        return identifier
    if isinstance(identifier, dict):
        if "class_name" not in identifier:
            raise ValueError(f"{kind}: expected a dict with 'class_name' and 'config', "
                             f"received {identifier!r}")
        return _registered(identifier["class_name"], registry, kind).from_config(
            dict(identifier.get("config") or {}))
    if isinstance(identifier, str):
        found = _registered(identifier, registry, kind)
        return found() if isinstance(found, type) else found
    if isinstance(identifier, type) and issubclass(identifier, base):
        return identifier()
    raise TypeError(f"{kind}: expected a name, a {base.__name__} or a config dict, "
                    f"received {type(identifier).__name__}")


def _registered(name: str, registry: Mapping[str, Any], kind: str) -> Any:
    from . import registration

    found = registry.get(name, registry.get(str(name).lower()))
    if found is None:  # a user's class or function, registered or in a custom_object_scope
        found = registration.get_registered_object(name)
    if found is None:
        raise ValueError(f"Unknown {kind} {name!r}; valid: {', '.join(sorted(registry))}")
    return found


def serialize(obj: Any) -> Dict[str, Any]:
    """{"class_name", "config"} of a configurable object (Keras's serialization format)."""
    from . import registration
    return {"class_name": registration.get_registered_name(obj), "config": obj.get_config()}


_Self = TypeVar("_Self", bound="Configurable")


class Configurable:
    """get_config/from_config for objects whose constructor arguments are their attributes."""

    _config_keys: Tuple[str, ...] = ()

    def get_config(self) -> Dict[str, Any]:
        return {key: getattr(self, key) for key in self._config_keys}

    @classmethod
    def from_config(cls: Type[_Self], config: Dict[str, Any]) -> _Self:
        return cls(**config)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


def snake_case(name: str) -> str:
    """Keras's default names: Dense -> dense, Conv2D -> conv2d, MaxPooling2D ->
    max_pooling2d, PReLU -> p_re_lu (a capital starts a word before lower-case letters)."""
    name = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub(r"([a-z])([A-Z])", r"\1_\2", name).lower()
