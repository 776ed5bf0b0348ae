"""Model configurations between Keras 3's config.json and nerve.

nerve's layers already serialize under Keras's class names and options, so the translation is
small: Keras adds bookkeeping (modules, registered names, dtype policies, shared-object ids)
and options that nerve lacks but that change nothing at their default values (dense tensors,
no quantization); those are dropped. Anything else nerve lacks is a ValueError naming the
layer and the option, never silently ignored. Nested models and custom classes are refused.
"""
from __future__ import annotations

import numbers
import warnings
from typing import Any, Dict, Tuple

from .. import registration

MODEL_CLASSES = ("Sequential", "Functional")
# Keras options nerve does not take, with the values at which leaving them out changes
# nothing; a different value is refused.
_NEUTRAL_OPTIONS = {"sparse": False, "ragged": False, "optional": False,
                    "quantization_config": None, "activity_regularizer": None,
                    "lora_rank": None, "lora_alpha": None, "input_axes": None,
                    "output_axes": None, "use_ema": False, "ema_momentum": 0.99,
                    "ema_overwrite_frequency": None, "loss_scale_factor": None,
                    "gradient_accumulation_steps": None, "renorm": False,
                    "renorm_clipping": None, "renorm_momentum": 0.99,
                    "data_format": "channels_last"}
_BOOKKEEPING = ("module", "registered_name", "shared_object_id", "build_config")
# Options nerve records that these Keras layers' constructors refuse (Keras leaves them out).
_KERAS_REFUSES = {"SpatialDropout1D": ("trainable",), "SpatialDropout2D": ("trainable",)}
_KERAS_OPTIMIZERS = {"SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "Adadelta", "Adamax",
                     "Nadam", "Ftrl", "Lion", "Lamb", "Muon"}
# Keras 3's activation names (keras.activations): what a saved nerve model may name.
_KERAS_ACTIVATIONS = {"linear", "relu", "leaky_relu", "elu", "selu", "sigmoid", "hard_sigmoid",
                      "tanh", "softplus", "softsign", "silu", "swish", "gelu", "exponential",
                      "softmax", "relu6", "mish", "log_softmax", "celu", "glu", "hard_silu",
                      "hard_swish", "hard_tanh", "log_sigmoid", "sparse_plus", "soft_shrink",
                      "squareplus", "tanh_shrink", "threshold", "sparsemax"}


# --- Keras -> nerve ------------------------------------------------------------------------

def model_from_keras(config: Any) -> Tuple[str, Dict[str, Any]]:
    """Translate a Keras config.json's top level into nerve's model class and config.

    Args:
        config: The parsed config.json of a Keras 3 archive.

    Returns:
        ("Sequential" or "Functional", the model config nerve's from_config takes).

    Raises:
        ValueError: Not a model config, a subclassed or unknown model class, or a layer or
            option nerve lacks (named).

    Example:
            >>> import nerve
            >>> model = nerve.Sequential([nerve.Input(shape=(4,)), nerve.layers.Dense(2)])
            >>> from nerve.interop import keras_config
            >>> keras_config.model_from_keras(keras_config.model_to_keras(model))[0]
            'Sequential'
    """
    if not isinstance(config, dict) or not isinstance(config.get("config"), dict):
        raise ValueError("config.json: expected an object with 'class_name' and 'config'")
    class_name = config.get("class_name")
    if class_name == "Model":
        class_name = "Functional"
    if class_name not in MODEL_CLASSES:
        raise ValueError(f"config.json: the model is a {class_name!r}; nerve reads Keras "
                         f"Sequential and functional models (a subclassed model's code is "
                         f"not in the file)")
    model_config = dict(config["config"])
    model_config.pop("dtype", None)  # the layers carry their own
    layers = model_config.get("layers")
    if not isinstance(layers, list):
        raise ValueError("config.json: the model config has no list of layers")
    model_config["layers"] = [_layer_from_keras(entry) for entry in layers]
    return class_name, model_config


def _layer_from_keras(entry):
    if not isinstance(entry, dict) or not isinstance(entry.get("config"), dict):
        raise ValueError(f"config.json: a layer entry is not an object with a config: "
                         f"{str(entry)[:80]}")
    class_name = entry.get("class_name")
    name = entry["config"].get("name", entry.get("name"))
    if class_name in MODEL_CLASSES or class_name == "Model":
        raise ValueError(f"config.json: layer {name!r} is a nested {class_name} model; nerve "
                         f"reads flat models only (use the inner model's layers directly)")
    found = registration.builtins().get(class_name) if isinstance(class_name, str) else None
    if found is None or not _is_layer(found):
        raise ValueError(f"config.json: layer {name!r} is a Keras {class_name!r}, a layer "
                         f"nerve does not have")
    where = f"layer {name!r} ({class_name})"
    translated = {key: value for key, value in entry.items()
                  if key not in _BOOKKEEPING and key != "config"}
    translated["class_name"] = class_name
    translated["config"] = _options_from_keras(entry["config"], where)
    if "inbound_nodes" in entry:
        translated["inbound_nodes"] = [_node_from_keras(node, where)
                                       for node in entry["inbound_nodes"]]
    return translated


def _node_from_keras(node, where):
    """A call of a layer in the graph: Keras records `mask=None`, which nerve (no masks)
    leaves out; `training` is kept; any other argument is refused."""
    if not isinstance(node, dict):
        raise ValueError(f"config.json: {where}: a call is recorded as {str(node)[:80]}")
    kwargs = dict(node.get("kwargs") or {})
    if kwargs.get("mask", None) is None:
        kwargs.pop("mask", None)
    unknown = sorted(set(kwargs) - {"training"})
    if unknown:
        raise ValueError(f"config.json: {where}: called with {', '.join(unknown)}, which nerve "
                         f"does not support")
    return {**node, "kwargs": kwargs}


def _is_layer(found):
    from ..layers import Layer
    return isinstance(found, type) and issubclass(found, Layer)


def _options_from_keras(config, where):
    options = {}
    for key, value in config.items():
        if key in _NEUTRAL_OPTIONS:
            if value != _NEUTRAL_OPTIONS[key]:
                raise ValueError(f"config.json: {where}: the option {key}={value!r} is "
                                 f"not supported by nerve")
            continue
        if key == "activation":
            _check_activation(value, where)
        options[key] = _dtype_from_keras(value, where) if key == "dtype" \
            else _object_from_keras(value, f"{where} {key}")
    return options


def _check_activation(value, where):
    from .. import activations
    try:
        activations.get(value)
    except ValueError:
        raise ValueError(f"config.json: {where}: the activation {value!r} is not one nerve "
                         f"has") from None


def _dtype_from_keras(value, where):
    """A Keras dtype policy ({"class_name": "DTypePolicy", "config": {"name": ...}}) as the
    dtype name nerve takes; mixed precision is refused."""
    if isinstance(value, dict):
        value = (value.get("config") or {}).get("name")
    if value not in (None, "float32", "float64", "int32", "int64"):
        raise ValueError(f"config.json: {where}: the dtype policy {value!r} is not supported "
                         f"by nerve (float32 or float64)")
    return value


def compile_from_keras(config: Dict[str, Any]) -> Dict[str, Any]:
    """Translate a Keras compile_config into nerve's (what compile_from_config takes).

    The optimizer loses Keras's bookkeeping and its options at their neutral values.

    Args:
        config: A Keras 3 compile_config dict.

    Returns:
        {"optimizer", "loss", "metrics", "loss_weights", "weighted_metrics"}.

    Raises:
        ValueError: An optimizer option nerve lacks at a value that is not neutral.

    Example:
        >>> from nerve.interop import keras_config
        >>> keras_config.compile_from_keras({"optimizer": "adam", "loss": "mse"})["loss"]
        'mse'
    """
    optimizer = config.get("optimizer")
    if isinstance(optimizer, dict):
        optimizer = {"class_name": optimizer.get("class_name"),
                     "config": _options_from_keras(optimizer.get("config") or {},
                                                   "the optimizer")}
    return {"optimizer": optimizer, "loss": config.get("loss"), "metrics": config.get("metrics"),
            "loss_weights": config.get("loss_weights"),
            "weighted_metrics": config.get("weighted_metrics")}


def _object_from_keras(value, where):
    """A nested serialized object (initializer, regularizer...) without Keras's bookkeeping."""
    if isinstance(value, dict) and "class_name" in value and "config" in value:
        if value.get("class_name") == "__keras_tensor__":
            return value
        inner = value["config"]
        return {"class_name": value["class_name"],
                "config": _options_from_keras(inner, where) if isinstance(inner, dict)
                else inner}
    return value


# --- nerve -> Keras ------------------------------------------------------------------------

def model_to_keras(model: Any) -> Dict[str, Any]:
    """Translate a nerve Sequential or functional model of built-in layers into Keras's
    config.json (with its compile_config, None where Keras could not rebuild it).

    Args:
        model: A nerve Sequential or functional model.

    Returns:
        The config.json object of a Keras 3 archive.

    Raises:
        ValueError: A subclassed model (its code is not in a configuration).

    Example:
            >>> import nerve
            >>> model = nerve.Sequential([nerve.Input(shape=(4,)), nerve.layers.Dense(2)])
            >>> from nerve.interop import keras_config
            >>> keras_config.model_to_keras(model)["class_name"]
            'Sequential'
    """
    class_name = registration.get_registered_name(model)
    if class_name not in MODEL_CLASSES:
        raise ValueError(f"model: a {class_name} (subclassed model) cannot be written as a "
                         f"Keras archive; save it in nerve's format (a .nerve file)")
    config = dict(model.get_config())
    config["layers"] = [_layer_to_keras(entry) for entry in config["layers"]]
    build_config = model.get_build_config() if class_name == "Sequential" else None
    module = "keras" if class_name == "Sequential" else "keras.src.models.functional"
    return {"module": module, "class_name": class_name, "config": config,
            "registered_name": class_name, "build_config": build_config,
            "compile_config": _compile_to_keras(model.get_compile_config())}


def _compile_to_keras(config):
    """nerve's compile settings as Keras's, or None (with a warning) where they name a user's
    loss or metric, which Keras could not rebuild. Keras's optimizer starts afresh (Keras
    says so when it loads): its state stays in nerve's own format."""
    if config is None:
        return None
    names = [name for key in ("loss", "metrics", "weighted_metrics")
             for name in _strings(config.get(key))]
    custom = [name for name in names if not isinstance(name, str) or ">" in name]
    optimizer = config["optimizer"]
    if custom or optimizer.get("class_name") not in _KERAS_OPTIMIZERS:
        warnings.warn(f"the compile settings are not written to the Keras archive (it names "
                      f"{', '.join(map(str, custom or [optimizer.get('class_name')]))}, which "
                      f"Keras does not have): it loads uncompiled; nerve's format (a .nerve "
                      f"file) keeps them", stacklevel=5)
        return None
    return {**config, "optimizer": {"module": "keras.optimizers", **optimizer,
                                    "registered_name": None}}


def _strings(value):
    """The leaves of a loss or metrics setting (a name, or lists and dicts of them)."""
    if isinstance(value, dict):
        return [leaf for item in value.values() for leaf in _strings(item)]
    if isinstance(value, (list, tuple)):
        return [leaf for item in value for leaf in _strings(item)]
    return [] if value is None else [value]


def _layer_to_keras(entry):
    class_name, options = entry["class_name"], entry["config"]
    where = f"layer {options.get('name')!r} ({class_name})"
    found = registration.builtins().get(class_name)
    if found is None or not _is_layer(found) or class_name in MODEL_CLASSES:
        raise ValueError(f"model: {where} is not a Keras layer (a custom layer or a nested "
                         f"model); save the model in nerve's format (a .nerve file)")
    activation = options.get("activation")
    if isinstance(activation, str) and activation not in _KERAS_ACTIVATIONS:
        raise ValueError(f"model: {where} uses the activation {activation!r}, which Keras "
                         f"does not have; save the model in nerve's format (a .nerve file)")
    refused = _KERAS_REFUSES.get(class_name, ())
    return {"module": "keras.layers", **entry, "registered_name": None,
            "config": {key: _object_to_keras(key, value) for key, value in options.items()
                       if key not in refused}}


def _object_to_keras(key, value):
    """A layer option as Keras reads it: nested objects (initializers, regularizers,
    constraints) name their Keras module, found from the option's name."""
    if isinstance(value, dict) and "class_name" in value and "config" in value:
        kind = key.rsplit("_", 1)[-1]
        return {"module": f"keras.{kind}s", **value, "registered_name": None}
    if isinstance(value, numbers.Real) and not isinstance(value, (bool, int)):
        return float(value)
    return value
