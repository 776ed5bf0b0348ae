"""Keras 3 files: `.keras` archives (config.json, metadata.json, model.weights.h5) and
`.weights.h5` weights files, read and written in Keras's own layout so that Keras's
`keras.saving.load_model` opens what nerve writes and nerve opens what Keras writes.

The weights file is HDF5 (through h5py, the `keras` extra). Keras addresses a layer's
variables as "layers/<key>/vars/<index>", the key being the layer's class name in snake case,
numbered in the order of Keras's model.layers ("dense", "dense_1", ...; a Sequential leaves
its input layer out), and a layer's variables in its get_weights() order; files of Keras 2.13 used
"_layer_checkpoint_dependencies" for "layers". Reading keeps the guarantees of nerve's own
files: a regular file, stored members lying within it, and no array read before its shape is
checked against the model's (whose weights are bounded by the file's size). The compile
settings are imported when nerve has them (with a warning when not) and written when Keras
has them; the optimizer's state is neither: training restarts its moments (nerve's own format,
a .nerve file, keeps it).
"""
from __future__ import annotations

import io
import json
import re
import warnings
import zipfile
from typing import Any, BinaryIO, Dict, Iterable, Iterator, List, Mapping, Optional, Tuple

import numpy as np

from .. import _archive, _atomic_files, registration, saving
from ..variables import weight_budget
from . import keras_config

CONFIG, METADATA, WEIGHTS = "config.json", "metadata.json", "model.weights.h5"
_KERAS_VERSION_WRITTEN = "3.15.1"  # the Keras release these files were tested against
_MAX_CONFIG_BYTES = 64 << 20


def is_keras_archive(archive: zipfile.ZipFile) -> bool:
    """Return whether an open zip archive is a Keras 3 .keras file (not a nerve file).

    Args:
        archive: An open zipfile.ZipFile.

    Returns:
        True when it holds config.json and no nerve header.

    Example:
        >>> import io, zipfile
        >>> from nerve.interop import keras_format
        >>> buffer = io.BytesIO()
        >>> with zipfile.ZipFile(buffer, "w") as archive:
        ...     archive.writestr("config.json", "{}")
        >>> keras_format.is_keras_archive(zipfile.ZipFile(buffer))
        True
    """
    names = set(archive.namelist())
    return CONFIG in names and _archive._HEADER not in names


def _h5py(filepath):
    try:
        import h5py
    except ImportError:
        raise ImportError(f"{filepath!r}: Keras files store their weights in HDF5, which "
                          f"nerve reads and writes through h5py: pip install 'nerve[keras]' "
                          f"(or pip install h5py)") from None
    return h5py


# --- reading -------------------------------------------------------------------------------

def read_archive(filepath: str, archive: zipfile.ZipFile) -> Tuple[Any, bytes]:
    """Read a .keras archive's config and weights file, checked as nerve checks its own.

    Args:
        filepath: The archive's name (for the messages).
        archive: The open archive.

    Returns:
        (the parsed config.json, the bytes of model.weights.h5).

    Raises:
        ValueError: A member missing, compressed, too large or corrupt; config.json not
            JSON; a weights member that is not HDF5.
        ImportError: h5py is missing.

    Example:
        >>> import os, tempfile, zipfile, nerve
        >>> from nerve.interop import keras_format
        >>> model = nerve.Sequential([nerve.Input(shape=(4,)), nerve.layers.Dense(2)])
        >>> with tempfile.TemporaryDirectory() as folder:
        ...     path = os.path.join(folder, "m.keras")
        ...     model.save(path)
        ...     with zipfile.ZipFile(path) as archive:
        ...         config, weights = keras_format.read_archive(path, archive)
        >>> config["class_name"], weights[:4]
        ('Sequential', b'\\x89HDF')
    """
    _h5py(filepath)
    names = set(archive.namelist())
    missing = [name for name in (CONFIG, WEIGHTS) if name not in names]
    if missing:
        raise saving._error(filepath, f"a Keras archive without {' or '.join(missing)}")
    info = _archive._member(filepath, archive, CONFIG)
    if info.file_size > _MAX_CONFIG_BYTES:
        raise saving._error(filepath, f"{CONFIG} is too large")
    try:
        config = json.loads(archive.read(info).decode("utf-8"))
    except ValueError as error:
        raise saving._error(filepath, f"{CONFIG} is not valid JSON: {error}") from None
    weights = archive.read(_archive._member(filepath, archive, WEIGHTS))
    if not weights.startswith(b"\x89HDF"):
        raise saving._error(filepath, f"{WEIGHTS} is not an HDF5 file")
    return config, weights


def load_model(filepath: str, config: Any, weights: bytes,
               custom_objects: Optional[Mapping[str, Any]] = None) -> Any:
    """Rebuild the nerve model of a Keras archive's config and weights file (what
    nerve.saving.load_model calls for a .keras file; use that).

    Compile settings nerve cannot import give a warning and an uncompiled model.

    Args:
        filepath: The archive's name (for the messages).
        config: Its parsed config.json (read_archive).
        weights: Its model.weights.h5 bytes (read_archive).
        custom_objects: Dict {name: class} for custom layers, default None.

    Returns:
        The nerve model, with Keras's weights.

    Raises:
        ValueError: A configuration nerve cannot rebuild, or weights that do not fit it.

    Example:
        >>> import os, tempfile, zipfile, nerve
        >>> from nerve.interop import keras_format
        >>> folder = tempfile.TemporaryDirectory()
        >>> path = os.path.join(folder.name, "m.keras")
        >>> nerve.Sequential([nerve.Input(shape=(4,)), nerve.layers.Dense(2)]).save(path)
        >>> archive = zipfile.ZipFile(path)
        >>> keras_format.load_model(path, *keras_format.read_archive(path, archive)).output_shape
        (None, 2)
        >>> archive.close(); folder.cleanup()
    """
    from .. import models
    try:
        class_name, model_config = keras_config.model_from_keras(config)
    except ValueError as error:
        raise saving._error(filepath, str(error)) from None
    model_class = getattr(models, class_name)
    with registration.custom_object_scope(custom_objects), weight_budget(len(weights)):
        model = saving._from_header(filepath, "the model from config.json",
                                    lambda: _rebuild(model_class, model_config, config))
    with _open_h5(filepath, io.BytesIO(weights), WEIGHTS) as h5:
        layers = [(entry["class_name"], entry["config"]["name"])
                  for entry in model_config["layers"]]
        assign_weights(filepath, model, h5, class_name, layers, WEIGHTS)
    _import_compile_settings(filepath, model, config.get("compile_config"))
    return model


def _rebuild(model_class, model_config, config):
    model = model_class.from_config(model_config)
    build_config = config.get("build_config") or {}
    if not model.built and build_config.get("input_shape") is not None:
        model.build(tuple(build_config["input_shape"]))
    return model


def _import_compile_settings(filepath, model, compile_config):
    if not compile_config:
        return
    try:
        model.compile_from_config(keras_config.compile_from_keras(compile_config))
    except saving._CONFIGURATION_ERRORS as error:
        warnings.warn(f"{filepath!r}: the Keras compile settings were not imported "
                      f"({type(error).__name__}: {error}); the model is loaded uncompiled: "
                      f"compile it before fit()", stacklevel=4)


def load_weights(filepath: str, model: Any, file: BinaryIO) -> None:
    """Load a Keras .weights.h5 file into `model`, all checked first (all or nothing);
    what model.load_weights calls for an HDF5 file.

    Args:
        filepath: The file's name (for the messages).
        model: The nerve model to load into.
        file: The file, opened for reading in binary (a regular file or a BytesIO).

    Raises:
        ValueError: Not valid HDF5, or groups and arrays that do not match the model.

    Example:
        >>> import io, os, tempfile, zipfile, nerve
        >>> from nerve.interop import keras_format
        >>> model = nerve.Sequential([nerve.Input(shape=(4,)), nerve.layers.Dense(2)])
        >>> folder = tempfile.TemporaryDirectory()
        >>> model.save(os.path.join(folder.name, "m.keras"))  # its weights: model.weights.h5
        >>> weights = zipfile.ZipFile(os.path.join(folder.name, "m.keras")).read(
        ...     "model.weights.h5")
        >>> keras_format.load_weights("m.keras", model, io.BytesIO(weights))
        >>> folder.cleanup()
    """
    with _open_h5(filepath, file, "the weights file") as h5:
        assign_weights(filepath, model, h5, *_layer_list(model), "the weights file")


def _open_h5(filepath, file, what):
    h5py = _h5py(filepath)
    try:
        return h5py.File(file, "r")
    except OSError as error:
        raise saving._error(filepath, f"{what} is not a valid HDF5 file (truncated or "
                                      f"corrupt?): {error}") from None


def _layer_list(model: Any) -> Tuple[str, List[Tuple[str, str]]]:
    """(model class name, [(layer class name, layer name)]) in the order of Keras's
    model.layers, which numbers the weights' groups; Keras lays out the weights of Sequential
    and functional models only by their layers."""
    class_name = registration.get_registered_name(model)
    if class_name not in keras_config.MODEL_CLASSES:
        raise ValueError(f"model: a {class_name} (subclassed model) has no Keras weights "
                         f"layout in nerve; use nerve's format (a .nerve file)")
    layers = model.layers if class_name == "Sequential" else _keras_layer_order(model._graph)
    return class_name, [(registration.get_registered_name(layer), layer.name)
                        for layer in layers]


def _keras_layer_order(graph):
    """The layers of a functional graph as Keras's map_graph (keras/src/ops/function.py)
    orders them: by decreasing depth (the longest path to an output), ties by the first
    visit of a depth-first walk from the outputs through each node's inputs in turn."""
    finished, post_order, first_visit = set(), [], {}
    for output in graph.outputs:
        stack = [(output.node, None)]
        while stack:  # explicit: a model may be deeper than Python's recursion limit
            node, pending = stack.pop()
            if pending is None:
                if id(node) in finished:
                    continue
                first_visit.setdefault(id(node.operation), len(first_visit))
                pending = iter(node.inputs)
            parent = next(pending, None)
            if parent is None:
                finished.add(id(node))
                post_order.append(node)
            else:
                stack += [(node, pending), (parent.node, None)]
    node_depth, layer_depth, layers = {}, {}, {}
    for node in reversed(post_order):
        depth = max(node_depth.setdefault(id(node), 0), layer_depth.get(id(node.operation), 0))
        layer_depth[id(node.operation)], node_depth[id(node)] = depth, depth
        layers[id(node.operation)] = node.operation
        for tensor in node.inputs:
            node_depth[id(tensor.node)] = max(depth + 1, node_depth.get(id(tensor.node), 0))
    return sorted(layers.values(), key=lambda layer: (-layer_depth[id(layer)],
                                                      first_visit[id(layer)]))


def assign_weights(filepath: str, model: Any, h5: Any, class_name: str,
                   layers: Iterable[Tuple[str, str]], what: str) -> None:
    """Set each layer's weights from the h5 groups Keras's layout gives it, all checked
    first (none set on error).

    Args:
        filepath: The file's name (for the messages).
        model: The nerve model.
        h5: The open h5py.File.
        class_name: "Sequential" or "Functional" (Keras numbers their layers differently).
        layers: (layer class name, layer name) in Keras's order of model.layers.
        what: The file's part named in the messages ("the weights file").

    Raises:
        ValueError: A group or array missing, or one whose shape or dtype does not fit.

    Example:
        >>> import io, h5py, nerve
        >>> from nerve.interop import keras_format
        >>> model = nerve.Sequential([nerve.Input(shape=(4,)), nerve.layers.Dense(2)])
        >>> with h5py.File(io.BytesIO(), "w") as h5:
        ...     keras_format.assign_weights("f", model, h5, "Sequential", [], "the file")
    """
    by_name = {layer.name: layer for layer in model.layers}
    found = []
    for key, layer_name in weight_keys(class_name, layers):
        layer = by_name[layer_name]
        try:
            found.append((layer, _layer_arrays(filepath, h5, key, layer, what)))
        except (OSError, KeyError, RuntimeError) as error:  # h5py on a damaged file
            raise saving._error(filepath, f"{what} cannot be read at layers/{key} (layer "
                                          f"{layer.name!r}): {error}") from None
    for layer, arrays in found:
        if arrays:
            layer.set_weights(arrays)


def _layer_arrays(filepath, h5, key, layer, what):
    import h5py
    expected = layer.get_weights()
    group = None
    for root in ("layers", "_layer_checkpoint_dependencies"):
        candidate = h5.get(f"{root}/{key}/vars")
        if isinstance(candidate, h5py.Group):
            group = candidate
            break
    if group is None:
        if not expected:
            return []
        raise saving._error(filepath, f"{what} has no group layers/{key}/vars for layer "
                                      f"{layer.name!r}")
    if len(group) != len(expected):
        raise saving._error(filepath, f"{what}: layers/{key}/vars holds {len(group)} arrays "
                                      f"but layer {layer.name!r} has {len(expected)}")
    arrays = []
    for index, want in enumerate(expected):
        dataset = group.get(str(index))
        where = f"{what}: layers/{key}/vars/{index} (layer {layer.name!r})"
        if not isinstance(dataset, h5py.Dataset):
            raise saving._error(filepath, f"{where} is missing")
        if dataset.shape != want.shape or dataset.dtype.kind not in "biuf":
            raise saving._error(filepath, f"{where} is {dataset.dtype}{list(dataset.shape)} "
                                          f"but the layer's weight is {want.dtype}"
                                          f"{list(want.shape)}")
        arrays.append(np.asarray(dataset[()], dtype=want.dtype))
    return arrays


def weight_keys(model_class: str,
                layers: Iterable[Tuple[str, str]]) -> Iterator[Tuple[str, str]]:
    """Yield the h5 key of each layer in Keras's layout: its class name in snake case,
    numbered in order; a Sequential's input layer has none.

    Args:
        model_class: "Sequential" or "Functional".
        layers: (layer class name, layer name) pairs in Keras's order.

    Returns:
        An iterator of (h5 key, layer name).

    Example:
        >>> from nerve.interop import keras_format
        >>> list(keras_format.weight_keys("Sequential", [("Dense", "a"), ("Dense", "b")]))
        [('dense', 'a'), ('dense_1', 'b')]
    """
    used: Dict[str, int] = {}
    for layer_class, layer_name in layers:
        if model_class == "Sequential" and layer_class == "InputLayer":
            continue
        key = _snake_case(layer_class)
        if key in used:
            used[key] += 1
            key = f"{key}_{used[key]}"
        else:
            used[key] = 0
        yield key, layer_name


def _snake_case(name):
    """keras.src.utils.naming.to_snake_case."""
    name = re.sub(r"\W+", "", name)
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()


# --- writing -------------------------------------------------------------------------------

def save_model(model: Any, filepath: str) -> None:
    """Write `model` as a Keras 3 archive (what nerve.saving.save_model does for a name
    ending in .keras); everything is translated before the file is touched, so a model Keras
    cannot express leaves no file behind.

    Args:
        model: A nerve Sequential or functional model.
        filepath: The archive to write.

    Raises:
        ValueError: A subclassed model, or a layer Keras cannot express.
        ImportError: h5py is missing.

    Example:
        >>> import os, tempfile, zipfile, nerve
        >>> from nerve.interop.keras_format import save_model
        >>> with tempfile.TemporaryDirectory() as folder:
        ...     save_model(nerve.Sequential([nerve.layers.Dense(2)]), os.path.join(folder, "m"))
        ...     sorted(zipfile.ZipFile(os.path.join(folder, "m")).namelist())
        ['config.json', 'metadata.json', 'model.weights.h5']
    """
    config = keras_config.model_to_keras(model)
    if config["class_name"] == "Functional":  # listed as Keras lists (and numbers) them
        position = {name: index for index, (_, name) in enumerate(_layer_list(model)[1])}
        config["config"]["layers"].sort(key=lambda entry: position[entry["config"]["name"]])
    weights = _weights_file(filepath, model)
    metadata = {"keras_version": _KERAS_VERSION_WRITTEN, "nerve_saved": True}
    members = {METADATA: json.dumps(metadata).encode(),
               CONFIG: json.dumps(config, allow_nan=False).encode(), WEIGHTS: weights}
    _atomic_files.write(filepath, lambda file: _write_zip(file, members))


def save_weights(model: Any, filepath: str) -> None:
    """Write the weights of `model` as a Keras .weights.h5 file (nerve.saving.save_weights
    does for a name ending in .h5).

    Args:
        model: The nerve model.
        filepath: The file to write.

    Raises:
        ImportError: h5py is missing.

    Example:
        >>> import os, tempfile, nerve
        >>> from nerve.interop import keras_format
        >>> model = nerve.Sequential([nerve.Input(shape=(4,)), nerve.layers.Dense(2)])
        >>> with tempfile.TemporaryDirectory() as folder:
        ...     path = os.path.join(folder, "m.weights.h5")
        ...     keras_format.save_weights(model, path)
        ...     with open(path, "rb") as file:
        ...         file.read(4)  # HDF5's signature
        b'\\x89HDF'

    """
    weights = _weights_file(filepath, model)
    _atomic_files.write(filepath, lambda file: file.write(weights))


def _weights_file(filepath, model):
    h5py = _h5py(filepath)
    by_name = {layer.name: layer for layer in model.layers}
    buffer = io.BytesIO()
    with h5py.File(buffer, "w") as h5:
        h5.create_group("vars").attrs["name"] = model.name
        layers = h5.create_group("layers")
        for key, layer_name in weight_keys(*_layer_list(model)):
            layer = by_name[layer_name]
            group = layers.create_group(key).create_group("vars")
            group.attrs["name"] = layer.name
            for index, array in enumerate(layer.get_weights()):
                group[str(index)] = array
    return buffer.getvalue()


def _write_zip(file, members):
    with zipfile.ZipFile(file, "w", zipfile.ZIP_STORED, allowZip64=True) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
