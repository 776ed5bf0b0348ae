"""Weights as Keras-style variables that stay live while their storage moves.

A layer creates its weights with `add_weight`; each is a Variable holding a NumPy array. A model
moves the arrays of all its variables into one flat parameter buffer (and gives each a view of
one flat gradient buffer), so an optimizer step is one kernel call; the Variable object stays
the same, so a reference taken before `compile()` or `fit()` keeps seeing the trained values.
"""
import numpy as np

__all__ = ["Variable"]


class Variable:
    """One weight of a layer: `.numpy()` (a copy), `.assign(value)`, `.shape`, `.dtype`,
    `.name`, `.path` ("dense/kernel"), `.trainable`, and `np.asarray(v)` (a view)."""

    def __init__(self, value, name, layer, trainable=True, regularizer=None):
        self._value = value
        self._grad = None  # a view of the owning model's gradient buffer, once packed
        self._buffer = None  # the flat buffer `_value` is a view of, once packed
        self.name = name
        self._layer = layer
        self._trainable = bool(trainable)
        self.regularizer = regularizer

    # -- what Keras users read
    @property
    def value(self):
        """The current array (a view into the model's parameter buffer once it is packed)."""
        return self._value

    @property
    def path(self):
        return f"{self._layer.name}/{self.name}"

    @property
    def trainable(self):
        return self._trainable and self._layer.trainable

    @trainable.setter
    def trainable(self, value):
        self._trainable = bool(value)

    @property
    def shape(self):
        return self._value.shape

    @property
    def dtype(self):
        return self._value.dtype.name

    @property
    def ndim(self):
        return self._value.ndim

    @property
    def size(self):
        return self._value.size

    def numpy(self):
        return self._value.copy()

    def assign(self, value):
        """Write `value` (same shape, real numbers) into the variable, in place."""
        array = np.asarray(value)
        if array.shape != self.shape:
            raise ValueError(f"assign: {self.path} has shape {self.shape}, received shape "
                             f"{array.shape}")
        if array.dtype.kind not in "biuf":
            raise TypeError(f"assign: expected real numbers, received dtype {array.dtype}")
        self._value[...] = array
        return self

    def assign_add(self, value):
        return self.assign(self._value + np.asarray(value))

    def assign_sub(self, value):
        return self.assign(self._value - np.asarray(value))

    # -- behaving like an array
    def __array__(self, dtype=None, copy=None):
        if copy:
            return np.array(self._value, dtype=dtype, copy=True)
        return self._value if dtype is None else self._value.astype(dtype, copy=False)

    def __len__(self):
        return len(self._value)

    def __getitem__(self, index):
        return self._value[index]

    def __iter__(self):
        return iter(self._value)

    def __repr__(self):
        return (f"<Variable path={self.path}, shape={self.shape}, dtype={self.dtype}, "
                f"value={np.array2string(self._value, threshold=6)}>")


def _binary(name):
    operator = getattr(np.ndarray, name)
    return lambda self, other: operator(self._value, np.asarray(other))


for _name in ("__add__", "__radd__", "__sub__", "__rsub__", "__mul__", "__rmul__",
              "__truediv__", "__rtruediv__", "__matmul__", "__rmatmul__", "__pow__",
              "__lt__", "__le__", "__gt__", "__ge__"):
    setattr(Variable, _name, _binary(_name))
Variable.__neg__ = lambda self: -self._value
