"""Copies of nerve models for the wrappers: a fresh clone per fit, and a picklable form."""
import os
import tempfile

from .. import saving
from ..models import Model
from ..registration import get_registered_name


def fresh_clone(model):
    """`model`'s architecture and compile settings with newly initialised weights and a new
    optimizer (keras.models.clone_model, then compile as the original was)."""
    return _from_configs(type(model), model.get_config(), model.get_build_config(),
                         model.get_compile_config())


def _from_configs(model_class, config, build_config, compile_config):
    model = model_class.from_config(config)
    if build_config and not model.built:
        model.build_from_config(build_config)
    if compile_config is not None:
        model.compile_from_config(compile_config)
    return model


class SavedModel:
    """A model as the bytes of its nerve file (architecture, weights, compile settings,
    optimizer state), which pickle: nerve models hold locks and kernel plans, which do not.
    A model not built yet has no weights nor optimizer state: its configurations suffice (and
    nerve's files do not load such a model)."""

    def __init__(self, model):
        self.model_class = type(model)
        self.configs = self.file_bytes = None
        if not model.built:
            self.configs = (model.get_config(), None, model.get_compile_config())
            return
        with tempfile.TemporaryDirectory() as directory:
            path = os.path.join(directory, "model.nerve")
            saving.save_model(model, path)
            with open(path, "rb") as file:
                self.file_bytes = file.read()

    def restore(self):
        """A new model equal to the saved one; the model's own class is passed as a custom
        object, so an unregistered subclass of Model restores too."""
        if self.configs is not None:
            return _from_configs(self.model_class, *self.configs)
        with tempfile.TemporaryDirectory() as directory:
            path = os.path.join(directory, "model.nerve")
            with open(path, "wb") as file:
                file.write(self.file_bytes)
            return saving.load_model(
                path, custom_objects={get_registered_name(self.model_class): self.model_class})


def copy_model(model):
    """An independent model with `model`'s weights and optimizer state."""
    return SavedModel(model).restore()


def to_picklable(state):
    """`state` (an estimator's __dict__) with each model replaced by its SavedModel; a model
    held under two names (warm_start's model and model_) stays one model after unpickling."""
    return _replace(state, lambda value: isinstance(value, Model), SavedModel)


def from_picklable(state):
    return _replace(state, lambda value: isinstance(value, SavedModel),
                    lambda saved: saved.restore())


def _replace(state, selected, convert):
    """`state` with convert(value) for each selected value, converting each object once."""
    converted = {}
    for value in state.values():
        if selected(value) and id(value) not in converted:
            converted[id(value)] = convert(value)
    return {key: converted.get(id(value), value) for key, value in state.items()}
