"""Losses (keras.losses). A built-in loss is computed, with its gradient, by one backend
kernel; the value is the batch mean sum_i(w_i * l_i) / rows as Keras's "sum_over_batch_size".

A user's loss is a function fn(y_true, y_pred) -> per-sample losses, or a Loss subclass
with call(y_true, y_pred). Written with nerve.ops, it is traced once into the model's plan
(y_true and y_pred symbolic) and differentiated there; its value is the mean of what it
returns (weighted by sample weights), as Keras reduces it. The function forms of the built-in
losses (mean_squared_error, binary_crossentropy, ...) are written with nerve.ops too, so they
compose inside a user's loss.
"""
from typing import Any, Callable, Dict, Union

from .. import utils
from .._typing import Tensor
from .functions import (binary_crossentropy, categorical_crossentropy, huber, mae,
                        mean_absolute_error, mean_squared_error, mse,
                        sparse_categorical_crossentropy)
from .loss import Loss, LossFunctionWrapper
from .losses import (BinaryCrossentropy, CategoricalCrossentropy, Huber, MeanAbsoluteError,
                     MeanSquaredError, SparseCategoricalCrossentropy)

__all__ = ["Loss", "LossFunctionWrapper", "BinaryCrossentropy", "CategoricalCrossentropy",
           "SparseCategoricalCrossentropy", "MeanSquaredError", "MeanAbsoluteError", "Huber",
           "mean_squared_error", "mean_absolute_error", "binary_crossentropy",
           "categorical_crossentropy", "sparse_categorical_crossentropy", "huber", "mse", "mae",
           "get", "serialize", "deserialize"]


_CLASSES = (BinaryCrossentropy, CategoricalCrossentropy, SparseCategoricalCrossentropy,
            MeanSquaredError, MeanAbsoluteError, Huber)
_REGISTRY = {**{cls.__name__: cls for cls in _CLASSES},
             "LossFunctionWrapper": LossFunctionWrapper,
             "binary_crossentropy": BinaryCrossentropy,
             "categorical_crossentropy": CategoricalCrossentropy,
             "sparse_categorical_crossentropy": SparseCategoricalCrossentropy,
             "mean_squared_error": MeanSquaredError, "mse": MeanSquaredError,
             "mean_absolute_error": MeanAbsoluteError, "mae": MeanAbsoluteError,
             "huber": Huber, "huber_loss": Huber}
# The function forms given to compile() run on their kernels, as their classes do.
_FUNCTION_CLASSES = {mean_squared_error: MeanSquaredError, mean_absolute_error: MeanAbsoluteError,
                     binary_crossentropy: BinaryCrossentropy,
                     categorical_crossentropy: CategoricalCrossentropy,
                     sparse_categorical_crossentropy: SparseCategoricalCrossentropy,
                     huber: Huber}
serialize = utils.serialize


def get(identifier: Union[str, Loss, Dict[str, Any], type, Callable[..., Tensor]]) -> Loss:
    """A Loss from an identifier, as Keras's losses.get.

    Args:
        identifier: A Keras name ("binary_crossentropy", "mse", "huber", ...), a Loss (returned
            as is), a Loss subclass (instantiated), a {"class_name", "config"} dict (as
            serialize writes), or a function fn(y_true, y_pred) -> per-sample losses (this
            module's functions run on their kernels; others are wrapped in a
            LossFunctionWrapper).

    Returns:
        A Loss.

    Raises:
        ValueError: When the name is unknown or the dict lacks "class_name".
        TypeError: When `identifier` is none of these.

    Example:
        >>> import nerve
        >>> nerve.losses.get("mse")
        MeanSquaredError(name='mean_squared_error')
        >>> type(nerve.losses.get(nerve.losses.huber)).__name__
        'Huber'
    """
    if callable(identifier) and identifier in _FUNCTION_CLASSES:
        return _FUNCTION_CLASSES[identifier]()
    found = utils.lookup(identifier, _REGISTRY, "loss", Loss) if not callable(identifier) \
        or isinstance(identifier, (type, Loss)) else identifier
    return found if isinstance(found, Loss) else LossFunctionWrapper(found)


deserialize = get
