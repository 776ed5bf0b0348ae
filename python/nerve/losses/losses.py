"""The built-in loss classes, each computed with its gradient by one backend kernel."""
from typing import Any, Optional, Tuple

import numpy as np

from .. import utils
from .._typing import TensorLike
from ..graph import is_symbolic
from .functions import (_smoothed, binary_crossentropy, categorical_crossentropy, huber,
                        mean_absolute_error, mean_squared_error, sparse_categorical_crossentropy)
from .loss import Loss


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
        ValueError: When label_smoothing is not a number, or is outside [0, 1] or NaN.

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
        ValueError: When label_smoothing is not a number, or is outside [0, 1] or NaN.

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
        ValueError: When delta is not a number, or not a finite number > 0.

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
