"""Weights as Keras-style variables that stay live while their storage moves.

A layer creates its weights with `add_weight`; each is a Variable holding a NumPy array. A model
moves the arrays of all its variables into one flat parameter buffer (and gives each a view of
one flat gradient buffer), so an optimizer step is one kernel call; the Variable object stays
the same, so a reference taken before `compile()` or `fit()` keeps seeing the trained values.
"""
import contextlib
import contextvars
import math

import numpy as np

from .graph.tensor import OPERATOR_UFUNCS, add_operators

__all__ = ["Variable", "checked_weights"]

# The bytes of weights add_weight may still create (None: no limit), set while a model is
# rebuilt from a file, whose weights it must match: a tiny crafted configuration cannot make
# the rebuild allocate gigabytes before the file's arrays are compared with the model's.
_weight_bytes_left = contextvars.ContextVar("nerve_weight_bytes_left", default=None)


@contextlib.contextmanager
def weight_budget(nbytes):
    """Within the block, add_weight refuses weights beyond `nbytes` bytes in all."""
    token = _weight_bytes_left.set([nbytes])
    try:
        yield
    finally:
        _weight_bytes_left.reset(token)


def spend_weight_budget(layer_name, shape, dtype):
    """Count a new weight against the budget: ValueError, before any allocation, past it."""
    left = _weight_bytes_left.get()
    if left is not None:
        left[0] -= math.prod(shape) * np.dtype(dtype).itemsize
        if left[0] < 0:
            raise ValueError(f"{layer_name}: a weight of shape {shape} takes the weights past "
                             f"the bytes the file holds")


class Variable:
    """One weight of a layer: `.numpy()` (a copy), `.assign(value)`, `.shape`, `.dtype`,
    `.name`, `.path` ("dense/kernel"), `.trainable`, and `np.asarray(v)` (a view)."""

    def __init__(self, value, name, layer, trainable=True, regularizer=None, constraint=None):
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
    def value(self):
        """The current array (a view into the model's parameter buffer once it is packed)."""
        return self._value

    @property
    def path(self):
        return self.name if self._layer is None else f"{self._layer.name}/{self.name}"

    @property
    def trainable(self):
        return self._trainable and (self._layer is None or self._layer.trainable)

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
        """Write `value` (same shape, real numbers) into the variable, in place. Inside a
        traced call() with a symbolic value, the assignment joins the graph: it happens each
        time the model runs that call (after the backward pass, in training)."""
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

    def assign_add(self, value):
        return self.assign(_ops().add(self, value))

    def assign_sub(self, value):
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


def checked_weights(weights, shapes, owner):
    """The arrays of `weights` after checking count and shapes against `shapes`."""
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
