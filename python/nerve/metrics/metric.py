"""The Metric base class: state variables, update_state / result / reset_state, config."""
from typing import Any, List, Optional, Tuple

import numpy as np

from .. import utils
from .._typing import ArrayLike, DTypeLike, Shape
from ..variables import Variable


def _as_2d(y_pred: ArrayLike, dtype: DTypeLike = np.float64) -> np.ndarray:
    y_pred = np.asarray(y_pred, dtype=dtype)
    return y_pred.reshape(len(y_pred), -1)


def _like(y_true: ArrayLike, y_pred: np.ndarray, dtype: DTypeLike = np.float64) -> np.ndarray:
    """y_true reshaped to y_pred's (rows, outputs) when it holds one value per output."""
    y_true = np.asarray(y_true, dtype=dtype)
    return y_true.reshape(y_pred.shape) if y_true.size == y_pred.size else y_true


def _default_name(cls):
    return {"AUC": "auc"}.get(cls.__name__) or "".join(
        "_" + c.lower() if c.isupper() else c for c in cls.__name__).lstrip("_")


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
