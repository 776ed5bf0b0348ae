"""The regression metrics: mean squared and mean absolute error."""
import numpy as np

from .metric import _like
from .reduction_metrics import _MeanMetric


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
