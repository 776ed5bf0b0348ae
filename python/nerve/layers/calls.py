"""Calling a layer: on symbolic tensors it records a node and returns symbolic tensors
(shapes are checked here, so an error points at the call that made it); on arrays it traces a
one-layer plan and computes at once. Also the connectivity Keras exposes (input, output and
their shapes)."""
import inspect
from typing import Any, Optional

import numpy as np

from ..backend import get_backend
from ..graph import (Graph, Node, SymbolicTensor, flatten, is_symbolic, pack_like, source_tensor,
                     structure_of)
from ..graph.plan import Plan
from ..ops.core import tracing
from .shapes import OutputShape, _format_shapes


class IntegerInputsExpected(TypeError):
    """A layer taking integer tensors (Embedding) was called on float ones."""


class LayerCalls:
    """Layer's call methods (a mixin: Layer is the only class that uses it)."""

    # Set by Layer.__init__; declared here for the type checker.
    name: str
    dtype: str

    def __call__(self, inputs: Any, training: Optional[bool] = None, **kwargs: Any) -> Any:
        if kwargs:
            raise ValueError(f"{self.name}: unexpected arguments {sorted(kwargs)} in the call")
        if is_symbolic(inputs):
            return self._symbolic_call(inputs, training)
        return self._eager_call(inputs, training)

    def _symbolic_call(self, inputs, training, record=True):
        leaves = flatten(inputs)
        if not all(isinstance(t, SymbolicTensor) for t in leaves):
            raise TypeError(f"{self.name}: inputs mix symbolic tensors and arrays")
        structure = None if len(leaves) == 1 and isinstance(inputs, SymbolicTensor) \
            else structure_of(inputs)
        shapes = [t.shape for t in leaves]
        shape_argument = shapes[0] if structure is None else list(shapes)
        try:
            self._check_input_dtypes(leaves)
            self._check_input_shapes(shapes)
            self._build_for(shapes)
            if self._is_composite:
                graph, out_structure = self._trace(leaves, False, structure)
                output_shapes = [t.shape for t in graph.outputs]
            else:
                out_structure = None
                output_shapes = [self.compute_output_shape(shape_argument)]
        except (ValueError, TypeError) as error:
            message = str(error)
            if self.name not in message:
                message = f"{self.name} ({type(self).__name__}): {message}"
            raise type(error)(f"{message} [called on inputs of shape "
                              f"{_format_shapes(shapes)}]") from None
        outputs = [SymbolicTensor(s, self.dtype, self.name) for s in output_shapes]
        node = Node(self, leaves, outputs, structure, training)
        if record:
            self._inbound_nodes.append(node)
        return outputs[0] if out_structure is None else pack_like(out_structure, outputs)

    def _check_input_shapes(self, shapes):
        """A built layer refuses inputs unlike those it was built for (Dense: the features)."""

    def _check_input_dtypes(self, tensors):
        """Integer tensors only reach layers made for them (a user's call() sees its inputs as
        they are and may cast them)."""
        if self._is_composite:
            return
        for tensor in tensors:
            integer = np.dtype(tensor.dtype).kind in "iu"
            if integer != self._integer_inputs:
                expected = "integer tensors" if self._integer_inputs else "float tensors"
                advice = ("; cast them with nerve.ops.cast, or feed integer indices to an "
                          "Embedding first" if integer else
                          "; give the model an input such as Input(shape=..., dtype=\"int32\")")
                error = TypeError if integer else IntegerInputsExpected
                raise error(f"{self.name} ({type(self).__name__}): expected {expected}, "
                            f"received a {tensor.dtype} tensor{advice}")

    def _trace(self, leaves, training, structure=None):
        """(graph, output structure) of call() on fresh tensors shaped like `leaves`, given
        in `structure` (None: a single tensor)."""
        key = (tuple(t.shape for t in leaves), bool(training), repr(structure))
        if key not in self._traces:
            sources = [source_tensor(t.shape, t.dtype) for t in leaves]
            inputs = sources[0] if structure is None else pack_like(structure, sources)
            with tracing() as trace:
                if "training" in inspect.signature(self.call).parameters:
                    result = self.call(inputs, training=bool(training))
                else:
                    result = self.call(inputs)
            outputs = flatten(result)
            if not all(isinstance(t, SymbolicTensor) for t in outputs):
                raise TypeError(f"{self.name}: call() must return tensors computed from its "
                                f"inputs with layers or nerve.ops, received "
                                f"{[type(t).__name__ for t in outputs]}")
            structure = None if isinstance(result, SymbolicTensor) else structure_of(result)
            self._traces[key] = (Graph(sources, outputs, self.name, trace.effects,
                                       trace.losses), structure)
        return self._traces[key]

    def _inner_graph(self, node, training):
        """The graph this node expands into in a plan (None for built-in layers)."""
        if not self._is_composite:
            return None
        return self._trace(node.inputs, training, node.structure)[0]

    def _eager_call(self, inputs, training):
        arrays = [np.asarray(a) for a in flatten(inputs)]
        for index, array in enumerate(arrays):
            if array.dtype.kind not in "biuf" or array.ndim == 0:
                raise TypeError(f"{self.name}: expected arrays of numbers with a batch "
                                f"dimension, received {array.dtype}{list(array.shape)} "
                                f"(input {index})")
        if self._integer_inputs:
            from ..models.data import as_indices
            arrays = [a if a.dtype in (np.int32, np.int64) else as_indices(a, self.name, "int32")
                      for a in arrays]
        sources = [source_tensor((None,) + a.shape[1:], a.dtype.name if self._integer_inputs
                                 else self.dtype) for a in arrays]
        symbolic = (pack_like(structure_of(inputs), sources)
                    if isinstance(inputs, (list, tuple, dict)) else sources[0])
        outputs = self._symbolic_call(symbolic, training, record=False)
        standalone = _Standalone(Graph(sources, flatten(outputs), self.name), self.dtype)
        plan = Plan(standalone, get_backend(), len(arrays[0]),
                    "forward_train" if training else "predict")
        for buffer, array in zip(plan.xs, arrays):
            buffer[...] = array
        for function, args in plan.forward:
            function(*args)
        results = [y.copy() for y in plan.ys]
        return results[0] if isinstance(outputs, SymbolicTensor) else pack_like(
            structure_of(outputs), results)

    # -- connectivity, as Keras exposes it
    def _node_attribute(self, what):
        if not self._inbound_nodes:
            raise AttributeError(f"{self.name} has not been called on symbolic tensors yet, "
                                 f"so it has no {what}")
        node = self._inbound_nodes[0]
        tensors = node.call_inputs if what.startswith("input") else (
            node.outputs[0] if len(node.outputs) == 1 else node.outputs)
        return tensors

    @property
    def input(self) -> Any:
        """The symbolic input(s) of the layer's first call on symbolic tensors.

        Returns:
            A symbolic tensor, or the list/dict the layer was called on.

        Raises:
            AttributeError: When the layer was never called on symbolic tensors.

        Example:
            >>> import nerve
            >>> inputs = nerve.layers.Input(shape=(4,))
            >>> layer = nerve.layers.Dense(2)
            >>> _ = layer(inputs)
            >>> layer.input is inputs, layer.output.shape
            (True, (None, 2))
        """
        return self._node_attribute("input")

    @property
    def output(self) -> Any:
        """The symbolic output(s) of the layer's first call on symbolic tensors.

        Returns:
            A symbolic tensor, or a list of them for several outputs.

        Raises:
            AttributeError: When the layer was never called on symbolic tensors.

        Example:
            >>> import nerve
            >>> layer = nerve.layers.Dense(2)
            >>> layer(nerve.layers.Input(shape=(4,))) is layer.output
            True
        """
        return self._node_attribute("output")

    @property
    def input_shape(self) -> OutputShape:
        """The shape of `input` (a list of shapes for several inputs).

        Returns:
            A tuple with None for the batch, or a list of them.

        Raises:
            AttributeError: When the layer was never called on symbolic tensors.

        Example:
            >>> import nerve
            >>> a, b = nerve.layers.Input(shape=(2,)), nerve.layers.Input(shape=(3,))
            >>> layer = nerve.layers.Concatenate()
            >>> layer([a, b]).shape
            (None, 5)
            >>> layer.input_shape
            [(None, 2), (None, 3)]
        """
        value = self._node_attribute("input")
        return value.shape if isinstance(value, SymbolicTensor) else [t.shape for t in
                                                                      flatten(value)]

    @property
    def output_shape(self) -> OutputShape:
        """The shape of `output`: a tuple with None for the batch (a list for several).

        Returns:
            The shape of the output of the layer's first symbolic call.

        Raises:
            AttributeError: Before that call (a layer called only on arrays has none).

        Example:
            >>> import nerve
            >>> layer = nerve.layers.Flatten()
            >>> _ = layer(nerve.layers.Input(shape=(2, 3)))
            >>> layer.output_shape
            (None, 6)
        """
        value = self._node_attribute("output")
        return value.shape if isinstance(value, SymbolicTensor) else [t.shape for t in value]


class _Standalone:
    """The model interface a Plan needs, for one layer called on arrays."""

    def __init__(self, graph, dtype):
        self._graph, self.dtype = graph, dtype

    def _graph_for(self, training):
        return self._graph
