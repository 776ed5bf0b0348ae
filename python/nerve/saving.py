"""Model and weights files: one versioned zip archive, safe to load from untrusted sources.

An archive holds `header.json` (format name and version, nerve version, the model's configs and
a list of the arrays) and the arrays as NumPy .npy entries. Nothing is pickled, so loading a
file never runs code. Files are written to a temporary file first and moved into place, so an
interrupted save never leaves a broken file behind; the temporary files of saves that were
killed are removed by the next save to the same directory. nerve's files take any name but
the ones of other formats: a name ending in .keras (a model) or .h5 (weights) gets Keras 3's
format (nerve.interop.keras_format), and loading tells the formats apart by content, so the
nerve files earlier releases wrote under those names still load. What loading bounds and
what it still trusts: SECURITY.md.
"""
from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING, Any, Mapping, Optional, Union

import numpy as np

from . import distributed, registration
from ._archive import FORMAT_VERSION  # noqa: F401  (the version nerve writes: public)
from ._archive import MODEL_FORMAT, WEIGHTS_FORMAT, _error, _read, _write
from ._typing import forward_reference as _forward_reference
from .variables import weight_budget
from .registration import register_keras_serializable  # noqa: F401  (keras.saving's name)

if TYPE_CHECKING:
    from .models import Model
else:  # nerve.models imports this module: a reference that get_type_hints resolves
    Model = _forward_reference("Model", "nerve.models")

_PathLike = Union[str, bytes, "os.PathLike[str]"]


def save_model(model: Model, filepath: _PathLike) -> None:
    """Save the architecture, weights, compile settings and optimizer state to `filepath`.

    nerve's own format (.nerve by convention: a zip of JSON and .npy arrays, nothing
    pickled), written to a temporary file and moved into place, so an interrupted save never
    leaves a broken file. A name ending in .keras gets a Keras 3 archive instead (which Keras
    opens: no optimizer state, the compile settings Keras has). In a nerve.distributed run
    rank 0 alone writes: every rank holds the same model.

    Args:
        model: The model (built or not, compiled or not).
        filepath: The file's path (str, bytes or os.PathLike).

    Raises:
        ValueError: A name ending in .h5, .hdf5 (Keras 2) or .onnx (use model.export), or a
            configuration holding NaN or infinity (the header is strict JSON).
        TypeError: A filepath that is not a path, or a weight that is not numeric.
        NotImplementedError: A functional model whose graph calls nerve.ops directly.

    Example:
        >>> import os, tempfile, nerve
        >>> model = nerve.Sequential([nerve.Input(shape=(4,)), nerve.layers.Dense(2)])
        >>> model.compile(optimizer="adam", loss="mse")
        >>> with tempfile.TemporaryDirectory() as folder:
        ...     nerve.saving.save_model(model, os.path.join(folder, "model.nerve"))
        ...     loaded = nerve.saving.load_model(os.path.join(folder, "model.nerve"))
        >>> type(loaded.optimizer).__name__
        'Adam'
    """
    filepath = _path(filepath)
    foreign = _foreign_format(filepath, _MODEL_FORMATS)  # refused names raise on every rank
    if not distributed.is_root():
        return
    if foreign == "keras":
        from .interop import keras_format
        return keras_format.save_model(model, filepath)
    compile_config = model.get_compile_config()
    optimizer = getattr(model, "optimizer", None)
    optimizer_state = optimizer.get_state() if compile_config is not None and optimizer else []
    header = {"model_class": registration.get_registered_name(model),
              "model_config": model.get_config(), "build_config": model.get_build_config(),
              "compile_config": compile_config}
    _write(filepath, MODEL_FORMAT, header,
           {"weights": model.get_weights(), "optimizer": optimizer_state})


def load_model(filepath: _PathLike, custom_objects: Optional[Mapping[str, Any]] = None) -> Model:
    """Rebuild the model saved in `filepath`.

    Same predictions, and training continues where it stopped (the optimizer state is
    restored).

    Safe on untrusted files: nothing is unpickled or run, sizes are bounded by the file's,
    and the format is told by content (nerve's, or a Keras 3 .keras archive), not by name.

    Args:
        filepath: A file written by save_model (or Keras 3's model.save to .keras).
        custom_objects: Dict {name: class or function} for the user's classes that were not
            registered with register_keras_serializable, default None.

    Returns:
        The model, compiled as it was saved (when it was).

    Raises:
        ValueError: Not a model file (a weights file, HDF5, ONNX, not a regular file), a
            truncated or corrupt file, a newer format version, an unknown model class, a
            configuration that cannot be rebuilt, or weights that do not fit it.
        FileNotFoundError: No such file.

    Example:
        >>> import os, tempfile, numpy as np, nerve
        >>> model = nerve.Sequential([nerve.Input(shape=(4,)), nerve.layers.Dense(2)])
        >>> with tempfile.TemporaryDirectory() as folder:
        ...     nerve.saving.save_model(model, os.path.join(folder, "model.keras"))
        ...     loaded = nerve.saving.load_model(os.path.join(folder, "model.keras"))
        >>> x = np.ones((1, 4), "float32")
        >>> bool((loaded.predict(x, verbose=0) == model.predict(x, verbose=0)).all())
        True
    """
    filepath = _path(filepath)
    found = _read(filepath, (MODEL_FORMAT,))
    if found[0] == "keras":
        from .interop import keras_format
        return keras_format.load_model(filepath, found[1], found[2],
                                       custom_objects=custom_objects)
    _, header, arrays = found
    with registration.custom_object_scope(custom_objects):
        model_class = _model_class(header.get("model_class"))
        if model_class is None:
            raise _error(filepath, f"unknown model class {header.get('model_class')!r} (a "
                                   f"custom model: register it with @nerve.saving."
                                   f"register_keras_serializable() or pass custom_objects)")
        # A model holds as many bytes of weights as its file: a few bytes of configuration
        # must not make the rebuild allocate gigabytes before the arrays are compared.
        with weight_budget(sum(array.nbytes for array in arrays["weights"])):
            model = _from_header(filepath, "the model from its configuration",
                                 lambda: _rebuild(model_class, header))
    _check_compatible(filepath, model.get_weights(), arrays["weights"])
    if arrays["weights"]:  # none in a model saved before it was built: it loads unbuilt
        model.set_weights(arrays["weights"])
    if header.get("compile_config") is not None:
        _from_header(filepath, "the compile settings",
                     lambda: model.compile_from_config(header["compile_config"]))
        if arrays["optimizer"]:
            try:
                model.optimizer.set_state(arrays["optimizer"])
            except ValueError as error:
                raise _error(filepath, f"optimizer state does not fit: {error}") from None
    return model


def _model_class(name):
    """The model class a file names: registered or custom ones, then nerve.models'. A model
    class is one that compiles (layers are not models)."""
    if not isinstance(name, str):
        return None
    models = sys.modules.get("nerve.models")
    found = registration.get_registered_object(name, vars(models) if models else None)
    if isinstance(found, type) and hasattr(found, "from_config") \
            and hasattr(found, "compile_from_config"):
        return found
    return None


def _rebuild(model_class, header):
    model = model_class.from_config(header["model_config"])
    build_config = header.get("build_config")
    if build_config:
        if hasattr(model, "build_from_config"):
            model.build_from_config(build_config)
        else:
            model.build(tuple(build_config["input_shape"]))
    return model


# What a malformed configuration makes from_config, build or compile raise. MemoryError: a
# configuration may ask for weights far larger than the file (a crafted file could).
_CONFIGURATION_ERRORS = (KeyError, IndexError, TypeError, ValueError, AttributeError,
                         OverflowError, MemoryError)


def _from_header(filepath, what, make):
    """make(), with any error the file's configuration causes reported as the file's."""
    try:
        return make()
    except _CONFIGURATION_ERRORS as error:
        raise _error(filepath, f"cannot rebuild {what}: {type(error).__name__}: "
                               f"{error}") from None


def save_weights(model: Model, filepath: _PathLike) -> None:
    """Save the model's weights (get_weights() order) to `filepath`.

    In a nerve.distributed run rank 0 alone writes, as save_model.

    nerve's format, or Keras 3's weights format for a name ending in .h5 (.weights.h5).

    Args:
        model: The model whose weights to save.
        filepath: The file's path (str, bytes or os.PathLike).

    Raises:
        ValueError: A name ending in .keras (a whole model: save_model).
        TypeError: A filepath that is not a path.

    Example:
        >>> import os, tempfile, nerve
        >>> model = nerve.Sequential([nerve.Input(shape=(4,)), nerve.layers.Dense(2)])
        >>> with tempfile.TemporaryDirectory() as folder:
        ...     for name in ("model.weights.h5", "model.nerve"):  # Keras's format, nerve's
        ...         nerve.saving.save_weights(model, os.path.join(folder, name))
        ...     sorted(os.listdir(folder))
        ['model.nerve', 'model.weights.h5']
    """
    filepath = _path(filepath)
    foreign = _foreign_format(filepath, _WEIGHTS_FORMATS)
    if not distributed.is_root():
        return
    if foreign == "keras":
        from .interop import keras_format
        return keras_format.save_weights(model, filepath)
    _write(filepath, WEIGHTS_FORMAT, {}, {"weights": model.get_weights()})


def load_weights(model: Model, filepath: _PathLike) -> None:
    """Load weights saved by save_weights (or the weights of a saved model) into `model`.

    Everything is checked before the model is touched: on any error the model is unchanged.
    Keras 3 .weights.h5 files and .keras archives load too (told apart by content).

    Args:
        model: The model to load into (built, with the saved model's architecture).
        filepath: The file's path (str, bytes or os.PathLike).

    Raises:
        ValueError: Not a weights or model file, a corrupt file, or weights whose count,
            shapes or dtypes do not match the model's.
        FileNotFoundError: No such file.

    Example:
        >>> import os, tempfile, nerve
        >>> model = nerve.Sequential([nerve.Input(shape=(4,)), nerve.layers.Dense(2)])
        >>> other = nerve.Sequential([nerve.Input(shape=(4,)), nerve.layers.Dense(3)])
        >>> with tempfile.TemporaryDirectory() as folder:
        ...     nerve.saving.save_weights(model, os.path.join(folder, "w.nerve"))
        ...     other.load_weights(os.path.join(folder, "w.nerve"))
        Traceback (most recent call last):
            ...
        ValueError: ...weight 0 is float32[4, 2] in the file but float32[4, 3] in the model
    """
    filepath = _path(filepath)
    found = _read(filepath, (WEIGHTS_FORMAT, MODEL_FORMAT), keras_weights=model)
    if found is None:  # a Keras weights file, already loaded
        return
    _, _, arrays = found
    _check_compatible(filepath, model.get_weights(), arrays["weights"])
    if arrays["weights"]:  # none in a model saved before it was built: it loads unbuilt
        model.set_weights(arrays["weights"])


# The formats a file name asks for (by its ending): Keras's, or refused with the way to write
# that format; any other name gets nerve's own format.
_KERAS_2_MODEL = "Keras 2's HDF5 model format is not written: save as .keras (Keras 3) or .nerve"
_MODEL_FORMATS = {".keras": "keras", ".h5": _KERAS_2_MODEL, ".hdf5": _KERAS_2_MODEL,
                  ".onnx": "ONNX is written by model.export(filepath, format='onnx')"}
_WEIGHTS_FORMATS = {".h5": "keras", ".keras": "a .keras file holds a whole model: save it "
                                              "with model.save(), the weights as .weights.h5 "
                                              "(Keras) or .nerve"}


def _foreign_format(filepath, formats):
    """"keras" when `filepath`'s ending names a Keras format nerve writes, None for nerve's
    own; ValueError for a format it does not write under that name."""
    for ending, found in formats.items():
        if filepath.lower().endswith(ending):
            if found != "keras":
                raise ValueError(f"cannot save to {filepath!r}: {found}")
            return found
    return None


def _path(filepath: Any) -> str:
    """`filepath` as a str: str, os.PathLike or bytes (decoded as os.fsdecode does), the paths
    open() and np.load take."""
    try:
        return os.fsdecode(filepath)
    except TypeError:
        raise TypeError(f"filepath: expected a path (str, bytes or os.PathLike), received "
                        f"{type(filepath).__name__} {filepath!r}") from None


def _check_compatible(filepath, current, loaded):
    if len(loaded) != len(current):
        hint = " (is the model built? give it an input shape or call build())" \
            if not current else ""
        raise _error(filepath, f"the file holds {len(loaded)} weight arrays but the model has "
                               f"{len(current)}{hint}")
    for index, (want, got) in enumerate(zip(current, loaded)):
        want = np.asarray(want)
        if got.shape != want.shape or got.dtype != want.dtype:
            raise _error(filepath, f"weight {index} is {got.dtype}{list(got.shape)} in the file "
                                   f"but {want.dtype}{list(want.shape)} in the model")
