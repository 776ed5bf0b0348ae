"""The accuracy metrics: binary, categorical and sparse categorical."""
from typing import Optional

import numpy as np

from .. import utils
from .metric import _as_2d, _like
from .reduction_metrics import _MeanMetric


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
