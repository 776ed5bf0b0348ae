"""Losses (keras.losses). Each is computed, with its gradient, by one backend kernel; the
value is the batch mean sum_i(w_i * l_i) / rows as Keras's "sum_over_batch_size"."""
import numpy as np

from . import utils
from .backend import get_backend

__all__ = ["Loss", "BinaryCrossentropy", "CategoricalCrossentropy",
           "SparseCategoricalCrossentropy", "MeanSquaredError", "MeanAbsoluteError", "Huber",
           "get", "serialize", "deserialize"]


class Loss(utils.Configurable):
    """kind: the backend loss kernel. A subclass with from_logits takes raw scores."""

    kind = None
    sparse = False  # y_true holds integer class labels instead of a target per output
    from_logits = False
    delta = 1.0
    _config_keys = ("name",)

    def __init__(self, name=None):
        self.name = name or _snake_case(type(self).__name__)

    def kernel_kind(self, logits=False):
        """The backend kind; `logits` when the model feeds pre-activations to the loss."""
        return self.kind + "_logits" if (logits or self.from_logits) else self.kind

    def __call__(self, y_true, y_pred, sample_weight=None):
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


class _ProbabilisticLoss(Loss):
    _config_keys = ("name", "from_logits")

    def __init__(self, from_logits=False, name=None):
        super().__init__(name)
        self.from_logits = bool(from_logits)


def _smoothed(y_true, label_smoothing, classes):
    """Keras's label smoothing: y * (1 - ls) + ls / classes, as a new array."""
    return y_true * (1.0 - label_smoothing) + label_smoothing / classes


class _SmoothedLoss(_ProbabilisticLoss):
    """A cross-entropy whose targets are smoothed towards uniform by label_smoothing; models
    smooth their target arrays once (metrics still see the given labels)."""

    _config_keys = ("name", "from_logits", "label_smoothing")

    def __init__(self, from_logits=False, label_smoothing=0.0, name=None):
        super().__init__(from_logits, name)
        value = float(label_smoothing)
        if not (np.isfinite(value) and 0 <= value <= 1):
            raise ValueError(f"label_smoothing: expected a number in [0, 1], received "
                             f"{label_smoothing!r}")
        self.label_smoothing = value

    def smooth(self, y_true, classes):
        """y_true (rows, classes) as the kernel should see it."""
        return _smoothed(y_true, self.label_smoothing, self._smoothing_classes(classes))

    def __call__(self, y_true, y_pred, sample_weight=None):
        if self.label_smoothing:
            y_true = self.smooth(np.asarray(y_true, dtype=np.float64), np.shape(y_pred)[-1])
        return super().__call__(y_true, y_pred, sample_weight)


class BinaryCrossentropy(_SmoothedLoss):
    kind = "binary_crossentropy"

    @staticmethod
    def _smoothing_classes(classes):
        return 2  # each output is its own two-class problem: y*(1-ls) + 0.5*ls


class CategoricalCrossentropy(_SmoothedLoss):
    kind = "categorical_crossentropy"

    @staticmethod
    def _smoothing_classes(classes):
        return classes


class SparseCategoricalCrossentropy(_ProbabilisticLoss):
    kind = "sparse_categorical_crossentropy"
    sparse = True


class MeanSquaredError(Loss):
    kind = "mse"


class MeanAbsoluteError(Loss):
    kind = "mae"


class Huber(Loss):
    kind = "huber"
    _config_keys = ("name", "delta")

    def __init__(self, delta=1.0, name="huber_loss"):
        super().__init__(name)
        delta = float(delta)
        if not (np.isfinite(delta) and delta > 0):
            raise ValueError(f"delta: expected a finite number > 0, received {delta!r}")
        self.delta = delta


def _snake_case(name):
    return "".join("_" + c.lower() if c.isupper() else c for c in name).lstrip("_")


_CLASSES = (BinaryCrossentropy, CategoricalCrossentropy, SparseCategoricalCrossentropy,
            MeanSquaredError, MeanAbsoluteError, Huber)
_REGISTRY = {**{cls.__name__: cls for cls in _CLASSES},
             "binary_crossentropy": BinaryCrossentropy,
             "categorical_crossentropy": CategoricalCrossentropy,
             "sparse_categorical_crossentropy": SparseCategoricalCrossentropy,
             "mean_squared_error": MeanSquaredError, "mse": MeanSquaredError,
             "mean_absolute_error": MeanAbsoluteError, "mae": MeanAbsoluteError,
             "huber": Huber, "huber_loss": Huber}
serialize = utils.serialize


def get(identifier):
    """A Loss from a Keras name ("binary_crossentropy", "mse"), an instance or a config."""
    return utils.lookup(identifier, _REGISTRY, "loss", Loss)


deserialize = get
