"""Sequential (keras.Sequential): a linear stack of layers, kept as the graph of a chain.

    model = Sequential([Dense(10, input_dim=8, activation="relu"), Dense(1, activation="sigmoid")])
    model.compile(loss="binary_crossentropy", optimizer="adam", metrics=["accuracy"])
    model.fit(x, y, epochs=150, batch_size=10)

With a known input shape (input_dim=, input_shape=, an Input first, or build()) the chain is
rebuilt at each add(); without one it is built on the first data it sees.
"""
from __future__ import annotations

from typing import Any, Dict, Iterable, List, Mapping, Optional, Tuple

import numpy as np

from .. import registration
from ..graph import SymbolicTensor
from ..layers import deserialize as deserialize_layer
from ..layers import serialize as serialize_layer
from ..layers.core import InputLayer
from ..layers.layer import Layer, batch_shape
from .model import Model

__all__ = ["Sequential"]


class Sequential(Model):
    """A linear stack of layers (keras.Sequential), each feeding the next.

    With a known input shape (an Input first, a first layer's input_shape= / input_dim=,
    or build()) the model is built at once and rebuilt at each add() or pop(); without one
    it is built on the first data it sees. The layers must have unique names and one dtype.

    Args:
        layers: A list of layers (an Input or InputLayer may come first), default None.
        trainable: Bool, default True.
        name: Str, default None (a unique name such as "sequential").

    Raises:
        TypeError: An entry that is not a nerve layer.
        ValueError: An Input that is not first, two layers of one name, layers of
            different dtypes, or shapes that do not chain.

    Example:
        >>> import numpy as np, nerve
        >>> model = nerve.Sequential([nerve.Input(shape=(8,)),
        ...                           nerve.layers.Dense(4, activation="relu"),
        ...                           nerve.layers.Dense(1, activation="sigmoid")])
        >>> model.output_shape
        (None, 1)
        >>> model.predict(np.zeros((2, 8)), verbose=0).shape
        (2, 1)
    """

    _layers: List[Layer]
    _input: Optional[InputLayer]
    _own_nodes: List[Any]

    def __init__(self, layers: Optional[Iterable[Any]] = None, trainable: bool = True,
                 name: Optional[str] = None) -> None:
        super().__init__(name=name, trainable=trainable)
        self._layers, self._input, self._own_nodes = [], None, []
        self._extend(layers or ())

    @property
    def layers(self) -> List[Layer]:
        """The layers in order, without the input (a new list)."""
        return list(self._layers)

    def _sublayers(self):
        return list(self._layers)

    def add(self, layer: Any) -> None:
        """Append a layer; with a known input shape the model (re)builds at once, as Keras.

        The layer is checked before any change: on error the model stays as it was.

        Args:
            layer: A nerve layer, or an Input (as the first entry only).

        Raises:
            TypeError: Not a nerve layer.
            ValueError: A second Input, a name the model already has, another dtype, or a
                layer that cannot take the previous layer's output.

        Example:
            >>> import nerve
            >>> model = nerve.Sequential([nerve.Input(shape=(4,))])
            >>> model.add(nerve.layers.Dense(3))
            >>> model.output_shape
            (None, 3)
        """
        self._extend([layer])

    def _extend(self, layers):
        """Append `layers`, all checked before any change, and build once: adding n layers one
        by one would check and build the chain n times (a crafted file's thousands of layers
        would take hours to load)."""
        layers = [layer.node.operation if isinstance(layer, SymbolicTensor)
                  and isinstance(layer.node.operation, InputLayer) else layer for layer in layers]
        model_input = self._input
        if layers and isinstance(layers[0], InputLayer):
            if self._layers or model_input is not None:
                raise ValueError("Input: expected as the first layer of the model only")
            model_input, layers = layers[0], layers[1:]
        _check_new_layers(self, layers)
        if not layers:
            self._input = model_input
            return
        input_shape = None if model_input is None else (None,) + tuple(model_input.batch_shape[1:])
        if input_shape is None and not self._layers and layers[0]._input_shape_arg is not None:
            input_shape = (None,) + layers[0]._input_shape_arg
        if input_shape is not None:
            _chain_shape(input_shape, self._layers + layers)  # raises before any change
        saved = self._saved_state(layers)
        try:
            if input_shape is not None and model_input is None:
                model_input = InputLayer(shape=input_shape[1:], dtype=_input_dtype(layers[0]))
            self._input = model_input
            self._layers += layers
            self.dtype = self._layers[0].dtype
            if input_shape is not None:
                self.build(input_shape)
        except BaseException:  # a layer's build failed (MemoryError, its initializer): undo
            self._restore_state(saved)
            raise

    def _saved_state(self, new_layers):
        """What adding changes: the model's attributes, its layer list and the layers' nodes."""
        nodes = [(layer, list(layer._inbound_nodes)) for layer in self._layers + new_layers]
        return dict(self.__dict__), list(self._layers), nodes

    def _restore_state(self, saved):
        attributes, layers, nodes = saved
        self.__dict__.clear()
        self.__dict__.update(attributes)
        self._layers[:] = layers
        for layer, inbound in nodes:
            layer._inbound_nodes[:] = inbound

    def pop(self) -> Layer:
        """Remove the last layer (the model rebuilds without it).

        Returns:
            The layer removed.

        Raises:
            ValueError: The model has no layers.

        Example:
            >>> import nerve
            >>> model = nerve.Sequential([nerve.Input(shape=(4,))])
            >>> model.add(nerve.layers.Dense(3))
            >>> model.add(nerve.layers.Dense(2))
            >>> model.pop().units, model.output_shape
            (2, (None, 3))
        """
        if not self._layers:
            raise ValueError("pop: the model has no layers")
        layer = self._layers.pop()
        if self.built and self._layers:
            self.build(self.input_shape)
        elif not self._layers:
            self._forget_graph()
        return layer

    def _input_shape_known(self):
        return None if self._input is None else (None,) + tuple(self._input.batch_shape[1:])

    @property
    def input_shape(self) -> Tuple[Optional[int], ...]:
        """The input's shape, batch first (AttributeError when no input is known yet)."""
        shape = self._input_shape_known()
        if shape is None:
            raise AttributeError("input_shape: the model has no input yet (give input_shape, "
                                 "input_dim or an Input layer, or call it on data)")
        return shape

    @property
    def output_shape(self) -> Tuple[Optional[int], ...]:
        """The last layer's output shape, batch first (AttributeError without an input)."""
        return _chain_shape(self.input_shape, self._layers)

    def build(self, input_shape: Any = None) -> None:  # type: ignore[override]
        """Create the weights for inputs of `input_shape` (batch first, e.g. (None, 8)).

        Args:
            input_shape: The input shape, default None (the known input's shape).

        Raises:
            ValueError: No layers; a shape other than the model's known input shape, or one
                the layers cannot take.
            AttributeError: No input_shape and none known.

        Example:
            >>> import nerve
            >>> model = nerve.Sequential([nerve.layers.Dense(2)])
            >>> model.build((None, 3))
            >>> [w.shape for w in model.get_weights()]
            [(3, 2), (2,)]
        """
        if input_shape is None:
            input_shape = self.input_shape
        if not self._layers:
            raise ValueError("build: the model has no layers; add some first")
        input_shape = batch_shape(input_shape)
        known = self._input_shape_known()
        if known is not None and known != input_shape:
            raise ValueError(f"input_shape: the model takes inputs of shape {known}, received "
                             f"{input_shape}")
        _chain_shape(input_shape, self._layers)
        if self._input is None:
            self._input = InputLayer(shape=input_shape[1:], dtype=_input_dtype(self._layers[0]))
        self._forget_graph()
        tensor = self._input.output
        for layer in self._layers:
            tensor = layer(tensor)
            self._own_nodes.append(tensor.node)
        self._init_graph(self._input.output, tensor)
        self._pack()

    def _forget_graph(self):
        """Detach the nodes of the previous chain from the layers (their input/output)."""
        for node in self._own_nodes:
            if node in node.operation._inbound_nodes:
                node.operation._inbound_nodes.remove(node)
        self._own_nodes, self._graph, self.built = [], None, False

    def _build_from_data(self, arrays):
        if not self._layers:
            raise ValueError("x: the model has no layers; add some first")
        if not self.built:
            self.build((None,) + np.shape(arrays[0])[1:])  # an array or a nested list

    def _summary_entries(self):
        shape, entries = self._input_shape_known(), []
        for layer in self._layers:
            if shape is not None:
                shape = tuple(layer.compute_output_shape(shape))
            entries.append((layer, shape, None))
        return entries

    # ---- configuration (used by nerve.saving) -------------------------------------------------
    def get_config(self) -> Dict[str, Any]:
        """Return the configuration: name, trainable and each layer's serialized form.

        Returns:
            {"name", "trainable", "layers": [the InputLayer's, then each layer's config]}.

        Example:
            >>> import nerve
            >>> model = nerve.Sequential([nerve.Input(shape=(4,))])
            >>> model.add(nerve.layers.Dense(3))
            >>> [entry["class_name"] for entry in model.get_config()["layers"]]
            ['InputLayer', 'Dense']
        """
        layers = [serialize_layer(self._input)] if self._input is not None else []
        layers += [serialize_layer(layer) for layer in self._layers]
        return {"name": self.name, "trainable": self.trainable, "layers": layers}

    @classmethod
    def from_config(cls, config: Dict[str, Any],  # type: ignore[override]
                    custom_objects: Optional[Mapping[str, Any]] = None) -> "Sequential":
        """Make a Sequential from a get_config() configuration (new weights).

        Args:
            config: The dict get_config() returns.
            custom_objects: Dict {name: class} for the user's layers not registered with
                register_keras_serializable, default None.

        Returns:
            A new Sequential, built when the configuration gives an input.

        Raises:
            ValueError: An unknown layer class, or layers that do not chain.

        Example:
            >>> import nerve
            >>> model = nerve.Sequential([nerve.Input(shape=(4,))])
            >>> model.add(nerve.layers.Dense(3))
            >>> nerve.Sequential.from_config(model.get_config()).output_shape
            (None, 3)
        """
        model = cls(name=config.get("name"), trainable=config.get("trainable", True))
        model._extend([deserialize_layer(layer_config, custom_objects)
                       for layer_config in config.get("layers", [])])
        return model

    def get_build_config(self) -> Optional[Dict[str, Any]]:
        """Return {"input_shape": [...]} when the model is built, else None.

        Returns:
            The input shape as a list (what nerve.saving stores), or None.

        Example:
            >>> import nerve
            >>> model = nerve.Sequential([nerve.Input(shape=(4,))])
            >>> model.add(nerve.layers.Dense(3))
            >>> model.get_build_config()
            {'input_shape': [None, 4]}
        """
        return {"input_shape": list(self.input_shape)} if self.built else None

    def build_from_config(self, config: Optional[Dict[str, Any]]) -> None:
        """Build from a get_build_config() configuration (nothing for None).

        Args:
            config: {"input_shape": [...]}, or None.

        Raises:
            ValueError: A shape the layers cannot take.

        Example:
            >>> import nerve
            >>> model = nerve.Sequential([nerve.layers.Dense(2), nerve.layers.Dense(1)])
            >>> model.build_from_config(None)  # nothing to build from
            >>> model.built
            False
            >>> model.build_from_config({"input_shape": [None, 3]})
            >>> model.input_shape, model.output_shape
            ((None, 3), (None, 1))
        """
        if config and config.get("input_shape") is not None:
            self.build(tuple(config["input_shape"]))


def _input_dtype(first_layer):
    """The dtype of the input a Sequential makes for its first layer: int32 indices for an
    Embedding (as Keras casts them), else the layer's own."""
    return "int32" if first_layer._integer_inputs else first_layer.dtype


def _check_new_layers(model, layers):
    """Layers `model` can append: nerve layers, named unlike each other and the model's, of
    the model's one dtype."""
    names = {layer.name for layer in model._layers}
    for layer in layers:
        if isinstance(layer, InputLayer):
            raise ValueError("Input: expected as the first layer of the model only")
        if not isinstance(layer, Layer):
            raise TypeError(f"layer: expected a nerve.layers.Layer, received {type(layer).__name__}")
        if layer.name in names:
            raise ValueError(f"layer: the names of a model's layers must be unique; {layer.name!r} "
                             f"is already in {model.name!r}")
        names.add(layer.name)
        dtype = (model._layers or layers)[0].dtype
        if layer.dtype != dtype:
            raise ValueError(f"layer: all layers of a model share one dtype; {layer.name!r} is "
                             f"{layer.dtype}, the model {dtype}")


def _chain_shape(input_shape, layers):
    """The output shape of `layers` applied in turn; raises as the failing call would."""
    shape = tuple(input_shape)
    for layer in layers:
        layer._check_input_shapes([shape])
        shape = tuple(layer.compute_output_shape(shape))
    return shape


registration.register_builtin(Sequential)
