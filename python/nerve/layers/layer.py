"""The Layer base class: names, weights, sublayer tracking, and calls.

A layer called on symbolic tensors records a node and returns symbolic tensors (shapes are
checked here, so an error points at the call that made it); called on arrays it computes at
once. Built-in layers say how they compute through their lowering methods: `_forward(lowering,
x, training)` returns (outputs, [(function, args), ...], context) and `_backward(lowering,
context, dy, need_dx, fused)` returns (dx, calls), where buffers come from
`lowering.empty(...)` and weight gradients from `lowering.grad(variable)`. A user's layer
instead writes `call(inputs, training=None)` from other layers: it is traced once per input
shape and mode into a graph whose nodes join the model's plan.
"""
import collections
import inspect
import json

import numpy as np

from .. import _interrupts, initializers, utils
from ..backend import get_backend
from ..graph import (Graph, Node, SymbolicTensor, flatten, is_symbolic, pack_like, source_tensor,
                     structure_of)
from ..graph.plan import Plan
from ..ops.core import tracing
from ..variables import Variable, checked_weights, spend_weight_budget

__all__ = ["Layer", "unique_name", "IntegerInputsExpected", "batch_shape"]

_name_counts = collections.Counter()


def unique_name(prefix):
    """"dense", then "dense_1", "dense_2", ... per process, as Keras names objects."""
    count = _name_counts[prefix]
    _name_counts[prefix] += 1
    return prefix if count == 0 else f"{prefix}_{count}"


class IntegerInputsExpected(TypeError):
    """A layer taking integer tensors (Embedding) was called on float ones."""


def _int_tuple(value, smallest):
    """value (an int or a sequence of ints >= smallest) as a tuple of ints, or None."""
    try:
        shape = (value,) if isinstance(value, (int, np.integer)) else tuple(value)
    except TypeError:
        return None
    if all(utils.is_count(d, smallest, utils.LARGEST_DIMENSION) for d in shape):
        return tuple(int(d) for d in shape)
    return None


def batch_shape(value, name="input_shape"):
    """(None, ...) from a shape whose first (batch) entry is ignored and whose others are
    ints >= 1: 2.5 is refused, not truncated to 2."""
    try:
        dims = _int_tuple(tuple(value)[1:], 1)
    except TypeError:
        dims = None
    if dims is None:
        raise ValueError(f"{name}: expected a shape of ints >= 1 such as (None, 8), received "
                         f"{value!r}")
    return (None,) + dims


def shape_tuple(value, name):
    """A shape tuple of positive ints (without the batch dimension)."""
    shape = _int_tuple(value, 1)
    if not shape:
        raise ValueError(f"{name}: expected a tuple of positive ints such as (8,), received "
                         f"{value!r}")
    return shape


def _weight_shape(value):
    """A weight's shape: a tuple of ints >= 0 (() or None: a scalar)."""
    shape = () if value is None else _int_tuple(value, 0)
    if shape is None:
        raise ValueError(f"shape: expected a tuple of ints >= 0 such as (8, 4), received "
                         f"{value!r}")
    return shape


def _format_shapes(shapes):
    return ", ".join(str(tuple(s)) for s in shapes)


class Layer:
    """Base layer: name, trainable, dtype (float32 unless nerve.utils.set_floatx changed it)
    and, on the first layer of a Sequential, input_shape= or input_dim=."""

    # Attributes of nerve's own bookkeeping, never tracked as sublayers.
    _untracked = frozenset()
    # Built-in layers compute on float tensors; one that takes integer tensors (Embedding's
    # indices) says so, and a Sequential it starts gets an int32 input.
    _integer_inputs = False

    def __new__(cls, *args, **kwargs):
        instance = super().__new__(cls)
        # Keras's auto-config: a user's layer whose constructor takes plain values gets a
        # get_config for free.
        instance.__dict__["_constructor_arguments"] = (args, kwargs)
        return instance

    def __init__(self, name=None, trainable=True, dtype=None, input_shape=None, input_dim=None,
                 **kwargs):
        if kwargs:
            raise ValueError(f"Unrecognized keyword arguments passed to {type(self).__name__}: "
                             f"{kwargs}")
        if name is not None and not (isinstance(name, str) and name):
            raise ValueError(f"name: expected a non-empty str, received {name!r}")
        self.name = name or unique_name(utils.snake_case(type(self).__name__))
        self.trainable = bool(trainable)
        self.dtype = utils.standardize_dtype(dtype or utils.floatx())
        if input_dim is not None:
            input_shape = (input_dim,)
        self._input_shape_arg = (None if input_shape is None
                                 else shape_tuple(input_shape, "input_shape"))
        self.built = False
        self._weights_list = []
        self._inbound_nodes = []
        self._traces = {}

    def __setattr__(self, name, value):
        if (name not in self._untracked and not name.startswith("__")
                and any(isinstance(v, Layer) for v in _containers(value))):
            tracked = self.__dict__.setdefault("_tracked_attributes", [])
            if name not in tracked:
                tracked.append(name)
        super().__setattr__(name, value)

    def _sublayers(self):
        """Layers assigned to attributes (directly, in lists or in dicts), in order."""
        seen, found = {id(self)}, []
        for name in self.__dict__.get("_tracked_attributes", ()):
            for value in _containers(self.__dict__.get(name)):
                if isinstance(value, Layer) and id(value) not in seen:
                    seen.add(id(value))
                    found.append(value)
        return found

    # -- weights, in Keras order: the layer's own, then its sublayers'
    def add_weight(self, shape=None, initializer=None, dtype=None, trainable=True,
                   autocast=True, regularizer=None, constraint=None, aggregation="none",
                   overwrite_with_gradient=False, name=None):
        """A new Variable of `shape`, initialised now (default glorot_uniform; zeros for a
        scalar); `regularizer` adds to the loss, `constraint` projects the weight after each
        optimizer step; trainable=False makes state that call() may update with assign."""
        from .. import constraints, regularizers

        shape = _weight_shape(shape)
        dtype = utils.standardize_dtype(dtype or self.dtype)
        if initializer is None:
            initializer = "zeros" if not shape else "glorot_uniform"
        spend_weight_budget(self.name, shape, dtype)
        value = initializers.get(initializer)(shape, dtype)
        variable = Variable(np.array(value, dtype=dtype), name or
                            f"variable_{len(self._weights_list)}", self, trainable,
                            regularizers.get(regularizer), constraints.get(constraint))
        self._weights_list.append(variable)
        return variable

    def add_loss(self, loss):
        """Add `loss` (a tensor computed in call(), summed if not a scalar) to the model's
        loss, as an activity regularizer does."""
        from ..ops import sum as reduce_sum
        from ..ops.core import current_trace

        trace = current_trace()
        if trace is None or not isinstance(loss, SymbolicTensor):
            raise ValueError(f"{self.name}: add_loss() takes a tensor computed from the inputs "
                             f"inside call(); for a penalty on weights pass a regularizer to "
                             f"add_weight")
        trace.losses.append(reduce_sum(loss) if loss.ndim else loss)

    @property
    def _own_weights(self):
        return self._weights_list

    @property
    def weights(self):
        seen, found = set(), []
        for variable in self._own_weights + [w for l in self._sublayers() for w in l.weights]:
            if id(variable) not in seen:
                seen.add(id(variable))
                found.append(variable)
        return found

    @property
    def trainable_weights(self):
        return [w for w in self.weights if w.trainable] if self.trainable else []

    @property
    def non_trainable_weights(self):
        trainable = {id(w) for w in self.trainable_weights}
        return [w for w in self.weights if id(w) not in trainable]

    @property
    def variables(self):
        return self.weights

    @property
    def trainable_variables(self):
        return self.trainable_weights

    def count_params(self):
        return sum(w.size for w in self.weights)

    def get_weights(self):
        return [w.numpy() for w in self.weights]

    def set_weights(self, weights):
        """Copy `weights` (Keras order and shapes) into the layer; nothing changes on error."""
        targets = self.weights
        arrays = checked_weights(weights, [w.shape for w in targets], self.name)
        with _interrupts.deferred():  # nor does Ctrl-C set some weights and not others
            for target, value in zip(targets, arrays):
                target.value[...] = value

    # -- shapes and building
    def compute_output_shape(self, input_shape):
        if self._is_composite:
            shapes = input_shape if isinstance(input_shape, list) else [input_shape]
            self._build_for(shapes)
            graph, outputs = self._trace([SymbolicTensor(s, self.dtype) for s in shapes], False,
                                         [None] * len(shapes) if len(shapes) > 1 else None)
            return pack_like(outputs, [t.shape for t in graph.outputs])
        return tuple(input_shape)

    def build(self, input_shape):
        self.built = True

    def _build_for(self, shapes):
        if not self.built:
            self.build(shapes[0] if len(shapes) == 1 else list(shapes))
            self.built = True

    # -- calls
    @property
    def _is_composite(self):
        return type(self).call is not Layer.call

    def call(self, inputs, training=None):
        """What a user's layer computes, written with other layers (see the module doc)."""
        raise NotImplementedError(f"{type(self).__name__} defines no call()")

    def __call__(self, inputs, training=None, **kwargs):
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
    def input(self):
        return self._node_attribute("input")

    @property
    def output(self):
        return self._node_attribute("output")

    @property
    def input_shape(self):
        value = self._node_attribute("input")
        return value.shape if isinstance(value, SymbolicTensor) else [t.shape for t in
                                                                      flatten(value)]

    @property
    def output_shape(self):
        value = self._node_attribute("output")
        return value.shape if isinstance(value, SymbolicTensor) else [t.shape for t in value]

    # -- config
    def get_config(self):
        config = {"name": self.name, "trainable": self.trainable, "dtype": self.dtype}
        if type(self).__module__.startswith("nerve."):
            return config
        return {**self._auto_config(), **config}

    def _auto_config(self):
        args, kwargs = self._constructor_arguments
        try:
            bound = inspect.signature(type(self).__init__).bind(self, *args, **kwargs)
        except TypeError:
            bound = None
        arguments = {} if bound is None else dict(list(bound.arguments.items())[1:])
        arguments.update(arguments.pop("kwargs", {}))
        try:
            json.dumps(arguments)
        except TypeError:
            raise NotImplementedError(
                f"{type(self).__name__}: its constructor arguments are not plain values, so "
                f"nerve cannot write its configuration; define get_config() (and "
                f"from_config() if needed), as in Keras") from None
        return arguments

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name}>"

    # -- lowering of built-in layers: see the module docstring
    def _forward(self, lowering, x, training):
        raise NotImplementedError(f"{type(self).__name__} cannot be lowered to kernels")

    def _backward(self, lowering, context, dy, need_dx, fused):
        raise NotImplementedError(f"{type(self).__name__} has no gradient")

    output_activation = None  # name of the activation ending this layer, if any

    def _logits(self, context):
        """The buffer holding this layer's pre-activation (for the fused logits losses)."""
        raise NotImplementedError


def _containers(value):
    if isinstance(value, dict):
        return list(value.values())
    if isinstance(value, (list, tuple)):
        return list(value)
    return [value]


class _Standalone:
    """The model interface a Plan needs, for one layer called on arrays."""

    def __init__(self, graph, dtype):
        self._graph, self.dtype = graph, dtype

    def _graph_for(self, training):
        return self._graph
