"""Functional models: `nerve.Model(inputs, outputs)` returns a Functional, a Model whose graph
is given by the layer calls between its inputs and outputs; and its configuration in Keras's
form (layers with their inbound nodes, input and output layers), from which it is rebuilt."""
from __future__ import annotations

from typing import Any, Dict, Mapping, Optional

from .. import registration
from ..graph import SymbolicTensor, flatten
from ..layers import deserialize as deserialize_layer
from ..layers import serialize as serialize_layer
from ..layers.core import InputLayer
from .model import Model

__all__ = ["Functional"]


class Functional(Model):
    """A model given by its input and output tensors.

    What nerve.Model(inputs, outputs) returns (see Model for the arguments).

    Example:
        >>> import nerve
        >>> inputs = nerve.Input(shape=(4,))
        >>> model = nerve.Model(inputs, nerve.layers.Dense(2)(inputs))
        >>> type(model).__name__, model.output_shape
        ('Functional', (None, 2))
    """

    def get_config(self) -> Dict[str, Any]:
        """Return the configuration in Keras's form: the layers with their inbound nodes,
        and the input and output layers.

        Returns:
            {"name", "trainable", "layers", "input_layers", "output_layers"}.

        Raises:
            NotImplementedError: The graph calls nerve.ops directly (a configuration cannot
                record those calls: move them into a Layer subclass's call()).

        Example:
            >>> import nerve
            >>> inputs = nerve.Input(shape=(4,), name="features")
            >>> model = nerve.Model(inputs, nerve.layers.Dense(2, name="out")(inputs))
            >>> [entry["name"] for entry in model.get_config()["layers"]]
            ['features', 'out']
        """
        graph = self._graph
        ops = sorted({n.operation.name for n in graph.nodes
                      if getattr(n.operation, "_graph_op", False)})
        if ops:
            raise NotImplementedError(
                f"{self.name}: its graph calls nerve.ops directly ({', '.join(ops)}), which a "
                f"configuration cannot record; move those calls into the call() of a Layer "
                f"subclass (registered with register_keras_serializable) to save the model, "
                f"or save its weights")
        node_index = _node_indices(graph)
        layers = []
        for layer in graph.layers:
            entry = serialize_layer(layer)
            entry["name"] = layer.name
            entry["inbound_nodes"] = [_node_config(node, node_index)
                                      for node in graph.nodes if node.operation is layer]
            layers.append(entry)
        return {"name": self.name, "trainable": self.trainable, "layers": layers,
                "input_layers": _endpoints(self._input_structure, graph.inputs, node_index,
                                           self._input_names_given),
                "output_layers": _endpoints(self._output_structure, graph.outputs, node_index,
                                            self._output_names_given)}

    @classmethod
    def from_config(cls, config: Dict[str, Any],  # type: ignore[override]
                    custom_objects: Optional[Mapping[str, Any]] = None) -> "Functional":
        """Rebuild a functional model from its get_config() configuration (new weights).

        Args:
            config: The dict get_config() returns (or a Keras 3 functional config).
            custom_objects: Dict {name: class} for the user's layers not registered with
                register_keras_serializable, default None.

        Returns:
            A new Functional with the same graph.

        Raises:
            ValueError: Nodes that refer to tensors no layer makes, or an unknown tensor.
            KeyError: A configuration without "layers", "input_layers" or "output_layers".

        Example:
            >>> import nerve
            >>> inputs = nerve.Input(shape=(4,))
            >>> model = nerve.Model(inputs, nerve.layers.Dense(2)(inputs))
            >>> nerve.models.Functional.from_config(model.get_config()).output_shape
            (None, 2)
        """
        with registration.custom_object_scope(custom_objects):
            layers = {}
            for entry in config["layers"]:
                layers[entry.get("name") or entry["config"]["name"]] = (
                    deserialize_layer(entry), entry.get("inbound_nodes", []))
        tensors = {}  # (layer name, node index, tensor index) -> SymbolicTensor
        for name, (layer, _) in layers.items():
            if isinstance(layer, InputLayer):
                tensors[(name, 0, 0)] = layer.output
        pending = [(name, i, node) for name, (_, nodes) in layers.items()
                   for i, node in enumerate(nodes)]
        while pending:
            waiting = []
            for name, index, node in pending:
                args = _resolve(node["args"][0] if node.get("args") else None, tensors)
                if args is None:
                    waiting.append((name, index, node))
                    continue
                outputs = layers[name][0](args, **(node.get("kwargs") or {}))
                for position, tensor in enumerate(flatten(outputs)):
                    tensors[(name, index, position)] = tensor
            if len(waiting) == len(pending):
                raise ValueError(f"{config.get('name')}: the configuration's nodes refer to "
                                 f"tensors no layer makes: {[w[0] for w in waiting]}")
            pending = waiting
        inputs = _endpoint_tensors(config["input_layers"], tensors)
        outputs = _endpoint_tensors(config["output_layers"], tensors)
        return cls(inputs, outputs, name=config.get("name"),
                   trainable=config.get("trainable", True))


def _node_indices(graph):
    """id(node) -> its index among the nodes of its layer in this graph (inputs: 0)."""
    counts, indices = {}, {}
    for tensor in graph.inputs:
        indices[id(tensor.node)] = 0
    for node in graph.nodes:
        key = id(node.operation)
        indices[id(node)] = counts.get(key, 0)
        counts[key] = indices[id(node)] + 1
    return indices


def _history(tensor, node_index):
    return [tensor.node.operation.name, node_index[id(tensor.node)], tensor.index]


def _node_config(node, node_index):
    def tensor_config(tensor):
        return {"class_name": "__keras_tensor__",
                "config": {"shape": list(tensor.shape), "dtype": tensor.dtype,
                           "keras_history": _history(tensor, node_index)}}
    args = node.call_inputs
    args = tensor_config(args) if isinstance(args, SymbolicTensor) else _map(tensor_config, args)
    kwargs = {} if node.training is None else {"training": node.training}
    return {"args": [args], "kwargs": kwargs}


def _map(function, value):
    if isinstance(value, dict):
        return {k: _map(function, v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_map(function, v) for v in value]
    return function(value)


def _endpoints(structure, tensors, node_index, names):
    histories = [_history(t, node_index) for t in tensors]
    if names is not None:
        return dict(zip(names, histories))
    if structure is None:
        return histories[0]
    return histories


def _resolve(value, tensors):
    """The tensors a node's recorded arguments name, or None while one is still missing."""
    missing = []

    def find(entry):
        if isinstance(entry, dict) and entry.get("class_name") == "__keras_tensor__":
            key = tuple(entry["config"]["keras_history"])
            if key not in tensors:
                missing.append(key)
            return tensors.get(key)
        if isinstance(entry, dict):
            return {k: find(v) for k, v in entry.items()}
        if isinstance(entry, list):
            return [find(v) for v in entry]
        raise ValueError(f"unexpected node argument {entry!r} in a model configuration")
    result = find(value)
    return None if missing else result


def _endpoint_tensors(value, tensors):
    def find(entry):
        key = tuple(entry)
        if key not in tensors:
            raise ValueError(f"the model configuration names an unknown tensor {list(entry)}")
        return tensors[key]
    if isinstance(value, dict):
        return {k: find(v) for k, v in value.items()}
    if value and isinstance(value[0], str):
        return find(value)
    return [find(v) for v in value]


registration.register_builtin(Functional)
