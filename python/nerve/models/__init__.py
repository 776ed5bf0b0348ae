"""Models (keras.models): Model (functional and subclassed), Sequential, and loading.

    from nerve.models import Model, Sequential, load_model, model_from_json
"""
import json

from .. import registration
from ..layers import deserialize as _deserialize
from .functional import Functional
from .model import Model
from .sequential import Sequential

__all__ = ["Model", "Functional", "Sequential", "load_model", "save_model", "model_from_json"]


def load_model(filepath, custom_objects=None):
    """Rebuild the model saved in `filepath` (nerve.saving.load_model)."""
    from .. import saving
    return saving.load_model(filepath, custom_objects=custom_objects)


def save_model(model, filepath):
    from .. import saving
    saving.save_model(model, filepath)


def model_from_json(json_string, custom_objects=None):
    """The (unbuilt or built, untrained) model that model.to_json() describes."""
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
