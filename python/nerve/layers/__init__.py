"""Layers (keras.layers): Input, Dense, Activation, Dropout, Flatten, the merge layers, the
convolution, pooling, padding, upsampling, normalization, embedding, activation,
preprocessing, reshaping and spatial dropout layers, and the Layer base class for your own.

Layers are the nodes of a model's graph: called on symbolic tensors (from `Input`) they record
the connection; called on arrays they compute at once. See nerve.layers.layer for how a layer
lowers to kernel calls.
"""
from typing import Any, Dict, Mapping, Optional

from .. import registration, utils
from .activations import ELU, LeakyReLU, PReLU, ReLU, Softmax
from .convolutional import Conv1D, Conv2D
from .core import Activation, Dense, Dropout, Flatten, Input, InputLayer
from .embedding import Embedding
from .layer import Layer, unique_name
from .merging import (Add, Average, Concatenate, Dot, Maximum, Minimum, Multiply, Subtract, add,
                      average, concatenate, dot, maximum, minimum, multiply, subtract)
from .normalization import BatchNormalization, LayerNormalization
from .pooling import (AveragePooling1D, AveragePooling2D, GlobalAveragePooling1D,
                      GlobalAveragePooling2D, GlobalMaxPooling1D, GlobalMaxPooling2D,
                      MaxPooling1D, MaxPooling2D)
from .preprocessing import Normalization, Rescaling
from .regularization import SpatialDropout1D, SpatialDropout2D
from .reshape import Permute, Reshape
from .resizing import UpSampling2D, ZeroPadding2D

# Keras's short aliases of the pooling layers.
MaxPool1D, MaxPool2D, AvgPool1D, AvgPool2D = MaxPooling1D, MaxPooling2D, AveragePooling1D, \
    AveragePooling2D
GlobalMaxPool1D, GlobalMaxPool2D = GlobalMaxPooling1D, GlobalMaxPooling2D
GlobalAvgPool1D, GlobalAvgPool2D = GlobalAveragePooling1D, GlobalAveragePooling2D

__all__ = ["Layer", "InputLayer", "Input", "Dense", "Activation", "Dropout", "Flatten", "Add",
           "Subtract", "Multiply", "Average", "Maximum", "Minimum", "Concatenate", "Dot", "add",
           "subtract", "multiply", "average", "maximum", "minimum", "concatenate", "dot",
           "ReLU", "LeakyReLU", "ELU", "Softmax", "PReLU", "Normalization", "Rescaling",
           "Reshape", "Permute", "SpatialDropout1D", "SpatialDropout2D", "Conv1D", "Conv2D",
           "MaxPooling1D", "MaxPooling2D", "AveragePooling1D", "AveragePooling2D",
           "GlobalMaxPooling1D", "GlobalMaxPooling2D", "GlobalAveragePooling1D",
           "GlobalAveragePooling2D", "MaxPool1D", "MaxPool2D", "AvgPool1D", "AvgPool2D",
           "GlobalMaxPool1D", "GlobalMaxPool2D", "GlobalAvgPool1D", "GlobalAvgPool2D",
           "ZeroPadding2D", "UpSampling2D", "BatchNormalization", "LayerNormalization", "Embedding",
           "serialize", "deserialize", "get"]

for _cls in (InputLayer, Dense, Activation, Dropout, Flatten, Add, Subtract, Multiply, Average,
             Maximum, Minimum, Concatenate, Dot, ReLU, LeakyReLU, ELU, Softmax, PReLU,
             Normalization, Rescaling, Reshape, Permute, SpatialDropout1D, SpatialDropout2D,
             Conv1D, Conv2D, MaxPooling1D, MaxPooling2D, AveragePooling1D, AveragePooling2D,
             GlobalMaxPooling1D, GlobalMaxPooling2D, GlobalAveragePooling1D,
             GlobalAveragePooling2D, ZeroPadding2D, UpSampling2D,
             BatchNormalization, LayerNormalization, Embedding):
    registration.register_builtin(_cls)


def serialize(layer: Layer) -> Dict[str, Any]:
    """A layer's class name and configuration, as keras.layers.serialize.

    Args:
        layer: A layer (a user's class registered with
            nerve.saving.register_keras_serializable goes under its "package>Name").

    Returns:
        A dict {"class_name": str, "config": layer.get_config()}.

    Raises:
        NotImplementedError: For a user's layer whose configuration nerve cannot write (see
            Layer.get_config).

    Example:
        >>> import nerve
        >>> nerve.layers.serialize(nerve.layers.Dense(2))["class_name"]
        'Dense'
    """
    return {"class_name": registration.get_registered_name(layer), "config": layer.get_config()}


def deserialize(config: Any, custom_objects: Optional[Mapping[str, Any]] = None) -> Any:
    """A new layer (or model) from what serialize() returns; `get` is the same function.

    Args:
        config: A dict {"class_name": ..., "config": {...}}, a layer class or class name
            (constructed without arguments), or a layer (returned as it is).
        custom_objects: Dict of name -> class, default None: classes of your own to look up
            besides the registered ones.

    Returns:
        The layer (or model).

    Raises:
        ValueError: When the class name is unknown or the configuration invalid.
        TypeError: When `config` is none of those.

    Example:
        >>> import nerve
        >>> layer = nerve.layers.deserialize(nerve.layers.serialize(nerve.layers.Dense(2)))
        >>> type(layer).__name__, layer.units
        ('Dense', 2)
    """
    with registration.custom_object_scope(custom_objects):
        if isinstance(config, dict) and isinstance(config.get("class_name"), str):
            found = registration.get_registered_object(config["class_name"])
            if isinstance(found, type) and issubclass(found, Layer):
                return found.from_config(dict(config.get("config") or {}))
        return utils.lookup(config, registration.builtins(), "layer", Layer)


get = deserialize
