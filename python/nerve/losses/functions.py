"""The function forms of the built-in losses: per-sample losses written with nerve.ops, so
they compose inside a user's loss.
"""
from .. import ops
from .._typing import Tensor, TensorLike


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
