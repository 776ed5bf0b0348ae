"""The Layer base class: names, sublayer tracking, building and config; its weight methods are
in weights.py and its call machinery in calls.py (mixins).

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
from typing import Any, Dict, List, Optional, Sequence, Type, TypeVar

from .. import utils
from ..graph import Node, SymbolicTensor, pack_like
from .._typing import DTypeLike
from ..variables import Variable
from .calls import IntegerInputsExpected, LayerCalls
# The layer modules import Shape and ShapeLike from here.
from .shapes import OutputShape, Shape, ShapeLike, batch_shape, shape_tuple  # noqa: F401
from .weights import LayerWeights

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


class Layer(LayerWeights, LayerCalls):
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
