"""Metrics that average one value per sample, and MeanMetricWrapper (a function as a metric)."""
from typing import Any, Callable, Optional

import numpy as np

from .. import registration
from .._typing import ArrayLike, DTypeLike
from .metric import _as_2d, Metric


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
        from ..losses.loss import _same_rank

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
