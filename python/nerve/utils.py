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
    """Seed nerve's generator, and Python's and NumPy's global ones, as Keras does.

    Initializers, dropout and fit's shuffling draw from nerve's generator, so two runs after
    the same seed give bitwise-identical weights on the same backend.

    Args:
        seed: Int in [0, 2**32).

    Raises:
        TypeError: When `seed` is not an int.
        ValueError: When `seed` is out of range.

    Example:
        >>> import nerve
        >>> nerve.utils.set_random_seed(0)
        >>> first = nerve.initializers.RandomNormal()((3,))
        >>> nerve.utils.set_random_seed(0)
        >>> bool((nerve.initializers.RandomNormal()((3,)) == first).all())
        True
    """
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
    """nerve's global generator, the one set_random_seed reseeds in place.

    Returns:
        The np.random.Generator (the same object on every call).

    Example:
        >>> import nerve
        >>> nerve.utils.generator() is nerve.utils.generator()
        True
    """
    return _GENERATOR


def floatx() -> str:
    """The dtype of the layers created from now on.

    Returns:
        "float32" (as Keras), unless set_floatx changed it.

    Example:
        >>> import nerve
        >>> nerve.utils.floatx()
        'float32'
    """
    return _floatx


def set_floatx(value: DTypeLike) -> None:
    """Make `value` the dtype of the layers created from now on.

    Args:
        value: "float32" or "float64" (a name, NumPy dtype or type).

    Raises:
        ValueError: When `value` is another dtype.

    Example:
        >>> import numpy as np, nerve
        >>> nerve.utils.set_floatx(np.float64)
        >>> nerve.utils.floatx()
        'float64'
        >>> nerve.utils.set_floatx("float32")
    """
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
    """The name of a dtype nerve computes in.

    Args:
        dtype: A name, NumPy dtype or type.
        integers: Bool, default False: also accept "int32" and "int64" (a model's inputs:
            indices for an Embedding).

    Returns:
        "float32" or "float64" (or, with `integers`, "int32" or "int64").

    Raises:
        ValueError: For any other dtype.

    Example:
        >>> import numpy as np, nerve
        >>> nerve.utils.standardize_dtype(np.float64)
        'float64'
    """
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
    """One-hot float32 rows for integer class labels, as keras.utils.to_categorical.

    Args:
        y: Array-like of labels >= 0 (whole numbers; a trailing axis of 1 is dropped).
        num_classes: Int or None, default None (the largest label + 1).

    Returns:
        A new float32 array of shape y.shape + (num_classes,).

    Raises:
        ValueError: When a label is not a whole number, is negative, or is >= num_classes.

    Example:
        >>> import nerve
        >>> nerve.utils.to_categorical([0, 2], num_classes=3)
        array([[1., 0., 0.],
               [0., 0., 1.]], dtype=float32)
    """
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
    """Batches by index, as keras.utils.PyDataset (also named nerve.utils.Sequence).

    A subclass defines __len__ (the number of batches) and __getitem__(index) returning one
    batch: (x, y) or (x, y, sample_weight), or x alone for predict; on_epoch_begin() and
    on_epoch_end() run around every epoch. A `num_batches` property returning None instead of
    __len__ makes the dataset endless: fit then needs steps_per_epoch. fit(shuffle=True)
    visits the batches in a new order each epoch.

    workers, use_multiprocessing and max_queue_size are accepted for Keras code, but nerve
    calls __getitem__ in the calling thread, one batch at a time (its kernels already use
    every core).

    Args:
        workers: Int, default 1 (kept, unused).
        use_multiprocessing: Bool, default False (kept, unused).
        max_queue_size: Int, default 10 (kept, unused).

    Example:
        >>> import numpy as np, nerve
        >>> class Batches(nerve.utils.PyDataset):
        ...     def __len__(self):
        ...         return 2
        ...     def __getitem__(self, index):
        ...         return np.ones((4, 3), "float32"), np.ones((4, 1), "float32")
        >>> model = nerve.Sequential([nerve.Input((3,)), nerve.layers.Dense(1)])
        >>> model.compile(optimizer="sgd", loss="mse")
        >>> len(model.fit(Batches(), epochs=1, verbose=0).history["loss"])
        1
    """

    def __init__(self, workers: int = 1, use_multiprocessing: bool = False,
                 max_queue_size: int = 10) -> None:
        self.workers, self.use_multiprocessing = workers, use_multiprocessing
        self.max_queue_size = max_queue_size

    def __getitem__(self, index: int) -> Any:
        """Batch number `index` (a subclass defines this).

        Args:
            index: Int in [0, num_batches).

        Returns:
            (x, y), (x, y, sample_weight), or x alone for predict.

        Raises:
            NotImplementedError: On PyDataset itself.

        Example:
            >>> import nerve
            >>> class One(nerve.utils.PyDataset):
            ...     def __len__(self):
            ...         return 1
            ...     def __getitem__(self, index):
            ...         return [[1.0]], [[2.0]]
            >>> One()[0]
            ([[1.0]], [[2.0]])
        """
        raise NotImplementedError(f"{type(self).__name__} defines no __getitem__(index)")

    @property
    def num_batches(self) -> Optional[int]:
        """The number of batches per epoch, len(self); None (when overridden) for an endless one.

        Raises NotImplementedError when the subclass defines neither.
        """
        if hasattr(self, "__len__"):
            return len(self)
        raise NotImplementedError(f"{type(self).__name__} defines neither __len__ nor "
                                  f"num_batches")

    def on_epoch_begin(self) -> None:
        """Called by fit before each epoch; does nothing unless overridden.

        Example:
            >>> import nerve
            >>> nerve.utils.PyDataset().on_epoch_begin()
        """
        pass

    def on_epoch_end(self) -> None:
        """Called by fit after each epoch (e.g. to reshuffle); does nothing unless overridden.

        Example:
            >>> import nerve
            >>> nerve.utils.PyDataset().on_epoch_end()
        """
        pass


Sequence = PyDataset  # Keras 3 keeps the old name as an alias


def lookup(identifier: Any, registry: Mapping[str, Any], kind: str, base: type) -> Any:
    """The object a Keras identifier names (the common part of the modules' get).

    Args:
        identifier: An instance of `base` (returned as is), a registered name (a class is
            instantiated with its defaults), a subclass of `base` (instantiated), or a
            {"class_name", "config"} dict.
        registry: Mapping name -> class or function; users' registered objects are found too.
        kind: Str, what is looked up, for error messages.
        base: The class the objects derive from.

    Returns:
        The object.

    Raises:
        ValueError: When the name is unknown (the message lists the valid ones) or the dict
            lacks "class_name".
        TypeError: When `identifier` is none of these.

    Example:
        >>> import nerve
        >>> nerve.utils.lookup("l2", {"l2": nerve.regularizers.L2}, "regularizer",
        ...                    nerve.regularizers.Regularizer)
        L2(l2=0.01)
    """
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
    """{"class_name", "config"} of a configurable object, Keras's serialization format.

    This is the `serialize` of nerve.losses, metrics, optimizers, initializers, regularizers,
    constraints and optimizers.schedules; their `get` / `deserialize` read it back.

    Args:
        obj: An object with get_config (a loss, metric, optimizer, ...).

    Returns:
        A new dict: "class_name" (its registered name) and "config".

    Example:
        >>> import nerve
        >>> nerve.regularizers.serialize(nerve.regularizers.L2(0.5))
        {'class_name': 'L2', 'config': {'l2': 0.5}}
    """
    from . import registration
    return {"class_name": registration.get_registered_name(obj), "config": obj.get_config()}


_Self = TypeVar("_Self", bound="Configurable")


class Configurable:
    """get_config/from_config for objects whose constructor arguments are their attributes.

    The base of nerve's losses, metrics, initializers, regularizers, constraints and
    learning-rate schedules: `_config_keys` names the constructor arguments.

    Example:
        >>> import nerve
        >>> nerve.regularizers.L2(0.5)
        L2(l2=0.5)
    """

    _config_keys: Tuple[str, ...] = ()

    def get_config(self) -> Dict[str, Any]:
        """The constructor arguments, from the attributes named in `_config_keys`.

        Returns:
            A new dict, JSON-serializable for the built-in classes.

        Example:
            >>> import nerve
            >>> nerve.constraints.MaxNorm(3.0).get_config()
            {'max_value': 3.0, 'axis': 0}
        """
        return {key: getattr(self, key) for key in self._config_keys}

    @classmethod
    def from_config(cls: Type[_Self], config: Dict[str, Any]) -> _Self:
        """An object made from a get_config dict: cls(**config).

        Args:
            config: Dict of constructor arguments.

        Returns:
            A new instance.

        Raises:
            TypeError: When the dict holds an argument the constructor does not take.
            ValueError: When the constructor refuses a value.

        Example:
            >>> import nerve
            >>> nerve.initializers.RandomNormal.from_config({"mean": 1.0, "stddev": 0.0, "seed": 0})
            RandomNormal(mean=1.0, stddev=0.0, seed=0)
        """
        return cls(**config)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


def snake_case(name: str) -> str:
    """Keras's default names: Dense -> dense, Conv2D -> conv2d, MaxPooling2D ->
    max_pooling2d, PReLU -> p_re_lu (a capital starts a word before lower-case letters)."""
    name = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub(r"([a-z])([A-Z])", r"\1_\2", name).lower()
