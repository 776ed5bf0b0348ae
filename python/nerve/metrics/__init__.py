"""Metrics (keras.metrics): stateful, update_state(y_true, y_pred) / result() / reset_state().

Models feed them the predictions they already computed during training, in chunks, only when
a value is asked for; accumulating chunk by chunk equals Keras's per-batch accumulation.
"""
from typing import Any, Callable, Dict, Union

from .. import utils
from .metric import _default_name, Metric
from .reduction_metrics import MeanMetricWrapper
from .accuracy_metrics import BinaryAccuracy, CategoricalAccuracy, SparseCategoricalAccuracy
from .regression_metrics import MeanAbsoluteError, MeanSquaredError
from .confusion_metrics import AUC, Precision, Recall

__all__ = ["Metric", "MeanMetricWrapper", "BinaryAccuracy", "CategoricalAccuracy",
           "SparseCategoricalAccuracy",
           "Precision", "Recall", "AUC", "MeanSquaredError", "MeanAbsoluteError", "get",
           "serialize", "deserialize"]


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
