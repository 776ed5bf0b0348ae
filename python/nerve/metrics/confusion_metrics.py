"""The metrics from confusion counts: Precision, Recall and AUC."""
from typing import List, Optional

import numpy as np

from .. import utils
from .._typing import ArrayLike
from .metric import _as_2d, _like, Metric


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
