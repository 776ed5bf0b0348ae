"""Models (keras.models): Model (functional and subclassed), Sequential, and loading.

    from nerve.models import Model, Sequential, load_model, model_from_json
"""
from __future__ import annotations

import json
import os
from typing import Any, Mapping, Optional, Union

from .. import registration
from ..layers import deserialize as _deserialize
from .functional import Functional
from .model import Model
from .sequential import Sequential

__all__ = ["Model", "Functional", "Sequential", "load_model", "save_model", "model_from_json"]


def load_model(filepath: Union[str, bytes, os.PathLike],
               custom_objects: Optional[Mapping[str, Any]] = None) -> Model:
    """Rebuild the model saved in `filepath` (keras.models.load_model; nerve.saving's).

    Args:
        filepath: A file written by model.save() / save_model: nerve's format, or a Keras 3
            .keras archive (told apart by content).
        custom_objects: Dict {name: class or function} for the user's classes not
            registered with register_keras_serializable, default None.

    Returns:
        The model, with its weights, compile settings and optimizer state.

    Raises:
        ValueError: Not a model file, a corrupt or newer-format file, or an unknown class.
        FileNotFoundError: No such file.

    Example:
        >>> import os, tempfile, nerve
        >>> model = nerve.Sequential([nerve.Input(shape=(4,)), nerve.layers.Dense(2)])
        >>> with tempfile.TemporaryDirectory() as folder:
        ...     path = os.path.join(folder, "model.nerve")
        ...     nerve.models.save_model(model, path)
        ...     nerve.models.load_model(path).output_shape
        (None, 2)
    """
    from .. import saving
    return saving.load_model(filepath, custom_objects=custom_objects)


def save_model(model: Model, filepath: Union[str, bytes, os.PathLike]) -> None:
    """Save `model` to `filepath`, as model.save(filepath) does (nerve.saving.save_model).

    Args:
        model: The model to save.
        filepath: The file's path; a name ending in .keras gets a Keras 3 archive.

    Raises:
        ValueError: A name ending in .h5, .hdf5 or .onnx.
        TypeError: A filepath that is not a path.

    Example:
        >>> import os, tempfile, nerve
        >>> model = nerve.Sequential([nerve.Input(shape=(4,)), nerve.layers.Dense(2)])
        >>> with tempfile.TemporaryDirectory() as folder:
        ...     nerve.models.save_model(model, os.path.join(folder, "model.keras"))
        ...     sorted(os.listdir(folder))
        ['model.keras']
    """
    from .. import saving
    saving.save_model(model, filepath)


def model_from_json(json_string: str,
                    custom_objects: Optional[Mapping[str, Any]] = None) -> Model:
    """Make the model that model.to_json() describes, with new weights.

    Args:
        json_string: The JSON of model.to_json().
        custom_objects: Dict {name: class} for the user's classes not registered with
            register_keras_serializable, default None.

    Returns:
        A new model (built when the JSON gives an input shape), not compiled.

    Raises:
        ValueError: Not JSON, not an object with "class_name" and "config", or one that
            describes a layer rather than a model.

    Example:
        >>> import nerve
        >>> model = nerve.Sequential([nerve.Input(shape=(4,)), nerve.layers.Dense(2)])
        >>> nerve.models.model_from_json(model.to_json()).output_shape
        (None, 2)
    """
    try:
        config = json.loads(json_string)
    except (TypeError, ValueError) as error:
        raise ValueError(f"json_string: expected the JSON of model.to_json(), received "
                         f"{error}") from None
    if not isinstance(config, dict) or "class_name" not in config:
        raise ValueError("json_string: expected an object with 'class_name' and 'config'")
    with registration.custom_object_scope(custom_objects):
        model = _deserialize(config)
    if not isinstance(model, Model):
        raise ValueError(f"json_string: describes a {type(model).__name__}, not a model")
    return model
