"""The Optimizer base class: learning rate, weight decay, clipping, state and config."""
import warnings
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple, Type, TypeVar, Union

import numpy as np

from .. import _interrupts, utils
from .._typing import ArrayLike, DTypeLike
from . import schedules
from ._checks import _number, _optional_positive
from .schedules import LearningRateSchedule


# A learning rate as the optimizers take it: a float, a schedule or a schedule's config.
_LearningRate = Union[float, LearningRateSchedule, Dict[str, Any]]
_Self = TypeVar("_Self", bound="Optimizer")


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
