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

from .. import ops, registration, utils
from .._typing import DTypeLike, Tensor, TensorLike
from ..backend import get_backend
from ..graph import Graph, SymbolicTensor, is_symbolic, source_tensor

__all__ = ["Loss", "LossFunctionWrapper", "BinaryCrossentropy", "CategoricalCrossentropy",
           "SparseCategoricalCrossentropy", "MeanSquaredError", "MeanAbsoluteError", "Huber",
           "mean_squared_error", "mean_absolute_error", "binary_crossentropy",
           "categorical_crossentropy", "sparse_categorical_crossentropy", "huber", "mse", "mae",
           "get", "serialize", "deserialize"]


# ---- the function forms: per-sample losses (the mean over the last axis), as keras.losses --
def mean_squared_error(y_true: TensorLike, y_pred: TensorLike) -> Tensor:
    """The mean over the last axis of (y_true - y_pred) ** 2: one loss per sample.

    Written with nerve.ops, so it also works on symbolic tensors inside a user's loss; given
    to compile() it runs on the MeanSquaredError kernel. Also named nerve.losses.mse.

    Args:
        y_true: Tensor-like, the targets.
        y_pred: Tensor-like, the predictions (broadcast with y_true).

    Returns:
        A tensor of the per-sample losses (y_pred's shape without its last axis).

    Example:
        >>> import numpy as np, nerve
        >>> nerve.losses.mean_squared_error(np.array([[0.0, 1.0]]), np.array([[1.0, 1.0]]))
        array([0.5])
    """
    return ops.mean(ops.square(ops.subtract(y_true, y_pred)), axis=-1)


def mean_absolute_error(y_true: TensorLike, y_pred: TensorLike) -> Tensor:
    """The mean over the last axis of |y_true - y_pred|: one loss per sample (also `mae`).

    Args:
        y_true: Tensor-like, the targets.
        y_pred: Tensor-like, the predictions (broadcast with y_true).

    Returns:
        A tensor of the per-sample losses (y_pred's shape without its last axis).

    Example:
        >>> import numpy as np, nerve
        >>> nerve.losses.mean_absolute_error(np.array([[0.0, 1.0]]), np.array([[2.0, 1.0]]))
        array([1.])
    """
    return ops.mean(ops.abs(ops.subtract(y_true, y_pred)), axis=-1)


def _smoothed(y_true, label_smoothing, classes):
    """Keras's label smoothing: y * (1 - ls) + ls / classes (a new array or tensor)."""
    if not label_smoothing:
        return y_true
    return ops.add(ops.multiply(y_true, 1.0 - label_smoothing), label_smoothing / classes)


def binary_crossentropy(y_true: TensorLike, y_pred: TensorLike, from_logits: bool = False,
                        label_smoothing: float = 0.0, axis: int = -1) -> Tensor:
    """The binary cross-entropy of each output, averaged over `axis`: one loss per sample.

    Args:
        y_true: Tensor-like, targets in [0, 1].
        y_pred: Tensor-like, probabilities (or logits with from_logits=True).
        from_logits: Bool, default False.
        label_smoothing: Float in [0, 1], default 0.0: targets become
            y * (1 - label_smoothing) + label_smoothing / 2.
        axis: Int, default -1: the axis averaged over.

    Returns:
        A tensor of the per-sample losses.

    Example:
        >>> import numpy as np, nerve
        >>> nerve.losses.binary_crossentropy(np.array([[1.0]]), np.array([[0.5]])).round(4)
        array([0.6931])
    """
    y_true = _smoothed(y_true, label_smoothing, 2)
    return ops.mean(ops.binary_crossentropy(y_true, y_pred, from_logits=from_logits), axis=axis)


def categorical_crossentropy(y_true: TensorLike, y_pred: TensorLike, from_logits: bool = False,
                             label_smoothing: float = 0.0, axis: int = -1) -> Tensor:
    """The cross-entropy of one-hot (or probability) targets along `axis`: one loss per sample.

    Args:
        y_true: Tensor-like, one-hot targets (or class probabilities).
        y_pred: Tensor-like, probabilities (or logits with from_logits=True).
        from_logits: Bool, default False.
        label_smoothing: Float in [0, 1], default 0.0: targets become
            y * (1 - label_smoothing) + label_smoothing / classes.
        axis: Int, default -1: the class axis.

    Returns:
        A tensor of the per-sample losses.

    Example:
        >>> import numpy as np, nerve
        >>> nerve.losses.categorical_crossentropy(np.array([[0.0, 1.0]]),
        ...                                       np.array([[0.5, 0.5]])).round(4)
        array([0.6931])
    """
    y_true = _smoothed(y_true, label_smoothing, ops.shape(y_pred)[axis])
    return ops.categorical_crossentropy(y_true, y_pred, from_logits=from_logits, axis=axis)


def sparse_categorical_crossentropy(y_true: TensorLike, y_pred: TensorLike,
                                    from_logits: bool = False, axis: int = -1) -> Tensor:
    """The cross-entropy of integer class labels: one loss per sample.

    Args:
        y_true: Tensor-like of integer class indices (one per sample).
        y_pred: Tensor-like, probabilities (or logits with from_logits=True).
        from_logits: Bool, default False.
        axis: Int, default -1: the class axis.

    Returns:
        A tensor of the per-sample losses.

    Example:
        >>> import numpy as np, nerve
        >>> nerve.losses.sparse_categorical_crossentropy(np.array([1]),
        ...                                              np.array([[0.5, 0.5]])).round(4)
        array([0.6931])
    """
    return ops.sparse_categorical_crossentropy(y_true, y_pred, from_logits=from_logits,
                                               axis=axis)


def huber(y_true: TensorLike, y_pred: TensorLike, delta: float = 1.0) -> Tensor:
    """The Huber loss averaged over the last axis: one loss per sample.

    Each error e = |y_pred - y_true| costs e ** 2 / 2 up to `delta`, and
    delta * e - delta ** 2 / 2 beyond it.

    Args:
        y_true: Tensor-like, the targets.
        y_pred: Tensor-like, the predictions.
        delta: Float > 0, default 1.0.

    Returns:
        A tensor of the per-sample losses.

    Example:
        >>> import numpy as np, nerve
        >>> nerve.losses.huber(np.array([[0.0, 0.0]]), np.array([[0.5, 2.0]]))
        array([0.8125])
    """
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
    """Base class of losses (keras.losses.Loss).

    A built-in loss is computed, with its gradient, by one backend kernel (`kind` names it).
    A user's loss subclasses Loss and defines call(y_true, y_pred) -> per-sample losses,
    written with nerve.ops: it is traced once into the model's plan and differentiated there,
    and its value is the mean of what it returns (weighted by sample weights). get_config
    returns the arguments named in `_config_keys` and from_config calls the constructor.

    Args:
        name: Str or None, default None (the class name in snake case).
        reduction: Str, default "sum_over_batch_size", the only reduction nerve supports.
        dtype: None, "float32" or "float64", default None: checked and kept for Keras code;
            the loss is computed in y_pred's dtype.

    Raises:
        ValueError: When `reduction` is not "sum_over_batch_size", or `dtype` is not a float
            dtype.

    Example:
        >>> import numpy as np, nerve
        >>> class ScaledError(nerve.losses.Loss):
        ...     def call(self, y_true, y_pred):
        ...         return nerve.ops.mean(nerve.ops.abs(y_true - y_pred), axis=-1) * 10
        >>> float(ScaledError()(np.zeros((2, 1)), np.ones((2, 1))))
        10.0
        >>> ScaledError().name
        'scaled_error'
    """

    kind: Optional[str] = None
    sparse = False  # y_true holds integer class labels instead of a target per output
    from_logits = False
    delta = 1.0
    _config_keys: Tuple[str, ...] = ("name",)

    def __init__(self, name: Optional[str] = None, reduction: str = "sum_over_batch_size",
                 dtype: Optional[DTypeLike] = None) -> None:
        if reduction != "sum_over_batch_size":
            raise ValueError(f"reduction: nerve supports 'sum_over_batch_size' (Keras's "
                             f"default), received {reduction!r}")
        self.name = name or utils.snake_case(type(self).__name__)
        self.reduction = reduction
        self.dtype = None if dtype is None else utils.standardize_dtype(dtype)
        self._graphs: Dict[Any, Any] = {}

    def kernel_kind(self, logits: bool = False) -> str:
        """The backend kernel that computes this loss.

        Args:
            logits: Bool, default False: whether the model feeds pre-activations to the loss (it
                fuses a final sigmoid or softmax into it).

        Returns:
            The kernel's kind, a str ("mse", "binary_crossentropy_logits", ...).

        Raises:
            TypeError: When the loss has no kernel (a user's Loss subclass).

        Example:
            >>> import nerve
            >>> nerve.losses.BinaryCrossentropy().kernel_kind(logits=True)
            'binary_crossentropy_logits'
        """
        if self.kind is None:
            raise TypeError(f"{type(self).__name__} has no loss kernel: it computes call()")
        return self.kind + "_logits" if (logits or self.from_logits) else self.kind

    def call(self, y_true: Tensor, y_pred: Tensor) -> Tensor:
        """The per-sample losses; a user's subclass defines it, with nerve.ops.

        Args:
            y_true: Tensor, the targets (cast to y_pred's dtype and brought to its rank, unless
                the loss takes integer labels).
            y_pred: Tensor, the predictions.

        Returns:
            A tensor of per-sample (or per-element) losses; __call__ takes their mean.

        Raises:
            NotImplementedError: On Loss itself.

        Example:
            >>> import numpy as np, nerve
            >>> nerve.losses.MeanSquaredError().call(np.array([[0.0, 2.0]]), np.array([[0.0, 0.0]]))
            array([2.])
        """
        raise NotImplementedError(f"{type(self).__name__}: a Loss subclass defines call(y_true, "
                                  f"y_pred)")

    def __call__(self, y_true: TensorLike, y_pred: TensorLike,
                 sample_weight: Optional[TensorLike] = None) -> Any:
        """The loss of a batch: the weighted mean of the per-sample losses.

        Args:
            y_true: Tensor-like, the targets (integer labels for the sparse losses).
            y_pred: Tensor-like, the predictions, one row per sample.
            sample_weight: Tensor-like of one weight per sample, or None (default).

        Returns:
            The loss: a Python float from a kernel, else a scalar array (or a symbolic tensor on
            symbolic inputs).

        Raises:
            ValueError: When y_true cannot be brought to y_pred's shape (or the kernel refuses
                the shapes or labels).

        Example:
            >>> import numpy as np, nerve
            >>> loss = nerve.losses.MeanSquaredError()
            >>> float(loss(np.zeros((2, 1)), np.array([[1.0], [3.0]]), sample_weight=[1, 0]))
            0.5
        """
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
        from ..ops.core import tracing

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
    """A loss from a function fn(y_true, y_pred, **kwargs) -> per-sample losses.

    This is what get() and compile() make of a user's function. Its configuration records the
    function's registered name, so a model file rebuilds it once the function is registered
    (nerve.saving.register_keras_serializable) or passed in custom_objects.

    Args:
        fn: Callable written with nerve.ops.
        name: Str or None, default None (the function's name).
        reduction: Str, default "sum_over_batch_size" (the only one supported).
        **kwargs: Passed to `fn` on every call (and kept in the configuration).

    Raises:
        TypeError: When `fn` is not callable.
        ValueError: When `reduction` is not "sum_over_batch_size".

    Example:
        >>> import numpy as np, nerve
        >>> def cubed_error(y_true, y_pred, scale=1.0):
        ...     return nerve.ops.mean(nerve.ops.abs(y_true - y_pred) ** 3, axis=-1) * scale
        >>> loss = nerve.losses.LossFunctionWrapper(cubed_error, scale=2.0)
        >>> loss.name, float(loss(np.zeros((1, 1)), np.full((1, 1), 2.0)))
        ('cubed_error', 16.0)
    """

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
        value = utils.finite_number(label_smoothing, "label_smoothing")
        if not 0 <= value <= 1:
            raise ValueError(f"label_smoothing: expected a number in [0, 1], received "
                             f"{label_smoothing!r}")
        self.label_smoothing = value

    def smooth(self, y_true, classes):
        """The targets as the kernel sees them, smoothed towards uniform by label_smoothing.

        Args:
            y_true: Array (rows, classes), the targets.
            classes: Int, the number of classes (a binary loss smooths towards 0.5 regardless).

        Returns:
            A new array (y_true itself when label_smoothing is 0).

        Example:
            >>> import numpy as np, nerve
            >>> loss = nerve.losses.CategoricalCrossentropy(label_smoothing=0.2)
            >>> loss.smooth(np.array([[0.0, 1.0]]), 2)
            array([[0.1, 0.9]])
        """
        return _smoothed(y_true, self.label_smoothing, self._smoothing_classes(classes))

    def _function_arguments(self):
        return {"from_logits": self.from_logits, "label_smoothing": self.label_smoothing}

    def __call__(self, y_true: TensorLike, y_pred: TensorLike,
                 sample_weight: Optional[TensorLike] = None) -> Any:
        if self.label_smoothing and not is_symbolic([y_true, y_pred]):
            y_true = self.smooth(np.asarray(y_true, dtype=np.float64), np.shape(y_pred)[-1])
        return super().__call__(y_true, y_pred, sample_weight)


class BinaryCrossentropy(_SmoothedLoss):
    """Binary cross-entropy, each output its own two-class problem (keras.losses).

    Args:
        from_logits: Bool, default False: whether y_pred holds logits instead of probabilities.
        label_smoothing: Float in [0, 1], default 0.0: targets become
            y * (1 - label_smoothing) + label_smoothing / 2.
        name: Str or None, default None ("binary_crossentropy").

    Raises:
        ValueError: When label_smoothing is outside [0, 1] or NaN.
        ValueError: When label_smoothing is not a number.

    Example:
        >>> import numpy as np, nerve
        >>> loss = nerve.losses.BinaryCrossentropy()
        >>> round(float(loss(np.array([[1.0], [0.0]]), np.array([[0.5], [0.5]]))), 4)
        0.6931
    """
    kind = "binary_crossentropy"
    _function = staticmethod(binary_crossentropy)

    @staticmethod
    def _smoothing_classes(classes):
        return 2  # each output is its own two-class problem: y*(1-ls) + 0.5*ls


class CategoricalCrossentropy(_SmoothedLoss):
    """Cross-entropy of one-hot targets against class probabilities (keras.losses).

    Args:
        from_logits: Bool, default False: whether y_pred holds logits instead of probabilities.
        label_smoothing: Float in [0, 1], default 0.0: targets become
            y * (1 - label_smoothing) + label_smoothing / classes.
        name: Str or None, default None ("categorical_crossentropy").

    Raises:
        ValueError: When label_smoothing is outside [0, 1] or NaN.
        ValueError: When label_smoothing is not a number.

    Example:
        >>> import numpy as np, nerve
        >>> loss = nerve.losses.CategoricalCrossentropy()
        >>> round(float(loss(np.array([[0.0, 1.0]]), np.array([[0.5, 0.5]]))), 4)
        0.6931
    """
    kind = "categorical_crossentropy"
    _function = staticmethod(categorical_crossentropy)

    @staticmethod
    def _smoothing_classes(classes):
        return classes


class SparseCategoricalCrossentropy(_ProbabilisticLoss):
    """Cross-entropy of integer class labels against class probabilities (keras.losses).

    Args:
        from_logits: Bool, default False: whether y_pred holds logits instead of probabilities.
        name: Str or None, default None ("sparse_categorical_crossentropy").

    Example:
        >>> import numpy as np, nerve
        >>> loss = nerve.losses.SparseCategoricalCrossentropy()
        >>> round(float(loss(np.array([1, 0]), np.array([[0.5, 0.5], [0.5, 0.5]]))), 4)
        0.6931
    """
    kind = "sparse_categorical_crossentropy"
    sparse = True
    _function = staticmethod(sparse_categorical_crossentropy)


class MeanSquaredError(_BuiltinLoss):
    """Mean squared error (keras.losses.MeanSquaredError; the name "mse").

    Args:
        name: Str or None, default None ("mean_squared_error").
        reduction: Str, default "sum_over_batch_size" (the only one supported).
        dtype: None, "float32" or "float64", default None (kept; computed in y_pred's).

    Raises:
        ValueError: As Loss.

    Example:
        >>> import numpy as np, nerve
        >>> float(nerve.losses.MeanSquaredError()(np.array([[0.0, 1.0]]), np.array([[1.0, 1.0]])))
        0.5
    """
    kind = "mse"
    _function = staticmethod(mean_squared_error)


class MeanAbsoluteError(_BuiltinLoss):
    """Mean absolute error (keras.losses.MeanAbsoluteError; the name "mae").

    Args:
        name: Str or None, default None ("mean_absolute_error").
        reduction: Str, default "sum_over_batch_size" (the only one supported).
        dtype: None, "float32" or "float64", default None (kept; computed in y_pred's).

    Raises:
        ValueError: As Loss.

    Example:
        >>> import numpy as np, nerve
        >>> float(nerve.losses.MeanAbsoluteError()(np.array([[0.0, 1.0]]), np.array([[2.0, 1.0]])))
        1.0
    """
    kind = "mae"
    _function = staticmethod(mean_absolute_error)


class Huber(_BuiltinLoss):
    """The Huber loss: quadratic for errors up to `delta`, linear beyond (keras.losses).

    Args:
        delta: Finite float > 0, default 1.0.
        name: Str, default "huber_loss".

    Raises:
        ValueError: When delta is not a finite number > 0.
        ValueError: When delta is not a number.

    Example:
        >>> import numpy as np, nerve
        >>> float(nerve.losses.Huber()(np.array([[0.0]]), np.array([[2.0]])))
        1.5
    """
    kind = "huber"
    _config_keys = ("name", "delta")
    _function = staticmethod(huber)

    def __init__(self, delta: float = 1.0, name: str = "huber_loss") -> None:
        super().__init__(name)
        delta = utils.finite_number(delta, "delta")
        if not delta > 0:
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
    """A Loss from an identifier, as Keras's losses.get.

    Args:
        identifier: A Keras name ("binary_crossentropy", "mse", "huber", ...), a Loss (returned
            as is), a Loss subclass (instantiated), a {"class_name", "config"} dict (as
            serialize writes), or a function fn(y_true, y_pred) -> per-sample losses (this
            module's functions run on their kernels; others are wrapped in a
            LossFunctionWrapper).

    Returns:
        A Loss.

    Raises:
        ValueError: When the name is unknown or the dict lacks "class_name".
        TypeError: When `identifier` is none of these.

    Example:
        >>> import nerve
        >>> nerve.losses.get("mse")
        MeanSquaredError(name='mean_squared_error')
        >>> type(nerve.losses.get(nerve.losses.huber)).__name__
        'Huber'
    """
    if callable(identifier) and identifier in _FUNCTION_CLASSES:
        return _FUNCTION_CLASSES[identifier]()
    found = utils.lookup(identifier, _REGISTRY, "loss", Loss) if not callable(identifier) \
        or isinstance(identifier, (type, Loss)) else identifier
    return found if isinstance(found, Loss) else LossFunctionWrapper(found)


deserialize = get
