"""ONNX export: `model.export("m.onnx", format="onnx")` writes the inference graph of a
Sequential or functional model (opset 17, batch dimension dynamic) through the `onnx`
package (the `onnx` extra). Each layer becomes a few standard operators, read from its config
and weights; nerve is channels-last, so convolutions and pools are wrapped in transposes to
ONNX's channels-first (runtimes fuse adjacent pairs). Dropout is the identity, batch
normalization its inference affine map. A layer or option without a translation is a
ValueError naming it, raised before the file is touched.
"""
from __future__ import annotations

import os
from typing import Any, Union

import numpy as np

from .. import _atomic_files, registration

OPSET = 17


def _onnx():
    try:
        import onnx
    except ImportError:
        raise ImportError("ONNX export needs the onnx package: pip install 'nerve[onnx]' or "
                          "pip install onnx") from None
    return onnx


def export(model: Any, filepath: Union[str, "os.PathLike[str]"]) -> None:
    """Write the inference graph of a built Sequential or functional model as ONNX.

    What model.export(filepath, format="onnx") calls. Opset 17, the batch dimension dynamic,
    the inputs and outputs named after the model's ("output_0", ...). The file is written
    atomically, and only once every layer is translated.

    Args:
        model: A built nerve Sequential or functional model.
        filepath: The file to write.

    Raises:
        ValueError: The model is not built, or a layer or option has no ONNX translation.
        ImportError: The onnx package is missing (pip install "nerve[onnx]").

    Example:
        >>> import os, tempfile, onnx, nerve
        >>> from nerve.interop import onnx_export
        >>> model = nerve.Sequential([nerve.Input(shape=(4,)), nerve.layers.Dense(2)])
        >>> with tempfile.TemporaryDirectory() as folder:
        ...     onnx_export.export(model, os.path.join(folder, "m.onnx"))
        ...     proto = onnx.load(os.path.join(folder, "m.onnx"))
        >>> [node.op_type for node in proto.graph.node]
        ['MatMul', 'Add', 'Identity']
    """
    onnx = _onnx()
    graph = getattr(model, "_graph", None)
    if graph is None:
        raise ValueError(f"model: {model.name!r} is not built; build it or call it once "
                         f"before export")
    builder = _Builder(onnx, model.dtype)
    names = {}
    for tensor in graph.inputs:
        names[id(tensor)] = builder.input(tensor)
    for node in graph.nodes:
        layer = node.operation
        inputs = [names[id(t)] for t in node.inputs]
        outputs = builder.layer(layer, inputs, node)
        for tensor, name in zip(node.outputs, outputs):
            names[id(tensor)] = name
    for index, tensor in enumerate(graph.outputs):
        builder.output(names[id(tensor)], tensor, f"output_{index}")
    proto = builder.model(model.name)
    onnx.checker.check_model(proto)
    data = proto.SerializeToString()
    _atomic_files.write(filepath, lambda file: file.write(data))


class _Builder:
    def __init__(self, onnx, dtype):
        self.onnx, self.helper = onnx, onnx.helper
        self.dtype = np.dtype(dtype)
        self.nodes, self.initializers, self.inputs, self.outputs = [], [], [], []
        self._count = 0

    # -- graph plumbing
    def fresh(self, hint):
        self._count += 1
        return f"{hint}_{self._count}"

    def constant(self, array, hint="const"):
        name = self.fresh(hint)
        self.initializers.append(self.onnx.numpy_helper.from_array(np.asarray(array), name))
        return name

    def op(self, op_type, inputs, hint, **attributes):
        output = self.fresh(hint)
        self.nodes.append(self.helper.make_node(op_type, list(inputs), [output], **attributes))
        return output

    def _value_info(self, name, tensor):
        element = self.helper.np_dtype_to_tensor_dtype(np.dtype(tensor.dtype))
        shape = ["batch"] + list(tensor.shape[1:])
        return self.helper.make_tensor_value_info(name, element, shape)

    def input(self, tensor):
        name = tensor.node.operation.name
        self.inputs.append(self._value_info(name, tensor))
        return name

    def output(self, name, tensor, output_name):
        self.nodes.append(self.helper.make_node("Identity", [name], [output_name]))
        self.outputs.append(self._value_info(output_name, tensor))

    def model(self, name):
        graph = self.helper.make_graph(self.nodes, name, self.inputs, self.outputs,
                                       self.initializers)
        return self.helper.make_model(graph, producer_name="nerve",
                                      opset_imports=[self.helper.make_opsetid("", OPSET)])

    # -- layers
    def layer(self, layer, inputs, node):
        class_name = registration.get_registered_name(layer)
        convert = _CONVERTERS.get(class_name)
        if convert is None or registration.builtins().get(class_name) is not type(layer):
            raise ValueError(f"model: layer {layer.name!r} ({class_name}) has no ONNX "
                             f"translation in nerve")
        config = layer.get_config()
        result = convert(self, layer, config, inputs, node)
        return result if isinstance(result, list) else [result]

    def activation(self, x, name, where, alpha=None):
        if name == "linear":
            return x
        if name in _SIMPLE_ACTIVATIONS:
            return self.op(_SIMPLE_ACTIVATIONS[name], [x], name)
        if name == "softmax":
            return self.op("Softmax", [x], name, axis=-1)
        if name == "leaky_relu":
            return self.op("LeakyRelu", [x], name, alpha=0.2 if alpha is None else alpha)
        if name == "elu":
            return self.op("Elu", [x], name, alpha=1.0 if alpha is None else alpha)
        if name == "hard_sigmoid":  # Keras 3: relu6(x + 3) / 6
            return self.op("HardSigmoid", [x], name, alpha=1 / 6, beta=0.5)
        if name in ("silu", "swish"):
            return self.op("Mul", [x, self.op("Sigmoid", [x], "sigmoid")], name)
        if name == "gelu":  # exact: x * (1 + erf(x / sqrt 2)) / 2
            scaled = self.op("Div", [x, self.constant(np.array(np.sqrt(2), self.dtype))], "g")
            one = self.op("Add", [self.op("Erf", [scaled], "erf"), self.scalar(1.0)], "g")
            return self.op("Mul", [self.op("Mul", [x, one], "g"), self.scalar(0.5)], name)
        raise ValueError(f"model: {where}: the activation {name!r} has no ONNX translation "
                         f"in nerve")

    def scalar(self, value):
        return self.constant(np.array(value, self.dtype), "scalar")

    def channels_first(self, x, rank, op_type, hint, **attributes):
        """op_type applied to channels-last `x` (rank spatial dims) via channels-first."""
        to_first = [0, rank + 1] + list(range(1, rank + 1))
        to_last = [0] + list(range(2, rank + 2)) + [1]
        x = self.op("Transpose", [x], "nchw", perm=to_first)
        y = self.op(op_type, [x] + attributes.pop("extra_inputs", []), hint, **attributes)
        return self.op("Transpose", [y], "nhwc", perm=to_last)


_SIMPLE_ACTIVATIONS = {"relu": "Relu", "sigmoid": "Sigmoid", "tanh": "Tanh",
                       "softplus": "Softplus", "softsign": "Softsign", "selu": "Selu",
                       "exponential": "Exp"}


def _where(layer):
    return f"layer {layer.name!r} ({type(layer).__name__})"


def _dense(b, layer, config, inputs, node):
    weights = layer.get_weights()
    y = b.op("MatMul", [inputs[0], b.constant(weights[0], "kernel")], "dense")
    if config.get("use_bias", True):
        y = b.op("Add", [y, b.constant(weights[1], "bias")], "bias")
    return b.activation(y, config.get("activation", "linear"), _where(layer))


def _padding(padding, spatial, kernel, strides, dilations, where):
    """The padding attributes: Keras's "same" as explicit pads (the odd one after, as
    SAME_UPPER, which onnxruntime refuses with dilations) when the sizes are known."""
    if padding == "valid":
        return {"auto_pad": "VALID"}
    if padding != "same":
        raise ValueError(f"model: {where}: padding {padding!r} has no ONNX translation")
    if any(size is None for size in spatial):
        return {"auto_pad": "SAME_UPPER"}
    totals = [max((-(-size // stride) - 1) * stride + (k - 1) * dilation + 1 - size, 0)
              for size, k, stride, dilation in zip(spatial, kernel, strides, dilations)]
    return {"pads": [total // 2 for total in totals] + [total - total // 2 for total in totals]}


def _conv(b, layer, config, inputs, node):
    weights = layer.get_weights()
    rank = len(config["kernel_size"])
    # (spatial..., in / groups, out) -> (out, in / groups, spatial...)
    kernel = np.transpose(weights[0], [rank + 1, rank] + list(range(rank)))
    extra = [b.constant(kernel, "kernel")]
    if config.get("use_bias", True):
        extra.append(b.constant(weights[1], "bias"))
    kernel_size, strides = list(config["kernel_size"]), list(config["strides"])
    dilations = list(config["dilation_rate"])
    pads = _padding(config["padding"], node.inputs[0].shape[1:-1], kernel_size, strides,
                    dilations, _where(layer))
    y = b.channels_first(inputs[0], rank, "Conv", "conv", extra_inputs=extra,
                         kernel_shape=kernel_size, strides=strides, dilations=dilations,
                         group=int(config.get("groups", 1)), **pads)
    return b.activation(y, config.get("activation", "linear"), _where(layer))


def _pool(op_type):
    def convert(b, layer, config, inputs, node):
        pool = list(config["pool_size"]) if isinstance(config["pool_size"], (list, tuple)) \
            else [config["pool_size"]]
        strides = config.get("strides") or pool
        strides = list(strides) if isinstance(strides, (list, tuple)) else [strides]
        pads = _padding(config["padding"], node.inputs[0].shape[1:-1], pool, strides,
                        [1] * len(pool), _where(layer))
        return b.channels_first(inputs[0], len(pool), op_type, "pool", kernel_shape=pool,
                                strides=strides, **pads)
    return convert


def _global_pool(op_type):
    def convert(b, layer, config, inputs, node):
        rank = len(node.inputs[0].shape) - 2
        return b.op(op_type, [inputs[0]], "global", axes=list(range(1, rank + 1)),
                    keepdims=int(bool(config.get("keepdims", False))))
    return convert


def _batch_normalization(b, layer, config, inputs, node):
    axis = config.get("axis", -1)
    ndim = len(node.inputs[0].shape)
    if axis not in (-1, ndim - 1):
        raise ValueError(f"model: {_where(layer)}: axis {axis} has no ONNX translation (the "
                         f"last axis only)")
    weights = iter(layer.get_weights())
    gamma = next(weights) if config.get("scale", True) else None
    beta = next(weights) if config.get("center", True) else None
    mean, variance = next(weights), next(weights)
    scale = (gamma if gamma is not None else 1) / np.sqrt(variance + config["epsilon"])
    shift = (beta if beta is not None else 0) - mean * scale
    y = b.op("Mul", [inputs[0], b.constant(scale.astype(b.dtype), "bn_scale")], "bn")
    return b.op("Add", [y, b.constant(shift.astype(b.dtype), "bn_shift")], "bn")


def _activation_layer(name_of):
    def convert(b, layer, config, inputs, node):
        name, alpha = name_of(config)
        return b.activation(inputs[0], name, _where(layer), alpha)
    return convert


def _relu(b, layer, config, inputs, node):
    if config.get("threshold", 0) != 0:
        raise ValueError(f"model: {_where(layer)}: a threshold has no ONNX translation")
    slope = config.get("negative_slope", 0)
    y = b.activation(inputs[0], "leaky_relu" if slope else "relu", _where(layer), slope)
    if config.get("max_value") is None:
        return y
    return b.op("Min", [y, b.scalar(config["max_value"])], "relu_max")


def _prelu(b, layer, config, inputs, node):
    return b.op("PRelu", [inputs[0], b.constant(layer.get_weights()[0], "alpha")], "prelu")


def _layer_normalization(b, layer, config, inputs, node):
    ndim = len(node.inputs[0].shape)
    axes = sorted(a % ndim for a in np.atleast_1d(config.get("axis", -1)))
    if axes != list(range(axes[0], ndim)) or config.get("rms_scaling"):
        raise ValueError(f"model: {_where(layer)}: axis {config.get('axis')} has no ONNX "
                         f"translation (trailing axes only)")
    shape = node.inputs[0].shape[axes[0]:]
    weights = iter(layer.get_weights())
    gamma = next(weights) if config.get("scale", True) else np.ones(shape, b.dtype)
    beta = next(weights) if config.get("center", True) else np.zeros(shape, b.dtype)
    return b.op("LayerNormalization", [inputs[0], b.constant(gamma, "gamma"),
                                       b.constant(beta, "beta")], "layer_norm",
                axis=axes[0], epsilon=float(config["epsilon"]))


def _zero_padding(b, layer, config, inputs, node):
    (top, bottom), (left, right) = config["padding"]
    pads = np.array([0, top, left, 0, 0, bottom, right, 0], np.int64)
    return b.op("Pad", [inputs[0], b.constant(pads, "pads")], "pad")


def _upsampling(b, layer, config, inputs, node):  # nearest, the one nerve has
    scales = np.array([1, *config["size"], 1], np.float32)
    return b.op("Resize", [inputs[0], "", b.constant(scales, "scales")], "upsample",
                mode="nearest", coordinate_transformation_mode="asymmetric",
                nearest_mode="floor")


def _rescaling(b, layer, config, inputs, node):
    y = b.op("Mul", [inputs[0], b.constant(np.asarray(config["scale"], b.dtype), "scale")],
             "rescale")
    return b.op("Add", [y, b.constant(np.asarray(config["offset"], b.dtype), "offset")],
                "rescale")


def _softmax(b, layer, config, inputs, node):
    axis = config.get("axis", -1)
    if not isinstance(axis, int):
        raise ValueError(f"model: {_where(layer)}: axis {axis} has no ONNX translation")
    return b.op("Softmax", [inputs[0]], "softmax", axis=axis)


def _merge(op_type):
    def convert(b, layer, config, inputs, node):
        return b.op(op_type, inputs, "merge")
    return convert


def _dot(b, layer, config, inputs, node):
    """Dot of two (batch, features) inputs over the features: sum(x * y), kept as a column."""
    if any(len(t.shape) != 2 for t in node.inputs) or any(a not in (1, -1)
                                                           for a in config["axes"]):
        raise ValueError(f"model: {_where(layer)}: Dot beyond two matrices' feature axes has "
                         f"no ONNX translation")
    if config.get("normalize"):
        inputs = [b.op("LpNormalization", [x], "l2", axis=-1, p=2) for x in inputs]
    product = b.op("Mul", inputs, "dot")
    return b.op("ReduceSum", [product, b.constant(np.array([1], np.int64), "axes")], "dot",
                keepdims=1)


def _flatten(b, layer, config, inputs, node):
    return b.op("Flatten", [inputs[0]], "flatten", axis=1)


def _reshape(b, layer, config, inputs, node):
    shape = np.array([0] + list(config["target_shape"]), np.int64)
    return b.op("Reshape", [inputs[0], b.constant(shape, "shape")], "reshape")


def _embedding(b, layer, config, inputs, node):
    indices = b.op("Cast", [inputs[0]], "indices", to=b.onnx.TensorProto.INT64)
    return b.op("Gather", [b.constant(layer.get_weights()[0], "embeddings"), indices], "embed")


def _identity(b, layer, config, inputs, node):
    return b.op("Identity", [inputs[0]], "identity")


_CONVERTERS = {
    "Dense": _dense, "Conv1D": _conv, "Conv2D": _conv,
    "MaxPooling1D": _pool("MaxPool"), "MaxPooling2D": _pool("MaxPool"),
    "AveragePooling1D": _pool("AveragePool"), "AveragePooling2D": _pool("AveragePool"),
    "GlobalAveragePooling1D": _global_pool("ReduceMean"),
    "GlobalAveragePooling2D": _global_pool("ReduceMean"),
    "GlobalMaxPooling1D": _global_pool("ReduceMax"),
    "GlobalMaxPooling2D": _global_pool("ReduceMax"),
    "BatchNormalization": _batch_normalization,
    "Activation": _activation_layer(lambda config: (config["activation"], None)),
    "ReLU": _relu, "PReLU": _prelu, "LayerNormalization": _layer_normalization,
    "ZeroPadding2D": _zero_padding, "UpSampling2D": _upsampling, "Rescaling": _rescaling,
    "LeakyReLU": _activation_layer(lambda config: ("leaky_relu", config["negative_slope"])),
    "ELU": _activation_layer(lambda config: ("elu", config.get("alpha", 1.0))),
    "Softmax": _softmax, "Add": _merge("Sum"), "Subtract": _merge("Sub"),
    "Multiply": _merge("Mul"), "Maximum": _merge("Max"), "Minimum": _merge("Min"),
    "Average": _merge("Mean"),
    "Concatenate": lambda b, layer, config, inputs, node: b.op(
        "Concat", inputs, "concat", axis=config.get("axis", -1)),
    "Dot": _dot, "Flatten": _flatten, "Reshape": _reshape,
    "Permute": lambda b, layer, config, inputs, node: b.op(
        "Transpose", [inputs[0]], "permute", perm=[0] + list(config["dims"])),
    "Embedding": _embedding, "Dropout": _identity, "SpatialDropout1D": _identity,
    "SpatialDropout2D": _identity,
}
