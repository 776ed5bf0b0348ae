"""Model (keras.Model): a layer with a graph and a trainer.

Three ways to make one, one core under them:

    x = nerve.Input(shape=(8,))                        # functional: a graph of layer calls
    model = nerve.Model(x, nerve.layers.Dense(1)(x))

    class MyModel(nerve.Model):                        # subclassed: layers as attributes,
        def __init__(self):                            # call() traced once per input shape
            super().__init__()                         # and mode into the same graph form
            self.dense = nerve.layers.Dense(1)
        def call(self, inputs, training=None):
            return self.dense(inputs)

    nerve.Sequential([...])                            # a chain, built as a graph too

Python control flow in a subclassed call() is fixed when it is traced (once for training,
once for inference); it must not depend on tensor values.
"""
import json

import numpy as np

from .. import registration
from ..graph import (Graph, SymbolicTensor, flatten, is_symbolic, pack_like, source_tensor,
                     structure_of)
from ..layers.core import InputLayer
from ..layers.layer import IntegerInputsExpected, Layer, batch_shape
from .summary import print_summary
from .trainer import Trainer


class Model(Trainer, Layer):
    """A trainable graph of layers; see the module docstring."""

    _untracked = frozenset({"optimizer", "loss", "history", "_graph", "_layers", "_input",
                            "_sources", "_packed"})

    def __new__(cls, *args, **kwargs):
        if cls is Model and (args or "inputs" in kwargs or "outputs" in kwargs):
            from .functional import Functional
            cls = Functional
        return Layer.__new__(cls, *args, **kwargs)

    def __init__(self, *args, **kwargs):
        inputs = kwargs.pop("inputs", args[0] if args else None)
        outputs = kwargs.pop("outputs", args[1] if len(args) > 1 else None)
        if len(args) > 2:
            raise TypeError(f"Model: expected (inputs, outputs) and keyword arguments, "
                            f"received {len(args)} positional arguments")
        Layer.__init__(self, name=kwargs.pop("name", None),
                       trainable=kwargs.pop("trainable", True), dtype=kwargs.pop("dtype", None),
                       **kwargs)
        self._init_trainer()
        self._graph = self._sources = None
        self._input_structure = self._output_structure = None
        if inputs is not None or outputs is not None:
            if inputs is None or outputs is None:
                raise ValueError("Model: a functional model needs both inputs and outputs")
            self._init_graph(inputs, outputs)

    # ---- the graph ----------------------------------------------------------------------------
    def _init_graph(self, inputs, outputs):
        self._input_structure = None if isinstance(inputs, SymbolicTensor) else \
            structure_of(inputs)
        self._output_structure = None if isinstance(outputs, SymbolicTensor) else \
            structure_of(outputs)
        self._graph = Graph(flatten(inputs), flatten(outputs), self.name)
        self._input_names_given = list(inputs) if isinstance(inputs, dict) else None
        self._output_names_given = list(outputs) if isinstance(outputs, dict) else None
        dtypes = {layer.dtype for layer in self._graph.layers
                  if layer._own_weights and not isinstance(layer, InputLayer)}
        if len(dtypes) > 1:
            raise ValueError(f"{self.name}: all layers of a model share one dtype, received "
                             f"{sorted(dtypes)}")
        self.dtype = dtypes.pop() if dtypes else self.dtype
        self.built = True

    @property
    def _static(self):
        """True when the graph is given (functional, Sequential) rather than traced."""
        return self._sources is None

    def _graph_for(self, training):
        if self._graph is None:
            raise ValueError(f"{self.name}: the model is not built yet (call build(), fit() "
                             f"or the model on data first)")
        if self._static:
            return self._graph
        return self._trace(self._sources, training, self._input_structure)[0]

    def _trace(self, leaves, training, structure=None):
        if self._graph is not None and self._static:
            expected = [t.shape for t in self._graph.inputs]
            received = [t.shape for t in leaves]
            if [s[1:] for s in expected] != [tuple(s)[1:] for s in received]:
                raise ValueError(f"{self.name}: expected inputs of shape "
                                 f"{', '.join(map(str, expected))}, received "
                                 f"{', '.join(map(str, received))}")
            return self._graph, self._output_structure
        return Layer._trace(self, leaves, training, structure)

    @property
    def _is_composite(self):
        return True

    def call(self, inputs, training=None):
        """A functional model computes its graph; a subclass defines its own call()."""
        raise NotImplementedError(f"{type(self).__name__}: a subclassed model must define "
                                  f"call(inputs, training=None)")

    def build(self, input_shape=None, _dtypes=None):
        """Create the weights for inputs of `input_shape` (batch first, e.g. (None, 8); a list
        of shapes for several inputs): a subclassed model traces its call() here (on inputs
        of the model's dtype, or of `_dtypes` when built from integer data)."""
        if self._graph is not None:
            return
        if input_shape is None:
            raise ValueError(f"{self.name}: build() needs an input shape such as (None, 8)")
        shapes = input_shape if isinstance(input_shape, list) else [input_shape]
        shapes = [batch_shape(s) for s in shapes]
        dtypes = _dtypes or [self.dtype] * len(shapes)
        sources = [source_tensor(s, d) for s, d in zip(shapes, dtypes)]
        structure = [None] * len(sources) if isinstance(input_shape, list) else None
        graph, self._output_structure = Layer._trace(self, sources, False, structure)
        self._sources, self._input_structure, self._graph = sources, structure, graph
        self._input_names_given = self._output_names_given = None
        self.built = True
        self._pack()

    def _build_from_data(self, arrays):
        if self._graph is None:
            shapes = [(None,) + a.shape[1:] for a in arrays]
            shape = shapes if len(shapes) > 1 else shapes[0]
            try:
                self.build(shape)
            except IntegerInputsExpected:
                # call() feeds an input to an Embedding: int32 / int64 arrays stay integers.
                self.build(shape, [a.dtype.name if a.dtype in (np.int32, np.int64) else
                                   self.dtype for a in arrays])

    @property
    def inputs(self):
        return list(self._graph_for(False).inputs)

    @property
    def outputs(self):
        return list(self._graph_for(False).outputs)

    @property
    def input_shape(self):
        shapes = [t.shape for t in self.inputs]
        return shapes[0] if len(shapes) == 1 else shapes

    @property
    def output_shape(self):
        shapes = [t.shape for t in self.outputs]
        return shapes[0] if len(shapes) == 1 else shapes

    @property
    def _input_names(self):
        if getattr(self, "_input_names_given", None):
            return self._input_names_given
        if self._graph is None:
            return ["input"]  # an unbuilt model takes one input until it is built
        if not self._static:
            return [f"input_{i}" for i in range(len(self._sources))]
        return [t.node.operation.name for t in self._graph.inputs]

    @property
    def _output_names(self):
        if getattr(self, "_output_names_given", None):
            return self._output_names_given
        if self._graph is None:
            return ["output"]
        outputs = self._graph_for(False).outputs
        if not self._static:
            return ["output"] if len(outputs) == 1 else [f"output_{i}" for i in
                                                         range(len(outputs))]
        return [t.node.operation.name for t in outputs]

    def _structured_outputs(self, arrays):
        if self._output_structure is None:
            return arrays[0]
        return pack_like(self._output_structure, arrays)

    # ---- layers -------------------------------------------------------------------------------
    @property
    def layers(self):
        if self._static and self._graph is not None:
            return self._graph.layers
        return Layer._sublayers(self)

    def _sublayers(self):
        return [layer for layer in self.layers if not isinstance(layer, InputLayer)]

    def _primitive_layers(self):
        found = []
        for layer in self._sublayers():
            found += layer._primitive_layers() if isinstance(layer, Model) else [layer]
        return found

    def get_layer(self, name=None, index=None):
        """A layer by name or by index in model.layers."""
        if (name is None) == (index is None):
            raise ValueError("get_layer: give exactly one of name or index")
        layers = self.layers
        if index is not None:
            if not isinstance(index, int) or not -len(layers) <= index < len(layers):
                raise ValueError(f"get_layer: index {index!r} is out of range for a model "
                                 f"with {len(layers)} layers")
            return layers[index]
        for layer in layers:
            if layer.name == name:
                return layer
        raise ValueError(f"get_layer: no layer named {name!r}; the layers are "
                         f"{[layer.name for layer in layers]}")

    # ---- calls --------------------------------------------------------------------------------
    def __call__(self, inputs, training=None, **kwargs):
        if kwargs:
            raise ValueError(f"{self.name}: unexpected arguments {sorted(kwargs)} in the call")
        if is_symbolic(inputs):
            if isinstance(inputs, dict) and self._graph is not None:
                inputs = [inputs[name] for name in self._input_names]
            if self._graph is None:
                self.build([t.shape for t in flatten(inputs)] if not isinstance(
                    inputs, SymbolicTensor) else inputs.shape)
            return self._symbolic_call(inputs, training)
        return self._call_on_arrays(inputs, training)

    # ---- weights ------------------------------------------------------------------------------
    def get_weights(self):
        """Copies of the weights in Keras order: [kernel, bias, kernel, bias, ...]."""
        return [w.numpy() for w in self.weights]

    def set_weights(self, weights):
        """Copy `weights` (the get_weights layout) into the model; nothing changes on error."""
        if not self.built:
            raise ValueError("set_weights: the model is not built yet (call build() or fit first)")
        Layer.set_weights(self, weights)

    # ---- configuration and saving -------------------------------------------------------------
    def get_build_config(self):
        if self._sources is None:
            return None
        shapes = [list(t.shape) for t in self._sources]
        return {"input_shape": shapes if self._input_structure is not None else shapes[0]}

    def build_from_config(self, config):
        if config and config.get("input_shape") is not None:
            shape = config["input_shape"]
            self.build([tuple(s) for s in shape] if shape and isinstance(shape[0], list)
                       else tuple(shape))

    @classmethod
    def from_config(cls, config):
        return cls(**_accepted_arguments(cls, config))

    def to_json(self, **kwargs):
        """The architecture as JSON: {"class_name", "config"} (weights are not included)."""
        return json.dumps({"class_name": registration.get_registered_name(self),
                           "config": self.get_config(), "module": "nerve.models"}, **kwargs)

    def save(self, filepath):
        """Architecture, weights, compile settings and optimizer state (nerve.saving)."""
        from .. import saving
        saving.save_model(self, filepath)

    def export(self, filepath, format="onnx", verbose=None):
        """Write the inference graph for another runtime: format="onnx" (Keras 3's call;
        nerve.interop.onnx_export) to a file named *.onnx. `verbose`: ignored (Keras's)."""
        from .. import saving
        from ..interop import onnx_export
        filepath = saving._path(filepath)
        if format != "onnx":
            raise ValueError(f"format: nerve exports 'onnx' only, received {format!r}")
        if not filepath.lower().endswith(".onnx"):
            raise ValueError(f"filepath: an ONNX file's name ends in .onnx, received "
                             f"{filepath!r}")
        onnx_export.export(self, filepath)

    def save_weights(self, filepath):
        from .. import saving
        saving.save_weights(self, filepath)

    def load_weights(self, filepath):
        from .. import saving
        saving.load_weights(self, filepath)

    # ---- summary ------------------------------------------------------------------------------
    def summary(self, line_length=None, print_fn=None):
        """Print the layers, their output shapes and parameter counts, in Keras's layout."""
        print_summary(self, line_length, print_fn)

    def _summary_entries(self):
        """(layer, output shape, sources or None) per row of summary()."""
        if not self._static or self._graph is None:  # traced, or a subclass not built yet
            return [(layer, None, None) for layer in self.layers]
        nodes = {}
        for node in self._graph.nodes:
            nodes.setdefault(id(node.operation), []).append(node)
        chain = all(len(n.inputs) == 1 for n in self._graph.nodes) and len(
            self._graph.inputs) == 1 and len(self._graph.outputs) == 1 and all(
            sum(1 for m in self._graph.nodes if t in m.inputs) <= 1
            for n in self._graph.nodes for t in n.outputs)
        entries = []
        for layer in self.layers:
            own = nodes.get(id(layer), [])
            if not own:  # an input layer
                entries.append((layer, layer.output.shape, None if chain else []))
                continue
            shapes = [t.shape for t in own[0].outputs]
            sources = [_source_name(t) for node in own for t in node.inputs]
            entries.append((layer, shapes[0] if len(shapes) == 1 else shapes,
                            None if chain else sources))
        return entries

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name}, built={self.built}>"


def _source_name(tensor):
    layer = tensor.node.operation
    index = next((i for i, n in enumerate(getattr(layer, "_inbound_nodes", ()))
                  if n is tensor.node), 0)
    return f"{layer.name}[{index}][{tensor.index}]"


def _accepted_arguments(cls, config):
    """`config` without the base keys (name, trainable, dtype) that cls's constructor does
    not take, so a user's model whose __init__ has no **kwargs still loads."""
    import inspect

    parameters = inspect.signature(cls.__init__).parameters
    if any(p.kind is p.VAR_KEYWORD for p in parameters.values()):
        return dict(config)
    return {k: v for k, v in config.items() if k in parameters}


registration.register_builtin(Model)
