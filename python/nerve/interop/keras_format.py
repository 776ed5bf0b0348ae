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
import io
import json
import re
import warnings
import zipfile

import numpy as np

from .. import _atomic_files, registration, saving
from ..variables import weight_budget
from . import keras_config

CONFIG, METADATA, WEIGHTS = "config.json", "metadata.json", "model.weights.h5"
_KERAS_VERSION_WRITTEN = "3.15.1"  # the Keras release these files were tested against
_MAX_CONFIG_BYTES = 64 << 20


def is_keras_archive(archive):
    names = set(archive.namelist())
    return CONFIG in names and saving._HEADER not in names


def _h5py(filepath):
    try:
        import h5py
    except ImportError:
        raise ImportError(f"{filepath!r}: Keras files store their weights in HDF5, which "
                          f"nerve reads and writes through h5py: pip install 'nerve[keras]' "
                          f"(or pip install h5py)") from None
    return h5py


# --- reading -------------------------------------------------------------------------------

def read_archive(filepath, archive):
    """(config, weights file bytes) of a .keras archive, checked as nerve checks its own."""
    _h5py(filepath)
    names = set(archive.namelist())
    missing = [name for name in (CONFIG, WEIGHTS) if name not in names]
    if missing:
        raise saving._error(filepath, f"a Keras archive without {' or '.join(missing)}")
    info = saving._member(filepath, archive, CONFIG)
    if info.file_size > _MAX_CONFIG_BYTES:
        raise saving._error(filepath, f"{CONFIG} is too large")
    try:
        config = json.loads(archive.read(info).decode("utf-8"))
    except ValueError as error:
        raise saving._error(filepath, f"{CONFIG} is not valid JSON: {error}") from None
    weights = archive.read(saving._member(filepath, archive, WEIGHTS))
    if not weights.startswith(b"\x89HDF"):
        raise saving._error(filepath, f"{WEIGHTS} is not an HDF5 file")
    return config, weights


def load_model(filepath, config, weights, custom_objects=None):
    """The nerve model of a Keras archive's config and weights file."""
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


def load_weights(filepath, model, file):
    """Load a Keras .weights.h5 file (opened, a regular file) into `model`; all or nothing."""
    with _open_h5(filepath, file, "the weights file") as h5:
        assign_weights(filepath, model, h5, *_layer_list(model), "the weights file")


def _open_h5(filepath, file, what):
    h5py = _h5py(filepath)
    try:
        return h5py.File(file, "r")
    except OSError as error:
        raise saving._error(filepath, f"{what} is not a valid HDF5 file (truncated or "
                                      f"corrupt?): {error}") from None


def _layer_list(model):
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


def assign_weights(filepath, model, h5, class_name, layers, what):
    """Set each layer's weights from the h5 groups Keras's layout gives it, all checked first."""
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


def weight_keys(model_class, layers):
    """(h5 key, layer name) for the (class name, name) of each layer in Keras's order; a
    Sequential's input layer has none."""
    used = {}
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

def save_model(model, filepath):
    """Write `model` as a Keras 3 archive; everything is translated before the file is
    touched, so a model Keras cannot express leaves no file behind."""
    config = keras_config.model_to_keras(model)
    if config["class_name"] == "Functional":  # listed as Keras lists (and numbers) them
        position = {name: index for index, (_, name) in enumerate(_layer_list(model)[1])}
        config["config"]["layers"].sort(key=lambda entry: position[entry["config"]["name"]])
    weights = _weights_file(filepath, model)
    metadata = {"keras_version": _KERAS_VERSION_WRITTEN, "nerve_saved": True}
    members = {METADATA: json.dumps(metadata).encode(),
               CONFIG: json.dumps(config, allow_nan=False).encode(), WEIGHTS: weights}
    _atomic_files.write(filepath, lambda file: _write_zip(file, members))


def save_weights(model, filepath):
    """Write the weights of `model` as a Keras .weights.h5 file."""
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
