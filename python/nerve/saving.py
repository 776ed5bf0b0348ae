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

import errno
import io
import json
import math
import os
import stat
import sys
import zipfile
from typing import TYPE_CHECKING, Any, Mapping, Optional, Union

import numpy as np

from . import _atomic_files, distributed, registration
from ._typing import forward_reference as _forward_reference
from .variables import weight_budget
from .registration import register_keras_serializable  # noqa: F401  (keras.saving's name)

if TYPE_CHECKING:
    from .models import Model
else:  # nerve.models imports this module: a reference that get_type_hints resolves
    Model = _forward_reference("Model", "nerve.models")

_PathLike = Union[str, bytes, "os.PathLike[str]"]

# Version 2 (graph models) adds functional and subclassed model configurations; version 1
# files (Sequential) read unchanged.
MODEL_FORMAT, WEIGHTS_FORMAT, FORMAT_VERSION = "nerve.model", "nerve.weights", 2
_READABLE_VERSIONS = (1, 2)
_HEADER = "header.json"
_MAX_HEADER_BYTES = 64 << 20
_NUMERIC_KINDS = "biuf"  # bool, int, uint, float: every array a model or optimizer holds


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


def _error(filepath, problem):
    return ValueError(f"{filepath!r}: {problem}")


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


# --- writing -------------------------------------------------------------------------------

def _write(filepath, format_name, header, groups):
    from . import __version__

    arrays = {f"{group}/{index}.npy": _numeric_array(array, f"{group} {index}")
              for group, values in groups.items() for index, array in enumerate(values)}
    header = {"format": format_name, "format_version": FORMAT_VERSION,
              "nerve_version": __version__, **header,
              "arrays": {group: len(values) for group, values in groups.items()}}
    try:
        header_bytes = json.dumps(header, indent=1, allow_nan=False).encode("utf-8")
    except ValueError:
        where = _non_finite(header)
        if where is None:
            raise
        raise ValueError(f"cannot save to {filepath!r}: {where}, and a nerve file (strict "
                         f"JSON) holds only finite numbers") from None
    _atomic_files.write(filepath, lambda file: _write_zip(file, header_bytes, arrays))


def _non_finite(value, where="the header"):
    """Where in `value` (dicts and lists) a NaN or an infinity lies, or None."""
    if isinstance(value, float) and not math.isfinite(value):
        return f"{where} is {value}"
    items = value.items() if isinstance(value, dict) \
        else enumerate(value) if isinstance(value, (list, tuple)) else ()
    for key, item in items:
        found = _non_finite(item, f"{where}[{key!r}]")
        if found is not None:
            return found
    return None


def _numeric_array(array, what):
    array = np.asarray(array, order="C")  # (ascontiguousarray would make 0-d arrays 1-d)
    if array.dtype.kind not in _NUMERIC_KINDS:
        raise TypeError(f"cannot save {what}: dtype {array.dtype} is not numeric")
    return array


def _write_zip(file, header_bytes, arrays):
    # Stored, not deflated: float weights barely compress, and the CRCs still catch corruption.
    with zipfile.ZipFile(file, "w", zipfile.ZIP_STORED, allowZip64=True) as archive:
        archive.writestr(_HEADER, header_bytes)
        for name, array in arrays.items():
            with archive.open(name, "w", force_zip64=array.nbytes > (1 << 30)) as entry:
                np.lib.format.write_array(entry, array, allow_pickle=False)


# --- reading -------------------------------------------------------------------------------

def _read(filepath, accepted_formats, keras_weights=None):
    """("nerve", header, arrays {group: [arrays]}) of a nerve file, all validated; told by
    content, not by name, ("keras", config, weights file) of a Keras archive, or, given
    `keras_weights` (a model), None once the weights of a Keras file are loaded into it."""
    from .interop import keras_format
    with _open_regular_file(filepath) as file:
        start = file.read(8)
        file.seek(0)
        if start.startswith(b"\x89HDF"):
            if keras_weights is not None:
                return keras_format.load_weights(filepath, keras_weights, file)
            raise _error(filepath, "this is an HDF5 file: Keras weights (load them with "
                                   "model.load_weights()) or a Keras 2 .h5 model, which nerve "
                                   "does not read: open it in Keras and save it as .keras")
        try:
            with zipfile.ZipFile(file) as archive:
                if keras_format.is_keras_archive(archive):
                    config, weights = keras_format.read_archive(filepath, archive)
                    if keras_weights is None:
                        return "keras", config, weights
                    return keras_format.load_weights(filepath, keras_weights,
                                                     io.BytesIO(weights))
                header = _read_header(filepath, archive, accepted_formats)
                arrays = {group: [_read_array(filepath, archive, f"{group}/{index}.npy")
                                  for index in range(count)]
                          for group, count in header["arrays"].items()}
        except (zipfile.BadZipFile, EOFError, NotImplementedError, RuntimeError) as error:
            if filepath.lower().endswith(".onnx"):
                raise _error(filepath, "an ONNX file (or not a model file at all): nerve "
                                       "exports ONNX but does not load it") from None
            raise _error(filepath, f"not a valid nerve file (truncated or corrupt?): "
                                   f"{error}") from None
        except OSError as error:
            if error.errno == errno.EINVAL:  # a seek to a corrupt offset
                raise _error(filepath, f"not a valid nerve file (truncated or corrupt?): "
                                       f"{error}") from None
            if error.filename is None:  # name the file, as open() does
                raise type(error)(error.errno, error.strerror, filepath) from None
            raise
    return "nerve", header, arrays


def _open_regular_file(filepath):
    """`filepath` opened for reading, if it is a regular file (FileNotFoundError as usual when
    missing). A FIFO would block the open or the reads, a device like /dev/zero never ends:
    the check is on the file opened, so nothing can swap the file in between, and O_NONBLOCK
    lets the open of a FIFO return at once."""
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0) \
        | getattr(os, "O_BINARY", 0)
    descriptor = os.open(filepath, flags)
    try:
        if not stat.S_ISREG(os.fstat(descriptor).st_mode):
            raise _error(filepath, "not a regular file (a directory, pipe or device?): nerve "
                                   "loads only regular files")
        return os.fdopen(descriptor, "rb")
    except BaseException:
        os.close(descriptor)
        raise


def _member(filepath, archive, name):
    """The ZipInfo of the member `name`, checked to be stored (nerve compresses nothing, and a
    compressed member could inflate to far more than the file) and to lie within the file, so
    that reading it allocates no more than the file's size."""
    try:
        info = archive.getinfo(name)
    except KeyError:
        raise _error(filepath, f"the entry {name} is missing") from None
    if info.compress_type != zipfile.ZIP_STORED:
        raise _error(filepath, f"{name} is compressed; nerve reads archives whose members are "
                               f"stored uncompressed")
    file_size = os.fstat(archive.fp.fileno()).st_size
    if info.file_size != info.compress_size or info.header_offset + info.file_size > file_size:
        raise _error(filepath, f"{name} declares {info.file_size} bytes, more than the file "
                               f"holds (truncated or corrupt?)")
    return info


def _read_header(filepath, archive, accepted_formats):
    names = set(archive.namelist())
    if _HEADER not in names:
        raise _error(filepath, f"not a nerve or Keras file: it has neither {_HEADER} nor "
                               f"config.json")
    info = _member(filepath, archive, _HEADER)
    if info.file_size > _MAX_HEADER_BYTES:
        raise _error(filepath, f"not a nerve file: {_HEADER} is too large")
    try:  # ValueError: not UTF-8, not JSON, or an integer beyond Python's digit limit
        header = json.loads(archive.read(info).decode("utf-8"))
    except ValueError as error:
        raise _error(filepath, f"{_HEADER} is not valid JSON: {error}") from None
    if not isinstance(header, dict) or header.get("format") not in (MODEL_FORMAT, WEIGHTS_FORMAT):
        raise _error(filepath, f"not a nerve file: its {_HEADER} names no nerve format")
    if header["format"] not in accepted_formats:
        hint = "use model.load_weights() for a weights file" \
            if header["format"] == WEIGHTS_FORMAT else ""
        raise _error(filepath, f"this is a {header['format']!r} file, expected "
                               f"{' or '.join(map(repr, accepted_formats))}; {hint}".rstrip("; "))
    version = header.get("format_version")
    if version not in _READABLE_VERSIONS:
        raise _error(filepath, f"format version {version!r} (written by nerve "
                               f"{header.get('nerve_version')}); this nerve reads versions up to "
                               f"{FORMAT_VERSION}: upgrade nerve to load it")
    counts = header.get("arrays")
    if not (isinstance(counts, dict) and "weights" in counts and all(
            isinstance(n, int) and n >= 0 for n in counts.values())):
        raise _error(filepath, f"{_HEADER} has no valid list of arrays")
    counts.setdefault("optimizer", 0)
    return header


def _read_array(filepath, archive, name):
    """One .npy entry, read without pickle and checked against the entry's size."""
    info = _member(filepath, archive, name)
    with archive.open(info) as entry:
        try:
            version = np.lib.format.read_magic(entry)
            read_header = {(1, 0): np.lib.format.read_array_header_1_0,
                           (2, 0): np.lib.format.read_array_header_2_0}.get(version)
            if read_header is None:
                raise ValueError(f"unsupported .npy version {version}")
            shape, fortran_order, dtype = read_header(entry)
        except ValueError as error:
            raise _error(filepath, f"{name} is not a valid .npy array: {error}") from None
        if dtype.kind not in _NUMERIC_KINDS or dtype.hasobject:
            raise _error(filepath, f"{name}: dtype {dtype} is not numeric")
        if any(n < 0 for n in shape):  # (NumPy's reader checks that they are ints)
            raise _error(filepath, f"{name}: the shape {shape} has a size < 0")
        size = math.prod(shape) * dtype.itemsize  # Python ints: no overflow
        if info.file_size - entry.tell() != size:
            raise _error(filepath, f"{name}: the data does not match its shape {list(shape)}")
        data = np.frombuffer(entry.read(size), dtype=dtype)
    return data.reshape(shape, order="F" if fortran_order else "C").copy()
