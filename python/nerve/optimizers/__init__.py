"""Optimizers (keras.optimizers) with Keras 3 defaults, and learning-rate schedules
(nerve.optimizers.schedules).

A model keeps all its trainable parameters in one flat buffer, so an optimizer's state is one
flat buffer per slot (Adam: m and v) and a training step is one backend call.
"""
from typing import Any, Dict, Union

from .. import utils
from . import schedules
from .optimizer import Optimizer
from .sgd import SGD
from .adam import Adam, AdamW
from .rmsprop import RMSprop
from .adagrad import Adagrad
# The schedules stay importable from here too, as before the package split.
from .schedules import (CosineDecay, ExponentialDecay, InverseTimeDecay,  # noqa: F401
                        LearningRateSchedule, PiecewiseConstantDecay, PolynomialDecay)

__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "schedules", "get",
           "serialize", "deserialize"]


_CLASSES = (SGD, Adam, AdamW, RMSprop, Adagrad)
_REGISTRY = {**{cls.__name__: cls for cls in _CLASSES},
             **{cls.__name__.lower(): cls for cls in _CLASSES}}


serialize = utils.serialize


def get(identifier: Union[str, "Optimizer", Dict[str, Any], type]) -> "Optimizer":
    """An Optimizer from an identifier, as Keras's optimizers.get.

    Args:
        identifier: A name ("adam", "SGD", "rmsprop", ...; made with its defaults), an
            Optimizer (returned as is), an Optimizer subclass (instantiated) or a
            {"class_name", "config"} dict (as serialize writes).

    Returns:
        An Optimizer.

    Raises:
        ValueError: When the name is unknown or the dict lacks "class_name".
        TypeError: When `identifier` is none of these.

    Example:
        >>> import nerve
        >>> nerve.optimizers.get("adam")
        Adam(learning_rate=0.001)
        >>> nerve.optimizers.get({"class_name": "SGD", "config": {"learning_rate": 0.1}})
        SGD(learning_rate=0.1)
    """
    return utils.lookup(identifier, _REGISTRY, "optimizer", Optimizer)


deserialize = get
