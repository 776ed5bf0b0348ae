"""Symbolic tensors and the nodes that connect them.

`Input(shape=(8,))` makes a SymbolicTensor: a shape whose batch dimension is None, a dtype and
no data. Calling a layer on symbolic tensors records a Node (the layer, the tensors it was
called on, the tensors it made, and a `training` override) and returns the new tensors. A
model is the set of nodes between its input and output tensors; nerve.graph.plan lowers it to
kernel calls. Nodes hold operations, not only layers: anything with the layer's lowering
methods (_forward / _backward) can be a node.
"""

__all__ = ["SymbolicTensor", "Node", "source_tensor", "is_symbolic", "flatten", "structure_of",
           "pack_like"]


class SymbolicTensor:
    """A tensor of a graph under construction: shape (None for the batch), dtype and name."""

    __slots__ = ("shape", "dtype", "name", "node", "index")

    def __init__(self, shape, dtype, name=None, node=None, index=0):
        self.shape = tuple(shape)
        self.dtype = dtype
        self.name = name
        self.node = node  # the Node that made it; None only while being created
        self.index = index  # which output of that node

    @property
    def ndim(self):
        return len(self.shape)

    def __repr__(self):
        return f"<SymbolicTensor shape={self.shape}, dtype={self.dtype}, name={self.name}>"

    def __bool__(self):
        raise TypeError("a symbolic tensor has no value: Python control flow cannot depend on "
                        "it while a model is being traced")

    def __array__(self, *args, **kwargs):
        raise TypeError(f"{self!r} is symbolic (it has a shape but no data): inside a layer's "
                        f"call() or a custom loss, compute with nerve.ops (not NumPy); outside, "
                        f"call the model on arrays, or use its predict()")

    # NumPy hands its operators on a symbolic tensor (array + tensor) to nerve.ops; its
    # functions (np.exp, np.mean) cannot trace, and say which nerve.ops function to use.
    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        from .. import ops

        function = getattr(ops, OPERATOR_UFUNCS.get(ufunc.__name__, ""), None)
        if method != "__call__" or kwargs or function is None:
            raise TypeError(_numpy_message(f"np.{ufunc.__name__}", ufunc.__name__))
        return function(*inputs)

    def __array_function__(self, function, types, args, kwargs):
        if function.__name__ in ("shape", "ndim") and len(args) == 1 and not kwargs:
            return self.shape if function.__name__ == "shape" else self.ndim
        raise TypeError(_numpy_message(f"np.{function.__name__}", function.__name__))

    def __len__(self):
        raise TypeError(f"{self!r}: len() of a symbolic tensor is not known while tracing; use "
                        f"its .shape")

    def __getitem__(self, index):
        return _op("getitem")(self, index)

    @property
    def T(self):
        return _op("transpose")(self)


def _numpy_message(what, name):
    return (f"{what} cannot compute on a symbolic tensor (it has no data while a model is "
            f"traced): use nerve.ops.{name} (or the op of that name) inside call() and custom "
            f"losses, so that the model can compile and differentiate it")


def _op(name):
    from .. import ops
    return getattr(ops, name)


# The ufuncs behind Python's operators (array + tensor, abs(tensor)): only these trace.
OPERATOR_UFUNCS = {"add": "add", "subtract": "subtract", "multiply": "multiply",
              "true_divide": "divide", "divide": "divide", "power": "power",
              "negative": "negative", "absolute": "abs", "matmul": "matmul", "less": "less",
              "less_equal": "less_equal", "greater": "greater",
              "greater_equal": "greater_equal", "equal": "equal", "not_equal": "not_equal"}


def _binary(name, reflected=False):
    if reflected:
        return lambda self, other: _op(name)(other, self)
    return lambda self, other: _op(name)(self, other)


def add_operators(cls, logical=False):
    """Python's arithmetic and comparison operators on `cls`, through nerve.ops (and &, |, ~
    when `logical`): on a symbolic tensor they record nodes; on a Variable they compute, or
    trace inside a call()."""
    for name, op_name in (("add", "add"), ("sub", "subtract"), ("mul", "multiply"),
                          ("truediv", "divide"), ("pow", "power"), ("matmul", "matmul")):
        setattr(cls, f"__{name}__", _binary(op_name))
        setattr(cls, f"__r{name}__", _binary(op_name, reflected=True))
    comparisons = (("lt", "less"), ("le", "less_equal"), ("gt", "greater"),
                   ("ge", "greater_equal"))
    logicals = (("and", "logical_and"), ("or", "logical_or")) if logical else ()
    for name, op_name in comparisons + logicals:
        setattr(cls, f"__{name}__", _binary(op_name))
    cls.__neg__ = lambda self: _op("negative")(self)
    cls.__abs__ = lambda self: _op("abs")(self)
    if logical:
        cls.__invert__ = lambda self: _op("logical_not")(self)


add_operators(SymbolicTensor, logical=True)


class Node:
    """One call of an operation: inputs (flat list), outputs (flat list), the structure the
    inputs were given in (a single tensor, a list or a dict), and `training` (None: follow the
    plan's mode; True/False: forced, as `layer(x, training=False)` asks)."""

    __slots__ = ("operation", "inputs", "outputs", "structure", "training")

    def __init__(self, operation, inputs, outputs, structure, training=None):
        self.operation, self.inputs, self.outputs = operation, list(inputs), list(outputs)
        self.structure, self.training = structure, training
        for index, tensor in enumerate(self.outputs):
            tensor.node, tensor.index = self, index

    @property
    def call_inputs(self):
        """The inputs in the structure the operation was called with."""
        return pack_like(self.structure, self.inputs)

    def __repr__(self):
        return f"<Node {getattr(self.operation, 'name', self.operation)}>"


class _SourceOperation:
    """The producer of a traced graph's inputs (no computation of its own)."""

    name = "input"
    operation = None


def source_tensor(shape, dtype):
    """A fresh input of a traced graph (of a call(), a loss)."""
    tensor = SymbolicTensor(shape, dtype, "input")
    Node(_SourceOperation, [], [tensor], None)
    return tensor


def is_symbolic(value):
    return any(isinstance(t, SymbolicTensor) for t in flatten(value))


def flatten(value):
    """The leaves of a tensor, list/tuple or dict (dicts in key order), as a list."""
    if isinstance(value, dict):
        return [leaf for key in value for leaf in flatten(value[key])]
    if isinstance(value, (list, tuple)):
        return [leaf for item in value for leaf in flatten(item)]
    return [value]


def structure_of(value):
    """A template of `value`'s nesting that pack_like fills again: None marks a leaf."""
    if isinstance(value, dict):
        return {key: structure_of(value[key]) for key in value}
    if isinstance(value, (list, tuple)):
        return type(value)(structure_of(item) for item in value)
    return None


def pack_like(structure, leaves):
    """Inverse of flatten: `leaves` arranged as `structure` (from structure_of)."""
    leaves = iter(leaves)

    def fill(template):
        if isinstance(template, dict):
            return {key: fill(value) for key, value in template.items()}
        if isinstance(template, (list, tuple)):
            return type(template)(fill(item) for item in template)
        return next(leaves)
    return fill(structure)
