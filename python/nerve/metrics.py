"""Metrics (keras.metrics): stateful, update_state(y_true, y_pred) / result() / reset_state().

Models feed them the predictions they already computed during training, in chunks, only when
a value is asked for; accumulating chunk by chunk equals Keras's per-batch accumulation.
"""
from typing import Any, Callable, Dict, List, Optional, Tuple, Union

import numpy as np

from . import registration, utils
from ._typing import ArrayLike, DTypeLike, Shape
from .variables import Variable

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
    """A metric's state, update_state(y_true, y_pred, sample_weight=None), result() and
    reset_state(). A user's subclass keeps its state in add_weight variables (reset to zeros
    by the default reset_state) and updates them with nerve.ops, on arrays."""

    _config_keys: Tuple[str, ...] = ("name",)

    def __init__(self, name: Optional[str] = None, dtype: DTypeLike = None) -> None:
        self.name = name or _default_name(type(self))
        self.dtype = utils.standardize_dtype(dtype or utils.floatx())
        self._variables: List[Variable] = []

    def add_weight(self, shape: Shape = (), initializer: Any = "zeros", dtype: DTypeLike = None,
                   name: Optional[str] = None) -> Variable:
        """A state Variable, reset to zeros by reset_state()."""
        from . import initializers

        shape = tuple(shape)
        dtype = np.dtype(dtype or self.dtype)
        value = np.asarray(initializers.get(initializer)(shape, dtype.name), dtype)
        variable = Variable(value, name or f"variable_{len(self._variables)}", None, False)
        self._variables.append(variable)
        return variable

    @property
    def variables(self) -> List[Variable]:
        return list(self._variables)

    def reset_state(self) -> None:
        for variable in self._variables:
            variable.assign(np.zeros(variable.shape, variable.dtype))

    def update_state(self, y_true: ArrayLike, y_pred: ArrayLike,
                     sample_weight: Optional[ArrayLike] = None) -> None:
        raise NotImplementedError(f"{type(self).__name__} defines no update_state(y_true, "
                                  f"y_pred, sample_weight=None)")

    def result(self) -> Any:
        raise NotImplementedError(f"{type(self).__name__} defines no result()")

    def __call__(self, y_true: ArrayLike, y_pred: ArrayLike,
                 sample_weight: Optional[ArrayLike] = None) -> Any:
        """The metric over this data alone (the state is left untouched)."""
        fresh = type(self).from_config(self.get_config())
        fresh.update_state(y_true, y_pred, sample_weight)
        return fresh.result()


class _MeanMetric(Metric):
    """Weighted mean of a per-sample value."""

    def __init__(self, name: Optional[str] = None, dtype: DTypeLike = None) -> None:
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
    """The mean over all samples seen of fn(y_true, y_pred) (per-sample values), named after
    the function: what Keras makes of a function in compile(metrics=[...])."""

    def __init__(self, fn: Callable[..., Any], name: Optional[str] = None, dtype: DTypeLike = None,
                 **kwargs: Any) -> None:
        if not callable(fn):
            raise TypeError(f"fn: expected a function, received {type(fn).__name__}")
        self.fn, self._fn_kwargs = fn, kwargs
        super().__init__(name or getattr(fn, "__name__", "metric"), dtype)

    def _samplewise(self, y_true, y_pred):
        """fn on the arrays as given (y_true brought to y_pred's rank), averaged per sample."""
        from .losses import _same_rank

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
    _config_keys = ("name", "threshold")

    def __init__(self, name: Optional[str] = None, threshold: float = 0.5) -> None:
        self.threshold = utils.finite_number(threshold, f"{type(self).__name__}: threshold")
        super().__init__(name)

    def _per_sample(self, y_true, y_pred):
        return ((y_pred > self.threshold) == _like(y_true, y_pred)).mean(axis=1)


class CategoricalAccuracy(_MeanMetric):
    # argmax in the arrays' own dtypes: widening to float64 keeps every order and tie, and
    # converting an epoch's predictions and targets cost 70 ms of a 0.7 s MNIST epoch.
    def _samplewise(self, y_true, y_pred):
        return self._per_sample(y_true, _as_2d(y_pred, dtype=None))

    def _per_sample(self, y_true, y_pred):
        y_true = _like(y_true, y_pred, dtype=None)
        return (y_true.argmax(axis=1) == y_pred.argmax(axis=1)).astype(np.float64)


class SparseCategoricalAccuracy(_MeanMetric):
    def _per_sample(self, y_true, y_pred):
        labels = np.asarray(y_true).reshape(-1)
        return (labels == y_pred.argmax(axis=1)).astype(np.float64)


class MeanSquaredError(_MeanMetric):
    def _per_sample(self, y_true, y_pred):
        return ((y_pred - _like(y_true, y_pred)) ** 2).mean(axis=1)


class MeanAbsoluteError(_MeanMetric):
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
        y_pred = _as_2d(y_pred)
        positive = _like(y_true, y_pred) > 0.5
        predicted = y_pred > self.thresholds
        weights = (np.ones(len(y_pred)) if sample_weight is None
                   else np.asarray(sample_weight, dtype=np.float64).reshape(-1))[:, None]
        self._tp += float((weights * (predicted & positive)).sum())
        self._fp += float((weights * (predicted & ~positive)).sum())
        self._fn += float((weights * (~predicted & positive)).sum())


class Precision(_ConfusionMetric):
    def result(self) -> float:
        found = self._tp + self._fp
        return self._tp / found if found else 0.0


class Recall(_ConfusionMetric):
    def result(self) -> float:
        actual = self._tp + self._fn
        return self._tp / actual if actual else 0.0


class AUC(Metric):
    """Area under the ROC curve, exact: computed from every stored score (ties count half),
    where Keras interpolates over 200 thresholds."""

    def __init__(self, name: Optional[str] = None) -> None:
        super().__init__(name)
        self.reset_state()

    def reset_state(self) -> None:
        self._scores: List[np.ndarray] = []
        self._labels: List[np.ndarray] = []
        self._weights: List[np.ndarray] = []

    def update_state(self, y_true: ArrayLike, y_pred: ArrayLike,
                     sample_weight: Optional[ArrayLike] = None) -> None:
        y_pred = _as_2d(y_pred)
        self._scores.append(y_pred.ravel())
        self._labels.append(_like(y_true, y_pred).ravel() > 0.5)
        weights = (np.ones(len(y_pred)) if sample_weight is None
                   else np.asarray(sample_weight, dtype=np.float64).reshape(-1))
        self._weights.append(np.repeat(weights, y_pred.shape[1]))

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
    """A Metric from a Keras name ("precision", "mae"), an instance, a config dict, a Metric
    subclass or a function fn(y_true, y_pred) -> per-sample values (averaged over batches).
    "accuracy" depends on the loss and output shape: see resolve()."""
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
