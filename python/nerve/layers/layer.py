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
from typing import Any, Dict, List, Optional, Sequence, Tuple, Type, TypeVar, Union

import numpy as np

from .. import _interrupts, initializers, utils
from ..backend import get_backend
from ..graph import (Graph, Node, SymbolicTensor, flatten, is_symbolic, pack_like, source_tensor,
                     structure_of)
from ..graph.plan import Plan
from ..ops.core import tracing
from .._typing import DTypeLike
from ..variables import Variable, checked_weights, spend_weight_budget

# A layer's input shape: ints, None where unknown (the batch); or, for a layer taking several
# inputs, a list of such shapes. Entries are Any so that shape arithmetic type-checks.
ShapeLike = Sequence[Any]
Shape = Tuple[Optional[int], ...]
OutputShape = Union[Shape, List[Shape]]
LayerT = TypeVar("LayerT", bound="Layer")

__all__ = ["Layer", "unique_name", "IntegerInputsExpected", "batch_shape"]

_name_counts: "collections.Counter[str]" = collections.Counter()


def unique_name(prefix: str) -> str:
    """A new name from `prefix`: "dense", then "dense_1", "dense_2", ... per process.

    Args:
        prefix: str, the name's stem (Keras uses the class name in snake_case).

    Returns:
        `prefix` the first time, then `prefix` with "_1", "_2", ... appended.

    Example:
        >>> from nerve.layers import unique_name
        >>> unique_name("my_doctest_block"), unique_name("my_doctest_block")
        ('my_doctest_block', 'my_doctest_block_1')
    """
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
    """The base class of every layer, and of your own (as keras.layers.Layer).

    Called on symbolic tensors (from `nerve.layers.Input`) a layer records a node of the
    model's graph and returns symbolic tensors; called on arrays it computes at once and
    returns arrays. It builds itself (creates its weights) on its first call, from the input's
    shape. Your own layer defines `build(input_shape)` to create weights with `add_weight` and
    `call(inputs)` written with other layers and nerve.ops; nerve traces `call` once per input
    shape and mode, and differentiates it. The methods documented here (call, build,
    compute_output_shape, get_config, from_config, the weights) are those of every layer.

    Args:
        name: str, the layer's name, default None (the class name in snake_case, made unique:
            "dense", "dense_1", ...).
        trainable: bool, default True; False freezes its weights (and makes a
            BatchNormalization run in inference mode, as Keras 3).
        dtype: The weights' and outputs' float dtype, default None (nerve.utils.floatx(),
            "float32" unless set_floatx changed it).
        input_shape: Tuple of ints, default None: the shape of one sample, for the first
            layer of a Sequential (as Keras's input_shape=).
        input_dim: Int, default None: shorthand for input_shape=(input_dim,).
        kwargs: None are taken, default none: any other keyword is refused (a misspelt
            argument must not pass silently).

    Raises:
        ValueError: For an unknown keyword argument, an empty or non-str name, a dtype
            other than float32 or float64, or an input_shape that is not a tuple of positive
            ints.

    Example:
        >>> import numpy as np, nerve
        >>> class Scale(nerve.layers.Layer):
        ...     def build(self, input_shape):
        ...         self.factor = self.add_weight((input_shape[-1],), "ones", name="factor")
        ...     def call(self, inputs):
        ...         return nerve.ops.multiply(inputs, self.factor)
        >>> layer = Scale()
        >>> layer(np.full((2, 3), 2.0, "float32"))
        array([[2., 2., 2.],
               [2., 2., 2.]], dtype=float32)
        >>> [w.shape for w in layer.weights]
        [(3,)]
    """

    # Attributes of nerve's own bookkeeping, never tracked as sublayers.
    _untracked: "frozenset[str]" = frozenset()
    # Built-in layers compute on float tensors; one that takes integer tensors (Embedding's
    # indices) says so, and a Sequential it starts gets an int32 input.
    _integer_inputs = False

    def __new__(cls, *args, **kwargs):
        instance = super().__new__(cls)
        # Keras's auto-config: a user's layer whose constructor takes plain values gets a
        # get_config for free.
        instance.__dict__["_constructor_arguments"] = (args, kwargs)
        return instance

    def __init__(self, name: Optional[str] = None, trainable: bool = True,
                 dtype: Optional[DTypeLike] = None, input_shape: Optional[Sequence[int]] = None,
                 input_dim: Optional[int] = None, **kwargs: Any) -> None:
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
        self._weights_list: List[Variable] = []
        self._inbound_nodes: List[Node] = []
        self._traces: Dict[Any, Any] = {}

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
    def add_weight(self, shape: Optional[Sequence[int]] = None, initializer: Any = None,
                   dtype: Optional[DTypeLike] = None, trainable: bool = True,
                   autocast: bool = True, regularizer: Any = None, constraint: Any = None,
                   aggregation: str = "none", overwrite_with_gradient: bool = False,
                   name: Optional[str] = None) -> Variable:
        """Create a weight of the layer, initialised now (call it in build()).

        Args:
            shape: Tuple of ints >= 0, default None (a scalar, as ()).
            initializer: Name, nerve.initializers object or callable(shape, dtype), default
                None ("glorot_uniform", or "zeros" for a scalar).
            dtype: Default None (the layer's dtype).
            trainable: bool, default True; False makes state (as BatchNormalization's moving
                mean) that call() may update with `variable.assign`.
            autocast: Accepted for Keras compatibility and ignored, default True.
            regularizer: Name or nerve.regularizers object, default None; its penalty is
                added to the model's loss.
            constraint: Name or nerve.constraints object, default None; it projects the
                weight after each optimizer step.
            aggregation: Accepted for Keras compatibility and ignored, default "none".
            overwrite_with_gradient: Accepted for Keras compatibility and ignored, default
                False.
            name: str, default None ("variable_0", "variable_1", ... in creation order).

        Returns:
            The new nerve Variable (append order is the order of `weights`).

        Raises:
            ValueError: When `shape` is not a tuple of ints >= 0, or an initializer,
                regularizer or constraint name is unknown.

        Example:
            >>> import nerve
            >>> layer = nerve.layers.Layer()
            >>> layer.add_weight((2, 3), "zeros", name="table").shape
            (2, 3)
        """
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

    def add_loss(self, loss: Any) -> None:
        """Add a penalty computed in call() to the model's loss (as an activity regularizer).

        Args:
            loss: A symbolic tensor computed from call()'s inputs; summed if not a scalar.

        Raises:
            ValueError: When called outside call(), or on something other than a tensor
                computed there (for a penalty on weights pass a regularizer to add_weight).

        Example:
            >>> import numpy as np, nerve
            >>> class ActivityPenalty(nerve.layers.Layer):
            ...     def call(self, inputs):
            ...         self.add_loss(nerve.ops.multiply(nerve.ops.sum(inputs), 0.01))
            ...         return inputs
            >>> inputs = nerve.layers.Input(shape=(2,))
            >>> model = nerve.models.Model(inputs, ActivityPenalty()(inputs))
            >>> model.predict(np.ones((1, 2), "float32"), verbose=0).shape
            (1, 2)
        """
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
    def weights(self) -> List[Variable]:
        """The layer's Variables, in Keras order: its own, then its sublayers' (each once).

        Returns:
            A list of nerve Variables (empty before the layer is built).

        Example:
            >>> import nerve
            >>> layer = nerve.layers.Dense(3)
            >>> layer.build((None, 4))
            >>> [(w.name, w.shape) for w in layer.weights]
            [('kernel', (4, 3)), ('bias', (3,))]
        """
        seen, found = set(), []
        for variable in self._own_weights + [w for l in self._sublayers() for w in l.weights]:
            if id(variable) not in seen:
                seen.add(id(variable))
                found.append(variable)
        return found

    @property
    def trainable_weights(self) -> List[Variable]:
        """The weights the optimizer updates: none when the layer is not trainable.

        Returns:
            A list of the trainable Variables of `weights`, in its order.

        Example:
            >>> import nerve
            >>> layer = nerve.layers.BatchNormalization()
            >>> layer.build((None, 4))
            >>> [w.name for w in layer.trainable_weights]
            ['gamma', 'beta']
        """
        return [w for w in self.weights if w.trainable] if self.trainable else []

    @property
    def non_trainable_weights(self) -> List[Variable]:
        """The weights the optimizer leaves alone (all of them when trainable is False).

        Returns:
            A list of the Variables of `weights` not in `trainable_weights`, in order.

        Example:
            >>> import nerve
            >>> layer = nerve.layers.BatchNormalization()
            >>> layer.build((None, 4))
            >>> [w.name for w in layer.non_trainable_weights]
            ['moving_mean', 'moving_variance']
        """
        trainable = {id(w) for w in self.trainable_weights}
        return [w for w in self.weights if id(w) not in trainable]

    @property
    def variables(self) -> List[Variable]:
        """The same list as `weights` (Keras 3's other name for it).

        Returns:
            A list of nerve Variables.

        Example:
            >>> import nerve
            >>> layer = nerve.layers.Dense(2)
            >>> layer.build((None, 3))
            >>> len(layer.variables)
            2
        """
        return self.weights

    @property
    def trainable_variables(self) -> List[Variable]:
        """The same list as `trainable_weights` (Keras 3's other name for it).

        Returns:
            A list of nerve Variables.

        Example:
            >>> import nerve
            >>> layer = nerve.layers.Dense(2, trainable=False)
            >>> layer.build((None, 3))
            >>> layer.trainable_variables
            []
        """
        return self.trainable_weights

    def count_params(self) -> int:
        """The number of values in the layer's weights (trainable or not).

        Returns:
            An int.

        Example:
            >>> import nerve
            >>> layer = nerve.layers.Dense(3)
            >>> layer.build((None, 4))
            >>> layer.count_params()
            15
        """
        return sum(w.size for w in self.weights)

    def get_weights(self) -> List[np.ndarray]:
        """Copies of the weights' values, in the order of `weights`.

        Returns:
            A list of NumPy arrays, copies (changing them leaves the layer alone).

        Example:
            >>> import nerve
            >>> layer = nerve.layers.Dense(3)
            >>> layer.build((None, 4))
            >>> [w.shape for w in layer.get_weights()]
            [(4, 3), (3,)]
        """
        return [w.numpy() for w in self.weights]

    def set_weights(self, weights: Sequence[Any]) -> None:
        """Copy values into the layer's weights; on any error nothing changes.

        Args:
            weights: A list of arrays, one per weight, in the order and shapes of `weights`
                (as get_weights() returns them).

        Raises:
            ValueError: When the number of arrays or a shape differs from the weights'.
            TypeError: When an array is not of real numbers (floats or ints).

        Example:
            >>> import numpy as np, nerve
            >>> layer = nerve.layers.Dense(2)
            >>> layer.build((None, 1))
            >>> layer.set_weights([np.array([[1.0, 2.0]]), np.zeros(2)])
            >>> layer(np.array([[3.0]], "float32"))
            array([[3., 6.]], dtype=float32)
        """
        targets = self.weights
        arrays = checked_weights(weights, [w.shape for w in targets], self.name)
        with _interrupts.deferred():  # nor does Ctrl-C set some weights and not others
            for target, value in zip(targets, arrays):
                target.value[...] = value

    # -- shapes and building
    def compute_output_shape(self, input_shape: ShapeLike) -> OutputShape:
        """The shape of the output for inputs of `input_shape` (builds the layer if needed).

        Built-in layers compute it from their arguments; a layer with a call() traces it.

        Args:
            input_shape: A tuple with None for unknown sizes (the batch), or a list of them
                for a layer taking several inputs.

        Returns:
            The output's shape, a tuple (a list of tuples for several outputs); the base
            layer returns `input_shape`.

        Raises:
            ValueError: When the layer cannot take inputs of that shape (the message says
                which argument or dimension).

        Example:
            >>> import nerve
            >>> nerve.layers.Dense(3).compute_output_shape((None, 4))
            (None, 3)
            >>> nerve.layers.Conv2D(8, 3).compute_output_shape((None, 10, 10, 1))
            (None, 8, 8, 8)
        """
        if self._is_composite:
            shapes = input_shape if isinstance(input_shape, list) else [input_shape]
            self._build_for(shapes)
            graph, outputs = self._trace([SymbolicTensor(s, self.dtype) for s in shapes], False,
                                         [None] * len(shapes) if len(shapes) > 1 else None)
            return pack_like(outputs, [t.shape for t in graph.outputs])
        return tuple(input_shape)

    def build(self, input_shape: ShapeLike) -> None:
        """Create the layer's weights for inputs of `input_shape`; the first call does it.

        Override it in your own layer to call add_weight with sizes taken from the input
        (the base version creates nothing). It runs once; `built` is True afterwards.

        Args:
            input_shape: A tuple with None for unknown sizes (the batch), or a list of them
                for a layer taking several inputs.

        Raises:
            ValueError: In built-in layers, when they cannot take inputs of that shape.

        Example:
            >>> import nerve
            >>> layer = nerve.layers.Dense(3)
            >>> layer.build((None, 5))
            >>> layer.built, layer.kernel.shape
            (True, (5, 3))
        """
        self.built = True

    def _build_for(self, shapes):
        if not self.built:
            self.build(shapes[0] if len(shapes) == 1 else list(shapes))
            self.built = True

    # -- calls
    @property
    def _is_composite(self):
        return type(self).call is not Layer.call

    def call(self, inputs: Any, training: Optional[bool] = None) -> Any:
        """What your layer computes: override it, written with other layers and nerve.ops.

        nerve calls it on symbolic tensors while tracing (once per input shape and mode), so
        it must not look at values; it may omit the `training` parameter. Built-in layers
        do not define it (they are lowered to kernels).

        Args:
            inputs: A symbolic tensor, or the list/dict of them the layer was called on.
            training: bool, default None; True in fit(), False in predict() and evaluate()
                (for layers that behave differently, as Dropout).

        Returns:
            A tensor, or a list/tuple/dict of tensors, computed from `inputs`.

        Raises:
            NotImplementedError: When the base class's own call() is reached.

        Example:
            >>> import numpy as np, nerve
            >>> class Double(nerve.layers.Layer):
            ...     def call(self, inputs, training=None):
            ...         return nerve.ops.add(inputs, inputs)
            >>> Double()(np.ones((1, 2), "float32"))
            array([[2., 2.]], dtype=float32)
        """
        raise NotImplementedError(f"{type(self).__name__} defines no call()")

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

    # -- config
    def get_config(self) -> Dict[str, Any]:
        """The constructor arguments that rebuild the layer (JSON-compatible), as Keras.

        A built-in layer gives all its arguments; your own layer gets, for free, the
        arguments its constructor was called with when they are plain values (numbers,
        strings, lists, dicts); otherwise override get_config (and from_config).

        Returns:
            A dict: "name", "trainable", "dtype" and the layer's own arguments.

        Raises:
            NotImplementedError: For your own layer whose constructor arguments are not plain
                values, when it does not define get_config.

        Example:
            >>> import nerve
            >>> config = nerve.layers.Dense(3, activation="relu", name="d").get_config()
            >>> config["units"], config["activation"], config["name"]
            (3, 'relu', 'd')
        """
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
    def from_config(cls: Type[LayerT], config: Dict[str, Any]) -> LayerT:
        """A new layer (unbuilt, fresh weights) from the dict get_config() returned.

        Args:
            config: A dict of constructor arguments, as get_config() returns it.

        Returns:
            A new layer of this class: cls(**config).

        Raises:
            ValueError: When an argument is unknown or invalid for the constructor.

        Example:
            >>> import nerve
            >>> layer = nerve.layers.Dense(3, name="d")
            >>> copy = nerve.layers.Dense.from_config(layer.get_config())
            >>> copy.units, copy.name
            (3, 'd')
        """
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
