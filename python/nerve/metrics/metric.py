"""Metrics (keras.metrics): stateful, update_state(y_true, y_pred) / result() / reset_state().

Models feed them the predictions they already computed during training, in chunks, only when
a value is asked for; accumulating chunk by chunk equals Keras's per-batch accumulation.
"""
from typing import Any, Callable, Dict, List, Optional, Tuple, Union

import numpy as np

from .. import registration, utils
from .._typing import ArrayLike, DTypeLike, Shape
from ..variables import Variable

__all__ = ["Metric", "MeanMetricWrapper", "BinaryAccuracy", "CategoricalAccuracy",
           "SparseCategoricalAccuracy",
           "Precision", "Recall", "AUC", "MeanSquaredError", "MeanAbsoluteError", "get",
           "serialize", "deserialize"]


def _as_2d(y_pred, dtype=np.float64):
    y_pred = np.asarray(y_pred, dtype=dtype)
    return y_pred.reshape(len(y_pred), -1)


def _like(y_true, y_pred, dtype=np.float64):
    """y_true reshaped to y_pred's (rows, outputs) when it holds one value per output."""
    y_true = np.asarray(y_true, dtype=dtype)
    return y_true.reshape(y_pred.shape) if y_true.size == y_pred.size else y_true


class Metric(utils.Configurable):
    """Base class of metrics (keras.metrics.Metric): state updated batch by batch.

    update_state(y_true, y_pred, sample_weight=None) accumulates, result() reads the value,
    reset_state() starts over. A user's subclass keeps its state in add_weight variables (reset
    to zeros by the default reset_state) and updates them with nerve.ops, on arrays. Models
    feed metrics the predictions they already computed during training, in chunks, only when a
    value is asked for. get_config returns the arguments named in `_config_keys` and
    from_config calls the constructor.

    Args:
        name: Str or None, default None (the class name in snake case).
        dtype: "float32", "float64" or None, default None (nerve.utils.floatx()): the state's
            dtype.

    Raises:
        ValueError: When `dtype` is not a float dtype.

    Example:
        >>> import numpy as np, nerve
        >>> class Total(nerve.metrics.Metric):
        ...     def __init__(self, name=None):
        ...         super().__init__(name)
        ...         self.total = self.add_weight()
        ...     def update_state(self, y_true, y_pred, sample_weight=None):
        ...         self.total.assign_add(nerve.ops.sum(y_pred))
        ...     def result(self):
        ...         return float(self.total.numpy())
        >>> metric = Total()
        >>> metric.update_state(None, np.ones(3))
        >>> metric.result(), metric.name
        (3.0, 'total')
    """

    _config_keys: Tuple[str, ...] = ("name",)

    def __init__(self, name: Optional[str] = None, dtype: Optional[DTypeLike] = None) -> None:
        self.name = name or _default_name(type(self))
        self.dtype = utils.standardize_dtype(dtype or utils.floatx())
        self._variables: List[Variable] = []

    def add_weight(self, shape: Shape = (), initializer: Any = "zeros",
                   dtype: Optional[DTypeLike] = None,
                   name: Optional[str] = None) -> Variable:
        """A state Variable of the metric, reset to zeros by reset_state().

        Args:
            shape: Sequence of ints, default () (a scalar).
            initializer: An initializer identifier (nerve.initializers.get), default "zeros".
            dtype: The variable's dtype, default None (the metric's).
            name: Str or None, default None ("variable_<n>").

        Returns:
            A new Variable, not trainable.

        Raises:
            ValueError: When the initializer is unknown.

        Example:
            >>> import nerve
            >>> metric = nerve.metrics.Metric()
            >>> metric.add_weight((2,), initializer="ones").numpy()
            array([1., 1.], dtype=float32)
        """
        from .. import initializers

        shape = tuple(shape)
        dtype = np.dtype(dtype or self.dtype)
        value = np.asarray(initializers.get(initializer)(shape, dtype.name), dtype)
        variable = Variable(value, name or f"variable_{len(self._variables)}", None, False)
        self._variables.append(variable)
        return variable

    @property
    def variables(self) -> List[Variable]:
        """The variables add_weight created, as a new list."""
        return list(self._variables)

    def reset_state(self) -> None:
        """Forget everything seen: the state variables become zeros.

        Example:
            >>> import nerve
            >>> metric = nerve.metrics.MeanAbsoluteError()
            >>> metric.update_state([[1.0]], [[0.0]])
            >>> metric.reset_state()
            >>> metric.result()
            0.0
        """
        for variable in self._variables:
            variable.assign(np.zeros(variable.shape, variable.dtype))

    def update_state(self, y_true: ArrayLike, y_pred: ArrayLike,
                     sample_weight: Optional[ArrayLike] = None) -> None:
        """Accumulate a batch (a subclass defines this).

        Args:
            y_true: Array-like, the targets.
            y_pred: Array-like, the predictions, one row per sample.
            sample_weight: Array-like of one weight per sample, or None (default: all 1).

        Raises:
            NotImplementedError: On Metric itself.

        Example:
            >>> import nerve
            >>> metric = nerve.metrics.MeanSquaredError()
            >>> metric.update_state([[1.0], [1.0]], [[0.0], [3.0]], sample_weight=[1, 0])
            >>> metric.result()
            1.0
        """
        raise NotImplementedError(f"{type(self).__name__} defines no update_state(y_true, "
                                  f"y_pred, sample_weight=None)")

    def result(self) -> Any:
        """The metric over everything seen since the last reset (a subclass defines this).

        Returns:
            The value, a Python float for the built-in metrics (0.0 before any data).

        Raises:
            NotImplementedError: On Metric itself.

        Example:
            >>> import nerve
            >>> metric = nerve.metrics.BinaryAccuracy()
            >>> metric.update_state([[1], [0]], [[0.7], [0.6]])
            >>> metric.result()
            0.5
        """
        raise NotImplementedError(f"{type(self).__name__} defines no result()")

    def __call__(self, y_true: ArrayLike, y_pred: ArrayLike,
                 sample_weight: Optional[ArrayLike] = None) -> Any:
        """The metric over this data alone; the metric's own state is left untouched.

        Args:
            y_true: Array-like, the targets.
            y_pred: Array-like, the predictions.
            sample_weight: Array-like of one weight per sample, or None (default).

        Returns:
            What result() returns for a fresh copy fed this data.

        Example:
            >>> import nerve
            >>> nerve.metrics.MeanAbsoluteError()([[1.0], [1.0]], [[0.0], [2.0]])
            1.0
        """
        fresh = type(self).from_config(self.get_config())
        fresh.update_state(y_true, y_pred, sample_weight)
        return fresh.result()


class _MeanMetric(Metric):
    """Weighted mean of a per-sample value."""

    def __init__(self, name: Optional[str] = None, dtype: Optional[DTypeLike] = None) -> None:
        super().__init__(name, dtype)
        self.reset_state()

    def reset_state(self) -> None:
        self._total, self._count = 0.0, 0.0

    def _samplewise(self, y_true, y_pred):
        """One value per sample (rows,)."""
        return self._per_sample(y_true, _as_2d(y_pred))

    def update_state(self, y_true: ArrayLike, y_pred: ArrayLike,
                     sample_weight: Optional[ArrayLike] = None) -> None:
        values = self._samplewise(y_true, y_pred)
        if sample_weight is None:
            self._total += float(values.sum())
            self._count += len(values)
        else:
            weights = np.asarray(sample_weight, dtype=np.float64).reshape(-1)
            self._total += float(np.dot(values, weights))
            self._count += float(weights.sum())

    def result(self) -> float:
        return self._total / self._count if self._count else 0.0


class MeanMetricWrapper(_MeanMetric):
    """The mean over all samples seen of fn(y_true, y_pred, **kwargs).

    What Keras makes of a function in compile(metrics=[...]). `fn` receives the arrays as given
    (y_true cast to y_pred's dtype and brought to its rank); values per element are averaged
    per sample. Its configuration records the function's registered name.

    Args:
        fn: Callable returning one value per sample (or per element).
        name: Str or None, default None (the function's name).
        dtype: "float32", "float64" or None, default None.
        **kwargs: Passed to `fn` on every call (and kept in the configuration).

    Raises:
        TypeError: When `fn` is not callable.
        ValueError: When `dtype` is not a float dtype.

    Example:
        >>> import numpy as np, nerve
        >>> def within_one(y_true, y_pred):
        ...     return np.abs(y_true - y_pred) <= 1
        >>> metric = nerve.metrics.MeanMetricWrapper(within_one)
        >>> metric.update_state([[0.0], [0.0]], [[0.5], [3.0]])
        >>> metric.name, metric.result()
        ('within_one', 0.5)
    """

    def __init__(self, fn: Callable[..., Any], name: Optional[str] = None,
                 dtype: Optional[DTypeLike] = None,
                 **kwargs: Any) -> None:
        if not callable(fn):
            raise TypeError(f"fn: expected a function, received {type(fn).__name__}")
        self.fn, self._fn_kwargs = fn, kwargs
        super().__init__(name or getattr(fn, "__name__", "metric"), dtype)

    def _samplewise(self, y_true, y_pred):
        """fn on the arrays as given (y_true brought to y_pred's rank), averaged per sample."""
        from ..losses import _same_rank

        y_pred = np.asarray(y_pred)
        y_true = np.asarray(_same_rank(np.asarray(y_true), y_pred), y_pred.dtype)
        values = np.asarray(self.fn(y_true, y_pred, **self._fn_kwargs), np.float64)
        return values.reshape(len(y_pred), -1).mean(axis=1) if values.ndim else values.reshape(1)

    def get_config(self):
        return {"name": self.name, "fn": registration.get_registered_name(self.fn),
                **self._fn_kwargs}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        return cls(registration.function_named(config.pop("fn"), "metric"), **config)


class BinaryAccuracy(_MeanMetric):
    """The fraction of outputs where (y_pred > threshold) equals y_true.

    Args:
        name: Str or None, default None ("binary_accuracy").
        threshold: Finite float, default 0.5.

    Raises:
        ValueError: When `threshold` is not a finite number.

    Example:
        >>> import nerve
        >>> nerve.metrics.BinaryAccuracy()([[1], [0]], [[0.7], [0.6]])
        0.5
    """
    _config_keys = ("name", "threshold")

    def __init__(self, name: Optional[str] = None, threshold: float = 0.5) -> None:
        self.threshold = utils.finite_number(threshold, f"{type(self).__name__}: threshold")
        super().__init__(name)

    def _per_sample(self, y_true, y_pred):
        return ((y_pred > self.threshold) == _like(y_true, y_pred)).mean(axis=1)


class CategoricalAccuracy(_MeanMetric):
    """The fraction of samples whose largest prediction is at the one-hot target's class.

    Args:
        name: Str or None, default None ("categorical_accuracy").
        dtype: "float32", "float64" or None, default None.

    Raises:
        ValueError: When `dtype` is not a float dtype.

    Example:
        >>> import nerve
        >>> nerve.metrics.CategoricalAccuracy()([[0, 1], [1, 0]], [[0.2, 0.8], [0.3, 0.7]])
        0.5
    """
    # argmax in the arrays' own dtypes: widening to float64 keeps every order and tie, and
    # converting an epoch's predictions and targets cost 70 ms of a 0.7 s MNIST epoch.
    def _samplewise(self, y_true, y_pred):
        return self._per_sample(y_true, _as_2d(y_pred, dtype=None))

    def _per_sample(self, y_true, y_pred):
        y_true = _like(y_true, y_pred, dtype=None)
        return (y_true.argmax(axis=1) == y_pred.argmax(axis=1)).astype(np.float64)


class SparseCategoricalAccuracy(_MeanMetric):
    """The fraction of samples whose largest prediction is at their integer label.

    Args:
        name: Str or None, default None ("sparse_categorical_accuracy").
        dtype: "float32", "float64" or None, default None.

    Raises:
        ValueError: When `dtype` is not a float dtype.

    Example:
        >>> import nerve
        >>> nerve.metrics.SparseCategoricalAccuracy()([1, 0], [[0.2, 0.8], [0.3, 0.7]])
        0.5
    """
    def _per_sample(self, y_true, y_pred):
        labels = np.asarray(y_true).reshape(-1)
        return (labels == y_pred.argmax(axis=1)).astype(np.float64)


class MeanSquaredError(_MeanMetric):
    """The mean of (y_true - y_pred) ** 2 over all outputs seen (the name "mse").

    Args:
        name: Str or None, default None ("mean_squared_error").
        dtype: "float32", "float64" or None, default None.

    Raises:
        ValueError: When `dtype` is not a float dtype.

    Example:
        >>> import nerve
        >>> nerve.metrics.MeanSquaredError()([[0.0, 1.0]], [[1.0, 1.0]])
        0.5
    """
    def _per_sample(self, y_true, y_pred):
        return ((y_pred - _like(y_true, y_pred)) ** 2).mean(axis=1)


class MeanAbsoluteError(_MeanMetric):
    """The mean of |y_true - y_pred| over all outputs seen (the name "mae").

    Args:
        name: Str or None, default None ("mean_absolute_error").
        dtype: "float32", "float64" or None, default None.

    Raises:
        ValueError: When `dtype` is not a float dtype.

    Example:
        >>> import nerve
        >>> nerve.metrics.MeanAbsoluteError()([[0.0, 1.0]], [[2.0, 1.0]])
        1.0
    """
    def _per_sample(self, y_true, y_pred):
        return np.abs(y_pred - _like(y_true, y_pred)).mean(axis=1)


class _ConfusionMetric(Metric):
    """Counts of true/false positives with a score > threshold predicting the positive class
    (every output is a separate binary decision, as Keras)."""

    _config_keys = ("name", "thresholds")

    def __init__(self, thresholds: Optional[float] = None, name: Optional[str] = None) -> None:
        self.thresholds = 0.5 if thresholds is None else utils.finite_number(
            thresholds, f"{type(self).__name__}: thresholds")
        super().__init__(name)
        self.reset_state()

    def reset_state(self) -> None:
        self._tp = self._fp = self._fn = 0.0

    def update_state(self, y_true: ArrayLike, y_pred: ArrayLike,
                     sample_weight: Optional[ArrayLike] = None) -> None:
        scores = _as_2d(y_pred)
        positive = _like(y_true, scores) > 0.5
        predicted = scores > self.thresholds
        weights = (np.ones(len(scores)) if sample_weight is None
                   else np.asarray(sample_weight, dtype=np.float64).reshape(-1))[:, None]
        self._tp += float((weights * (predicted & positive)).sum())
        self._fp += float((weights * (predicted & ~positive)).sum())
        self._fn += float((weights * (~predicted & positive)).sum())


class Precision(_ConfusionMetric):
    """true positives / (true + false positives), over every output seen.

    Every output is a separate binary decision, as in Keras: a score above `thresholds`
    predicts the positive class, a target above 0.5 is positive. 0.0 when nothing was
    predicted positive.

    Args:
        thresholds: Finite float or None, default None (0.5).
        name: Str or None, default None ("precision").

    Raises:
        ValueError: When `thresholds` is not a finite number (a list of thresholds is not
            supported).

    Example:
        >>> import nerve
        >>> nerve.metrics.Precision()([[1], [0], [1]], [[0.9], [0.8], [0.1]])
        0.5
    """
    def result(self) -> float:
        found = self._tp + self._fp
        return self._tp / found if found else 0.0


class Recall(_ConfusionMetric):
    """true positives / (true positives + false negatives), over every output seen.

    Decisions as Precision; 0.0 when no target was positive.

    Args:
        thresholds: Finite float or None, default None (0.5).
        name: Str or None, default None ("recall").

    Raises:
        ValueError: When `thresholds` is not a finite number.

    Example:
        >>> import nerve
        >>> nerve.metrics.Recall()([[1], [0], [1]], [[0.9], [0.8], [0.1]])
        0.5
    """
    def result(self) -> float:
        actual = self._tp + self._fn
        return self._tp / actual if actual else 0.0


class AUC(Metric):
    """The area under the ROC curve, exact.

    It is computed from every stored score (ties count half), where Keras interpolates over
    200 thresholds, so it keeps all the scores seen since the last reset. Targets above 0.5
    are positive; 0.0 until both classes have been seen.

    Args:
        name: Str or None, default None ("auc").

    Example:
        >>> import nerve
        >>> nerve.metrics.AUC()([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])
        0.75
    """

    def __init__(self, name: Optional[str] = None) -> None:
        super().__init__(name)
        self.reset_state()

    def reset_state(self) -> None:
        self._scores: List[np.ndarray] = []
        self._labels: List[np.ndarray] = []
        self._weights: List[np.ndarray] = []

    def update_state(self, y_true: ArrayLike, y_pred: ArrayLike,
                     sample_weight: Optional[ArrayLike] = None) -> None:
        scores = _as_2d(y_pred)
        self._scores.append(scores.ravel())
        self._labels.append(_like(y_true, scores).ravel() > 0.5)
        weights = (np.ones(len(scores)) if sample_weight is None
                   else np.asarray(sample_weight, dtype=np.float64).reshape(-1))
        self._weights.append(np.repeat(weights, scores.shape[1]))

    def result(self) -> float:
        if not self._scores:
            return 0.0
        scores, labels, weights = (np.concatenate(a) for a in (self._scores, self._labels,
                                                                self._weights))
        order = np.argsort(-scores, kind="stable")
        scores, labels, weights = scores[order], labels[order], weights[order]
        # Cumulative weights at the end of each run of equal scores: the ROC curve's vertices.
        last_of_tie = np.r_[scores[1:] != scores[:-1], True]
        tp = np.cumsum(weights * labels)[last_of_tie]
        fp = np.cumsum(weights * ~labels)[last_of_tie]
        if tp[-1] == 0 or fp[-1] == 0:
            return 0.0
        tpr, fpr = np.r_[0.0, tp / tp[-1]], np.r_[0.0, fp / fp[-1]]
        return float(np.sum(np.diff(fpr) * (tpr[1:] + tpr[:-1]) / 2))


def _default_name(cls):
    return {"AUC": "auc"}.get(cls.__name__) or "".join(
        "_" + c.lower() if c.isupper() else c for c in cls.__name__).lstrip("_")


_CLASSES = (BinaryAccuracy, CategoricalAccuracy, SparseCategoricalAccuracy, Precision, Recall,
            AUC, MeanSquaredError, MeanAbsoluteError)
_REGISTRY = {**{cls.__name__: cls for cls in _CLASSES}, "MeanMetricWrapper": MeanMetricWrapper,
             **{_default_name(cls): cls for cls in _CLASSES},
             "mse": MeanSquaredError, "mae": MeanAbsoluteError}
_ACCURACY = ("accuracy", "acc")
serialize = utils.serialize


def get(identifier: Union[str, Metric, Dict[str, Any], type, Callable[..., Any]]) -> Metric:
    """A Metric from an identifier, as Keras's metrics.get.

    Args:
        identifier: A Keras name ("precision", "mae", "auc", ...; the metric is named after
            the string, as the history keys are), a Metric (returned as is), a Metric
            subclass (instantiated), a {"class_name", "config"} dict, or a function
            fn(y_true, y_pred) -> per-sample values (wrapped in a MeanMetricWrapper).

    Returns:
        A Metric.

    Raises:
        ValueError: When the name is unknown, or is "accuracy" / "acc" (which depends on the
            model's loss and outputs: compile resolves it).
        TypeError: When `identifier` is none of these.

    Example:
        >>> import nerve
        >>> nerve.metrics.get("mae").name
        'mae'
    """
    if callable(identifier) and not isinstance(identifier, (type, Metric)):
        return MeanMetricWrapper(identifier)
    if isinstance(identifier, str) and identifier.lower() in _ACCURACY:
        raise ValueError(f"{identifier!r} depends on the model's loss and outputs; "
                         f"models resolve it with nerve.metrics.resolve")
    metric = utils.lookup(identifier, _REGISTRY, "metric", Metric)
    if not isinstance(metric, Metric):  # the registered name of a user's function
        return MeanMetricWrapper(metric)
    if isinstance(identifier, str) and identifier in _REGISTRY:
        metric.name = identifier  # Keras names a metric after its string: history["mae"]
    return metric


def check(identifier: Any) -> None:
    """Raise ValueError now for an identifier that resolve() would reject later."""
    if not (isinstance(identifier, str) and identifier.lower() in _ACCURACY):
        get(identifier)


def resolve(identifier: Any, loss: Any, outputs: int) -> Metric:
    """The Metric for `identifier` on a model with `outputs` units trained with `loss`:
    "accuracy" is binary for binary cross-entropy or one output, sparse for integer labels,
    else categorical (Keras's rules); the history key stays the given name."""
    if not (isinstance(identifier, str) and identifier.lower() in _ACCURACY):
        return get(identifier)
    if loss.kind == "binary_crossentropy" or outputs == 1:
        return BinaryAccuracy(name=identifier)
    if loss.sparse:
        return SparseCategoricalAccuracy(name=identifier)
    return CategoricalAccuracy(name=identifier)


deserialize = get
