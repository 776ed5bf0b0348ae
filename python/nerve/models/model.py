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
from __future__ import annotations

from typing import Any, Dict, List, Optional, Sequence

import numpy as np

from .. import registration
from ..graph import (Graph, SymbolicTensor, flatten, is_symbolic, pack_like, source_tensor,
                     structure_of)
from ..layers.core import InputLayer
from ..layers.layer import IntegerInputsExpected, Layer, batch_shape
from .persistence import Persistence
from .summary import Summary
from .trainer import Trainer

_InputShape = Any  # a shape such as (None, 8), or a list of them for several inputs


# Trainer._forward is not Layer's: hence the ignore.
class Model(Persistence, Summary, Trainer, Layer):  # type: ignore[misc]
    """A trainable graph of layers (keras.Model): functional, subclassed or Sequential.

    `Model(inputs, outputs)` makes a functional model (a Functional) from the symbolic
    tensors of layer calls; a subclass defines its layers in __init__ and the computation in
    call(inputs, training=None), which is traced once per mode into the same graph form (its
    Python control flow must not depend on tensor values). All layers of a model share one
    dtype. Methods: compile, fit, evaluate, predict (and the *_on_batch ones), summary, save,
    export, save_weights / load_weights, get_weights / set_weights.

    Args:
        inputs: A symbolic tensor from nerve.Input, or a list / dict of them, default None
            (a subclassed model).
        outputs: The symbolic tensor(s) computed from `inputs`, or a list / dict of them,
            default None.
        name: Str, default None (a unique name from the class name).
        trainable: Bool, default True.
        dtype: The weights' dtype, "float32" or "float64", default None (float32).
        args: The positional form, default none: Model(inputs, outputs), as Keras takes it.
        kwargs: The keyword form of the arguments above, default none.

    Raises:
        ValueError: Only one of inputs and outputs given, or layers of different dtypes.
        TypeError: More than two positional arguments.

    Example:
        >>> import numpy as np, nerve
        >>> inputs = nerve.Input(shape=(4,))
        >>> model = nerve.Model(inputs, nerve.layers.Dense(2)(inputs))
        >>> model(np.ones((3, 4), "float32")).shape
        (3, 2)
        >>> class Linear(nerve.Model):
        ...     def __init__(self):
        ...         super().__init__()
        ...         self.dense = nerve.layers.Dense(1)
        ...     def call(self, inputs, training=None):
        ...         return self.dense(inputs)
        >>> Linear().predict(np.ones((2, 3)), verbose=0).shape
        (2, 1)
    """

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

    def call(self, inputs: Any, training: Optional[bool] = None) -> Any:
        """Compute the outputs from the inputs: what a subclassed model defines.

        A functional or Sequential model computes its graph instead. call() is traced on
        symbolic tensors (once with training=True, once with False), not run per batch.

        Args:
            inputs: A symbolic tensor, or a list of them for several inputs.
            training: Bool or None, default None: whether layers such as Dropout behave as
                in training.

        Returns:
            The output tensor(s), from layer calls and nerve.ops on `inputs`.

        Raises:
            NotImplementedError: On Model itself (a subclass must define call).

        Example:
            >>> import numpy as np, nerve
            >>> class Twice(nerve.Model):
            ...     def call(self, inputs, training=None):
            ...         return inputs * 2.0
            >>> Twice().predict(np.array([[1.0, 2.0]]), verbose=0).tolist()
            [[2.0, 4.0]]
        """
        raise NotImplementedError(f"{type(self).__name__}: a subclassed model must define "
                                  f"call(inputs, training=None)")

    def build(self, input_shape: _InputShape = None,
              _dtypes: Optional[List[str]] = None) -> None:
        """Create the weights for inputs of `input_shape`; a subclassed model traces call().

        A model that is built already (functional, or built before) is left as it is.

        Args:
            input_shape: The input shape, batch first, e.g. (None, 8); a list of shapes for
                several inputs. Default None (a ValueError unless the model is built).
            _dtypes: Internal: the inputs' dtypes when built from integer data.

        Raises:
            ValueError: No input_shape for a model not built yet, or a shape call() cannot
                take.

        Example:
            >>> import nerve
            >>> class Linear(nerve.Model):
            ...     def __init__(self):
            ...         super().__init__()
            ...         self.dense = nerve.layers.Dense(2)
            ...     def call(self, inputs, training=None):
            ...         return self.dense(inputs)
            >>> model = Linear()
            >>> model.build((None, 3))
            >>> model.count_params()
            8
        """
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
            shapes = [(None,) + np.shape(a)[1:] for a in arrays]  # arrays or nested lists
            shape = shapes if len(shapes) > 1 else shapes[0]
            try:
                self.build(shape)
            except IntegerInputsExpected:
                # call() feeds an input to an Embedding: int32 / int64 arrays stay integers.
                dtypes = [np.asarray(a).dtype for a in arrays]
                self.build(shape, [d.name if d in (np.int32, np.int64) else self.dtype
                                   for d in dtypes])

    @property
    def inputs(self) -> List[SymbolicTensor]:
        """The model's input tensors, a list (ValueError when the model is not built)."""
        return list(self._graph_for(False).inputs)

    @property
    def outputs(self) -> List[SymbolicTensor]:
        """The model's output tensors, a list (ValueError when the model is not built)."""
        return list(self._graph_for(False).outputs)

    @property
    def input_shape(self) -> Any:
        """The input's shape, batch first, e.g. (None, 8); a list for several inputs."""
        shapes = [t.shape for t in self.inputs]
        return shapes[0] if len(shapes) == 1 else shapes

    @property
    def output_shape(self) -> Any:
        """The output's shape, batch first; a list for several outputs."""
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
    def layers(self) -> List[Layer]:
        """The model's layers in order (a functional model's InputLayers included)."""
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

    def get_layer(self, name: Optional[str] = None, index: Optional[int] = None) -> Layer:
        """Return a layer by its name or by its index in model.layers.

        Args:
            name: Str, the layer's name, default None.
            index: Int, its position in model.layers (negative counts from the end), default
                None. Give exactly one of name and index.

        Returns:
            The layer.

        Raises:
            ValueError: Neither or both given, an index out of range, or no layer of that
                name.

        Example:
            >>> import nerve
            >>> model = nerve.Sequential([nerve.Input(shape=(4,)),
            ...                           nerve.layers.Dense(2, name="hidden")])
            >>> model.get_layer("hidden") is model.get_layer(index=0)
            True
        """
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
    def get_weights(self) -> List[np.ndarray]:
        """Return copies of the weights, in Keras's order: [kernel, bias, kernel, bias, ...].

        Returns:
            A list of NumPy arrays (copies: changing them does not change the model); empty
            for a model not built yet.

        Example:
            >>> import nerve
            >>> model = nerve.Sequential([nerve.Input(shape=(4,)), nerve.layers.Dense(2)])
            >>> [w.shape for w in model.get_weights()]
            [(4, 2), (2,)]
        """
        return [w.numpy() for w in self.weights]

    def set_weights(self, weights: Sequence[Any]) -> None:
        """Copy `weights` into the model; every array is checked first, so nothing changes
        on error.

        Args:
            weights: A list of arrays in the get_weights() order, shapes and count matching.

        Raises:
            ValueError: The model is not built, or the count or a shape does not match.

        Example:
            >>> import numpy as np, nerve
            >>> model = nerve.Sequential([nerve.Input(shape=(4,)), nerve.layers.Dense(2)])
            >>> model.set_weights([np.ones((4, 2)), np.zeros(2)])
            >>> model.predict(np.ones((1, 4)), verbose=0).tolist()
            [[4.0, 4.0]]
        """
        if not self.built:
            raise ValueError("set_weights: the model is not built yet (call build() or fit first)")
        Layer.set_weights(self, weights)

    # ---- configuration -----------------------------------------------------------------------
    @classmethod
    def from_config(cls, config: Dict[str, Any]) -> "Model":
        """Make a model from its get_config() configuration (its constructor's arguments).

        Keys the constructor does not take (name, trainable, dtype for an __init__ without
        **kwargs) are left out.

        Args:
            config: The dict get_config() returns.

        Returns:
            A new, unbuilt model of this class.

        Raises:
            TypeError: The config lacks an argument the constructor requires.

        Example:
            >>> import nerve
            >>> class Small(nerve.Model):
            ...     def call(self, inputs, training=None):
            ...         return inputs
            >>> Small.from_config({"name": "small"}).name
            'small'
        """
        return cls(**_accepted_arguments(cls, config))

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name}, built={self.built}>"


def _accepted_arguments(cls, config):
    """`config` without the base keys (name, trainable, dtype) that cls's constructor does
    not take, so a user's model whose __init__ has no **kwargs still loads."""
    import inspect

    parameters = inspect.signature(cls.__init__).parameters
    if any(p.kind is p.VAR_KEYWORD for p in parameters.values()):
        return dict(config)
    return {k: v for k, v in config.items() if k in parameters}


registration.register_builtin(Model)
