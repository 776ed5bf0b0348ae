"""Weights as Keras-style variables that stay live while their storage moves.

A layer creates its weights with `add_weight`; each is a Variable holding a NumPy array. A model
moves the arrays of all its variables into one flat parameter buffer (and gives each a view of
one flat gradient buffer), so an optimizer step is one kernel call; the Variable object stays
the same, so a reference taken before `compile()` or `fit()` keeps seeing the trained values.
"""
import contextlib
import contextvars
import math
from typing import Any, Iterable, Iterator, List, Optional, Sequence

import numpy as np

from ._typing import ArrayLike, DTypeLike, Shape

from .graph.tensor import OPERATOR_UFUNCS, add_operators

__all__ = ["Variable", "checked_weights"]

# The bytes of weights add_weight may still create (None: no limit), set while a model is
# rebuilt from a file, whose weights it must match: a tiny crafted configuration cannot make
# the rebuild allocate gigabytes before the file's arrays are compared with the model's.
_weight_bytes_left: "contextvars.ContextVar[Optional[List[int]]]" = contextvars.ContextVar(
    "nerve_weight_bytes_left", default=None)


@contextlib.contextmanager
def weight_budget(nbytes: int) -> Iterator[None]:
    """Within the `with` block, add_weight refuses weights beyond `nbytes` bytes in all.

    Args:
        nbytes: Int, the bytes the weights created inside the block may take together.

    Returns:
        A context manager.

    Example:
        >>> import nerve
        >>> with nerve.variables.weight_budget(16):
        ...     nerve.variables.spend_weight_budget("dense", (2, 2), "float32")
    """
    token = _weight_bytes_left.set([nbytes])
    try:
        yield
    finally:
        _weight_bytes_left.reset(token)


def spend_weight_budget(layer_name: str, shape: Shape, dtype: DTypeLike) -> None:
    """Count a new weight against the budget of weight_budget, before it is allocated.

    Args:
        layer_name: Str, for the error message.
        shape: Tuple of ints, the weight's shape.
        dtype: The weight's dtype.

    Raises:
        ValueError: When the weight takes the weights past the budget.

    Example:
        >>> import nerve
        >>> with nerve.variables.weight_budget(8):
        ...     nerve.variables.spend_weight_budget("dense", (4,), "float32")
        Traceback (most recent call last):
        ValueError: dense: a weight of shape (4,) takes the weights past the bytes the file holds
    """
    left = _weight_bytes_left.get()
    if left is not None:
        left[0] -= math.prod(shape) * np.dtype(dtype).itemsize
        if left[0] < 0:
            raise ValueError(f"{layer_name}: a weight of shape {shape} takes the weights past "
                             f"the bytes the file holds")


class Variable:
    """One weight of a layer (or a metric's state), as keras.Variable.

    Layers create their weights with add_weight, not with this constructor. A model moves the
    array of each of its variables into one flat parameter buffer when it is built; the Variable
    stays the same object, so a reference taken before compile() or fit() keeps seeing the
    trained values. `np.asarray(v)` is a view of the current array, NumPy functions and the
    arithmetic operators compute on it, and inside a traced call() they go through nerve.ops so
    that gradients flow.

    Args:
        value: NumPy array, the initial value (kept, not copied).
        name: Str, the weight's name within its layer ("kernel").
        layer: The owning Layer, or None.
        trainable: Bool, default True: whether training updates it (also False while its
            layer's `trainable` is False).
        regularizer: Regularizer or None, default None: its penalty joins the training loss.
        constraint: Callable or None, default None: applied to the value after each step.

    Example:
        >>> import numpy as np, nerve
        >>> layer = nerve.layers.Dense(2, name="dense")
        >>> layer.build((None, 3))
        >>> kernel = layer.weights[0]
        >>> kernel.path, kernel.shape, kernel.dtype
        ('dense/kernel', (3, 2), 'float32')
        >>> _ = kernel.assign(np.ones((3, 2)))
        >>> float(np.sum(kernel))
        6.0
    """

    def __init__(self, value: np.ndarray, name: str, layer: Any, trainable: bool = True,
                 regularizer: Any = None, constraint: Any = None) -> None:
        self._value = value
        self._grad = None  # a view of the owning model's gradient buffer, once packed
        self._buffer = None  # the flat buffer `_value` is a view of, once packed
        self.name = name
        self._layer = layer
        self._trainable = bool(trainable)
        self.regularizer, self.constraint = regularizer, constraint

    def __getstate__(self):
        """A copy holds its own array, outside any model's buffers (its model packs it anew)."""
        return dict(self.__dict__, _grad=None, _buffer=None)

    # -- what Keras users read
    @property
    def value(self) -> np.ndarray:
        """The current array (a view of the model's parameter buffer once it is packed)."""
        return self._value

    @property
    def path(self) -> str:
        """The name with the owning layer's: "dense/kernel" (the name alone without a layer)."""
        return self.name if self._layer is None else f"{self._layer.name}/{self.name}"

    @property
    def trainable(self) -> bool:
        """Whether training updates the variable: its own flag and its layer's `trainable`.

        Setting it sets the variable's own flag (bool(value)).
        """
        return self._trainable and (self._layer is None or self._layer.trainable)

    @trainable.setter
    def trainable(self, value: bool) -> None:
        self._trainable = bool(value)

    @property
    def shape(self) -> tuple:
        """The shape, a tuple of ints."""
        return self._value.shape

    @property
    def dtype(self) -> str:
        """The dtype's name, e.g. "float32"."""
        return self._value.dtype.name

    @property
    def ndim(self) -> int:
        """The number of axes."""
        return self._value.ndim

    @property
    def size(self) -> int:
        """The number of elements."""
        return self._value.size

    def numpy(self) -> np.ndarray:
        """A copy of the current value.

        Returns:
            A new NumPy array.

        Example:
            >>> import numpy as np, nerve
            >>> v = nerve.Variable(np.zeros(2, "float32"), "v", None)
            >>> v.numpy()
            array([0., 0.], dtype=float32)
        """
        return self._value.copy()

    def assign(self, value: Any) -> "Variable":
        """Write `value` into the variable, in place (the array object stays the same).

        Inside a traced call() with a symbolic `value`, the assignment joins the graph instead: it
        happens each time the model runs that call (after the backward pass, in training).

        Args:
            value: Array-like of the variable's shape, real numbers (cast to its dtype), or a
                symbolic tensor inside a traced call().

        Returns:
            The variable itself.

        Raises:
            ValueError: When the shape differs from the variable's.
            TypeError: When `value` does not hold real numbers (bool, int or float).

        Example:
            >>> import numpy as np, nerve
            >>> v = nerve.Variable(np.zeros(2, "float32"), "v", None)
            >>> v.assign([1, 2]).numpy()
            array([1., 2.], dtype=float32)
        """
        from .graph import SymbolicTensor
        from .ops.state import record_assign

        if isinstance(value, SymbolicTensor):
            record_assign(self, value)
            return self
        array = np.asarray(value)
        if array.shape != self.shape:
            raise ValueError(f"assign: {self.path} has shape {self.shape}, received shape "
                             f"{array.shape}")
        if array.dtype.kind not in "biuf":
            raise TypeError(f"assign: expected real numbers, received dtype {array.dtype}")
        self._value[...] = array
        return self

    def assign_add(self, value: Any) -> "Variable":
        """Add `value` to the variable, in place (with nerve.ops: traced inside a call()).

        Args:
            value: Array-like broadcastable to the variable's shape, or a symbolic tensor.

        Returns:
            The variable itself.

        Raises:
            ValueError: When the sum does not have the variable's shape.

        Example:
            >>> import numpy as np, nerve
            >>> v = nerve.Variable(np.ones(2, "float32"), "v", None)
            >>> v.assign_add(1.0).numpy()
            array([2., 2.], dtype=float32)
        """
        return self.assign(_ops().add(self, value))

    def assign_sub(self, value: Any) -> "Variable":
        """Subtract `value` from the variable, in place (with nerve.ops: traced inside a call()).

        Args:
            value: Array-like broadcastable to the variable's shape, or a symbolic tensor.

        Returns:
            The variable itself.

        Raises:
            ValueError: When the difference does not have the variable's shape.

        Example:
            >>> import numpy as np, nerve
            >>> v = nerve.Variable(np.ones(2, "float32"), "v", None)
            >>> v.assign_sub([1, 0]).numpy()
            array([0., 1.], dtype=float32)
        """
        return self.assign(_ops().subtract(self, value))

    # -- behaving like an array
    def __array__(self, dtype=None, copy=None):
        if copy:
            return np.array(self._value, dtype=dtype, copy=True)
        return self._value if dtype is None else self._value.astype(dtype, copy=False)

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        """NumPy on a Variable computes on its array; inside a traced call() NumPy's
        operators (array * variable) go through nerve.ops, so the gradient flows."""
        from .ops.core import current_trace

        if current_trace() is not None and method == "__call__" and not kwargs \
                and ufunc.__name__ in OPERATOR_UFUNCS:
            return getattr(_ops(), OPERATOR_UFUNCS[ufunc.__name__])(*inputs)

        def unwrap(value):
            return value._value if isinstance(value, Variable) else value
        if "out" in kwargs:
            kwargs["out"] = tuple(unwrap(o) for o in kwargs["out"])
        return getattr(ufunc, method)(*(unwrap(i) for i in inputs), **kwargs)

    def __len__(self):
        return len(self._value)

    def __getitem__(self, index):
        from .ops.core import current_trace
        return self._value[index] if current_trace() is None else _ops().getitem(self, index)

    def __iter__(self):
        return iter(self._value)

    def __repr__(self):
        return (f"<Variable path={self.path}, shape={self.shape}, dtype={self.dtype}, "
                f"value={np.array2string(self._value, threshold=6)}>")


def _ops():
    from . import ops
    return ops


add_operators(Variable)


def checked_weights(weights: Iterable[ArrayLike], shapes: Sequence[Shape],
                    owner: str) -> List[np.ndarray]:
    """The arrays of `weights`, after checking their count, shapes and dtypes (set_weights).

    Args:
        weights: Iterable of array-likes.
        shapes: Sequence of the expected shapes.
        owner: Str, the layer or model named in error messages.

    Returns:
        A list of NumPy arrays (views where the inputs already were arrays).

    Raises:
        ValueError: When the count or a shape differs.
        TypeError: When an array does not hold real numbers (int or float).

    Example:
        >>> import numpy as np, nerve
        >>> [a.shape for a in nerve.variables.checked_weights([np.zeros(2)], [(2,)], "dense")]
        [(2,)]
    """
    weights = list(weights)
    if len(weights) != len(shapes):
        raise ValueError(f"weights: {owner} expects {len(shapes)} arrays, received {len(weights)}")
    arrays = []
    for i, (value, shape) in enumerate(zip(weights, shapes)):
        array = np.asarray(value)
        if array.shape != tuple(shape):
            raise ValueError(f"weights[{i}]: {owner} expects shape {tuple(shape)}, received "
                             f"{array.shape}")
        if array.dtype.kind not in "iuf":  # timedelta64 counts as a NumPy integer: not here
            raise TypeError(f"weights[{i}]: expected a float or int array (real numbers), "
                            f"received dtype {array.dtype}")
        arrays.append(array)
    return arrays
