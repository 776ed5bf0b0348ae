"""Losses (keras.losses). A built-in loss is computed, with its gradient, by one backend
kernel; the value is the batch mean sum_i(w_i * l_i) / rows as Keras's "sum_over_batch_size".

A user's loss is a function fn(y_true, y_pred) -> per-sample losses, or a Loss subclass
with call(y_true, y_pred). Written with nerve.ops, it is traced once into the model's plan
(y_true and y_pred symbolic) and differentiated there; its value is the mean of what it
returns (weighted by sample weights), as Keras reduces it. The function forms of the built-in
losses (mean_squared_error, binary_crossentropy, ...) are written with nerve.ops too, so they
compose inside a user's loss.
"""
from typing import Any, Callable, Dict, Optional, Tuple, Union

import numpy as np

from . import ops, registration, utils
from ._typing import DTypeLike, Tensor, TensorLike
from .backend import get_backend
from .graph import Graph, SymbolicTensor, is_symbolic, source_tensor

__all__ = ["Loss", "LossFunctionWrapper", "BinaryCrossentropy", "CategoricalCrossentropy",
           "SparseCategoricalCrossentropy", "MeanSquaredError", "MeanAbsoluteError", "Huber",
           "mean_squared_error", "mean_absolute_error", "binary_crossentropy",
           "categorical_crossentropy", "sparse_categorical_crossentropy", "huber", "mse", "mae",
           "get", "serialize", "deserialize"]


# ---- the function forms: per-sample losses (the mean over the last axis), as keras.losses --
def mean_squared_error(y_true: TensorLike, y_pred: TensorLike) -> Tensor:
    return ops.mean(ops.square(ops.subtract(y_true, y_pred)), axis=-1)


def mean_absolute_error(y_true: TensorLike, y_pred: TensorLike) -> Tensor:
    return ops.mean(ops.abs(ops.subtract(y_true, y_pred)), axis=-1)


def _smoothed(y_true, label_smoothing, classes):
    """Keras's label smoothing: y * (1 - ls) + ls / classes (a new array or tensor)."""
    if not label_smoothing:
        return y_true
    return ops.add(ops.multiply(y_true, 1.0 - label_smoothing), label_smoothing / classes)


def binary_crossentropy(y_true: TensorLike, y_pred: TensorLike, from_logits: bool = False,
                        label_smoothing: float = 0.0, axis: int = -1) -> Tensor:
    y_true = _smoothed(y_true, label_smoothing, 2)
    return ops.mean(ops.binary_crossentropy(y_true, y_pred, from_logits=from_logits), axis=axis)


def categorical_crossentropy(y_true: TensorLike, y_pred: TensorLike, from_logits: bool = False,
                             label_smoothing: float = 0.0, axis: int = -1) -> Tensor:
    y_true = _smoothed(y_true, label_smoothing, ops.shape(y_pred)[axis])
    return ops.categorical_crossentropy(y_true, y_pred, from_logits=from_logits, axis=axis)


def sparse_categorical_crossentropy(y_true: TensorLike, y_pred: TensorLike,
                                    from_logits: bool = False, axis: int = -1) -> Tensor:
    return ops.sparse_categorical_crossentropy(y_true, y_pred, from_logits=from_logits,
                                               axis=axis)


def huber(y_true: TensorLike, y_pred: TensorLike, delta: float = 1.0) -> Tensor:
    error = ops.abs(ops.subtract(y_pred, y_true))
    quadratic = ops.multiply(ops.square(error), 0.5)
    linear = ops.subtract(ops.multiply(error, delta), 0.5 * delta * delta)
    return ops.mean(ops.where(ops.less_equal(error, delta), quadratic, linear), axis=-1)


mse, mae = mean_squared_error, mean_absolute_error


def _same_rank(y_true, y_pred):
    """Keras's squeeze_or_expand_to_same_rank for the targets."""
    true_rank, pred_rank = len(ops.shape(y_true)), len(ops.shape(y_pred))
    if true_rank == pred_rank - 1:
        return ops.expand_dims(y_true, -1)
    if true_rank == pred_rank + 1 and ops.shape(y_true)[-1] == 1:
        return ops.squeeze(y_true, -1)
    return y_true


class Loss(utils.Configurable):
    """kind: the backend loss kernel of a built-in loss; None for a user's Loss subclass,
    whose call(y_true, y_pred) returns per-sample losses written with nerve.ops."""

    kind: Optional[str] = None
    sparse = False  # y_true holds integer class labels instead of a target per output
    from_logits = False
    delta = 1.0
    _config_keys: Tuple[str, ...] = ("name",)

    def __init__(self, name: Optional[str] = None, reduction: str = "sum_over_batch_size",
                 dtype: DTypeLike = None) -> None:
        if reduction != "sum_over_batch_size":
            raise ValueError(f"reduction: nerve supports 'sum_over_batch_size' (Keras's "
                             f"default), received {reduction!r}")
        self.name = name or utils.snake_case(type(self).__name__)
        self.reduction = reduction
        self.dtype = None if dtype is None else utils.standardize_dtype(dtype)
        self._graphs: Dict[Any, Any] = {}

    def kernel_kind(self, logits: bool = False) -> str:
        """The backend kind; `logits` when the model feeds pre-activations to the loss."""
        if self.kind is None:
            raise TypeError(f"{type(self).__name__} has no loss kernel: it computes call()")
        return self.kind + "_logits" if (logits or self.from_logits) else self.kind

    def call(self, y_true: Tensor, y_pred: Tensor) -> Tensor:
        """Per-sample losses (a user's subclass defines this, with nerve.ops)."""
        raise NotImplementedError(f"{type(self).__name__}: a Loss subclass defines call(y_true, "
                                  f"y_pred)")

    def __call__(self, y_true: TensorLike, y_pred: TensorLike,
                 sample_weight: Optional[TensorLike] = None) -> Any:
        if self.kind is None or is_symbolic([y_true, y_pred]):
            return self._reduced(y_true, y_pred, sample_weight)
        y_pred = np.asarray(y_pred)
        dtype = np.float64 if y_pred.dtype == np.float64 else np.float32
        y_pred = np.ascontiguousarray(y_pred, dtype=dtype).reshape(len(y_pred), -1)
        if self.sparse:
            y_true = np.ascontiguousarray(y_true, dtype=np.int64).reshape(-1)
        else:
            y_true = np.ascontiguousarray(y_true, dtype=y_pred.dtype).reshape(y_pred.shape)
        if sample_weight is not None:
            sample_weight = np.ascontiguousarray(sample_weight, dtype=y_pred.dtype).reshape(-1)
        return get_backend().loss(None, y_pred, y_true, self.kernel_kind(), sample_weight,
                                  self.delta)

    def _reduced(self, y_true, y_pred, sample_weight):
        """mean(call(y_true, y_pred) * sample_weight), on arrays or symbolic tensors."""
        if not isinstance(y_pred, SymbolicTensor):
            y_pred = ops.convert_to_tensor(y_pred)
        if not self.sparse:
            y_true = ops.cast(_same_rank(y_true, y_pred), y_pred.dtype)
        values = self.call(y_true, y_pred)
        if sample_weight is not None:
            weights = ops.cast(sample_weight, values.dtype)
            while len(ops.shape(weights)) < len(ops.shape(values)):
                weights = ops.expand_dims(weights, -1)
            values = ops.multiply(values, weights)
        return ops.mean(values)

    def _graph(self, y_pred, target_shape):
        """The graph of call() from (y_true, y_pred) sources to per-sample losses, traced once
        per shape (the targets are already in the shape call() receives)."""
        from .ops.core import tracing

        key = (tuple(y_pred.shape), tuple(target_shape), y_pred.dtype)
        if key not in self._graphs:
            sources = [source_tensor((None,) + tuple(target_shape), y_pred.dtype),
                       source_tensor(y_pred.shape, y_pred.dtype)]
            with tracing() as trace:
                values = self.call(*sources)
            if not isinstance(values, SymbolicTensor):
                raise TypeError(f"loss {self.name!r}: expected per-sample losses computed from "
                                f"y_true and y_pred with nerve.ops, received "
                                f"{type(values).__name__}")
            if np.dtype(values.dtype).kind != "f":
                raise TypeError(f"loss {self.name!r}: expected float losses, received dtype "
                                f"{values.dtype}")
            self._graphs[key] = Graph(sources, [values], self.name, trace.effects, trace.losses)
        return self._graphs[key]


class LossFunctionWrapper(Loss):
    """A loss from a function fn(y_true, y_pred, **kwargs) -> per-sample losses, named after
    the function."""

    def __init__(self, fn: Callable[..., Tensor], name: Optional[str] = None,
                 reduction: str = "sum_over_batch_size", **kwargs: Any) -> None:
        if not callable(fn):
            raise TypeError(f"fn: expected a function, received {type(fn).__name__}")
        super().__init__(name or getattr(fn, "__name__", "loss"), reduction)
        self.fn, self._fn_kwargs = fn, kwargs

    def call(self, y_true: Tensor, y_pred: Tensor) -> Tensor:
        return self.fn(y_true, y_pred, **self._fn_kwargs)

    def get_config(self):
        return {"name": self.name, "fn": registration.get_registered_name(self.fn),
                **self._fn_kwargs}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        return cls(registration.function_named(config.pop("fn"), "loss", globals()), **config)


class _BuiltinLoss(Loss):
    """A loss with a backend kernel; call() is its function form (for use inside a user's
    loss or on symbolic tensors)."""

    def call(self, y_true, y_pred):
        return type(self)._function(y_true, y_pred, **self._function_arguments())

    def _function_arguments(self):
        return {}


class _ProbabilisticLoss(_BuiltinLoss):
    _config_keys: Tuple[str, ...] = ("name", "from_logits")

    def __init__(self, from_logits: bool = False, name: Optional[str] = None) -> None:
        super().__init__(name)
        self.from_logits = bool(from_logits)

    def _function_arguments(self):
        return {"from_logits": self.from_logits}


class _SmoothedLoss(_ProbabilisticLoss):
    """A cross-entropy whose targets are smoothed towards uniform by label_smoothing; models
    smooth their target arrays once (metrics still see the given labels)."""

    _config_keys = ("name", "from_logits", "label_smoothing")

    def __init__(self, from_logits: bool = False, label_smoothing: float = 0.0,
                 name: Optional[str] = None) -> None:
        super().__init__(from_logits, name)
        value = float(label_smoothing)
        if not (np.isfinite(value) and 0 <= value <= 1):
            raise ValueError(f"label_smoothing: expected a number in [0, 1], received "
                             f"{label_smoothing!r}")
        self.label_smoothing = value

    def smooth(self, y_true, classes):
        """y_true (rows, classes) as the kernel should see it."""
        return _smoothed(y_true, self.label_smoothing, self._smoothing_classes(classes))

    def _function_arguments(self):
        return {"from_logits": self.from_logits, "label_smoothing": self.label_smoothing}

    def __call__(self, y_true: TensorLike, y_pred: TensorLike,
                 sample_weight: Optional[TensorLike] = None) -> Any:
        if self.label_smoothing and not is_symbolic([y_true, y_pred]):
            y_true = self.smooth(np.asarray(y_true, dtype=np.float64), np.shape(y_pred)[-1])
        return super().__call__(y_true, y_pred, sample_weight)


class BinaryCrossentropy(_SmoothedLoss):
    kind = "binary_crossentropy"
    _function = staticmethod(binary_crossentropy)

    @staticmethod
    def _smoothing_classes(classes):
        return 2  # each output is its own two-class problem: y*(1-ls) + 0.5*ls


class CategoricalCrossentropy(_SmoothedLoss):
    kind = "categorical_crossentropy"
    _function = staticmethod(categorical_crossentropy)

    @staticmethod
    def _smoothing_classes(classes):
        return classes


class SparseCategoricalCrossentropy(_ProbabilisticLoss):
    kind = "sparse_categorical_crossentropy"
    sparse = True
    _function = staticmethod(sparse_categorical_crossentropy)


class MeanSquaredError(_BuiltinLoss):
    kind = "mse"
    _function = staticmethod(mean_squared_error)


class MeanAbsoluteError(_BuiltinLoss):
    kind = "mae"
    _function = staticmethod(mean_absolute_error)


class Huber(_BuiltinLoss):
    kind = "huber"
    _config_keys = ("name", "delta")
    _function = staticmethod(huber)

    def __init__(self, delta: float = 1.0, name: str = "huber_loss") -> None:
        super().__init__(name)
        delta = float(delta)
        if not (np.isfinite(delta) and delta > 0):
            raise ValueError(f"delta: expected a finite number > 0, received {delta!r}")
        self.delta = delta

    def _function_arguments(self):
        return {"delta": self.delta}


_CLASSES = (BinaryCrossentropy, CategoricalCrossentropy, SparseCategoricalCrossentropy,
            MeanSquaredError, MeanAbsoluteError, Huber)
_REGISTRY = {**{cls.__name__: cls for cls in _CLASSES},
             "LossFunctionWrapper": LossFunctionWrapper,
             "binary_crossentropy": BinaryCrossentropy,
             "categorical_crossentropy": CategoricalCrossentropy,
             "sparse_categorical_crossentropy": SparseCategoricalCrossentropy,
             "mean_squared_error": MeanSquaredError, "mse": MeanSquaredError,
             "mean_absolute_error": MeanAbsoluteError, "mae": MeanAbsoluteError,
             "huber": Huber, "huber_loss": Huber}
# The function forms given to compile() run on their kernels, as their classes do.
_FUNCTION_CLASSES = {mean_squared_error: MeanSquaredError, mean_absolute_error: MeanAbsoluteError,
                     binary_crossentropy: BinaryCrossentropy,
                     categorical_crossentropy: CategoricalCrossentropy,
                     sparse_categorical_crossentropy: SparseCategoricalCrossentropy,
                     huber: Huber}
serialize = utils.serialize


def get(identifier: Union[str, Loss, Dict[str, Any], type, Callable[..., Tensor]]) -> Loss:
    """A Loss from a Keras name ("binary_crossentropy", "mse"), an instance, a config, a Loss
    subclass or a function fn(y_true, y_pred) -> per-sample losses."""
    if callable(identifier) and identifier in _FUNCTION_CLASSES:
        return _FUNCTION_CLASSES[identifier]()
    found = utils.lookup(identifier, _REGISTRY, "loss", Loss) if not callable(identifier) \
        or isinstance(identifier, (type, Loss)) else identifier
    return found if isinstance(found, Loss) else LossFunctionWrapper(found)


deserialize = get
