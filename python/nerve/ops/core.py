"""The machinery under nerve.ops: one definition per primitive, run at once on arrays or
recorded as a graph node on symbolic tensors.

A Primitive has a NumPy forward (`compute`) and, beside it, its reverse-mode rule (`grad`:
the gradients of its tensor arguments from the gradient of its result). `apply` converts the
arguments by Keras's dtype rules, then either computes (arrays) or records a node (symbolic
tensors, or Variables while a layer's call() is being traced). Shapes and dtypes of a recorded
node come from running `compute` on zero-stride probes (no memory) with the batch dimension
set to 2 and then 3: the output dimensions that differ are the batch's. So an error points at
the user's line, and a plan later knows every buffer's size.

In a plan (nerve.graph.plan), a node lowers to calls writing into preallocated buffers:
`into(out, *args)` where a primitive has one, else `out[...] = compute(*args)`, and a view
primitive (reshape) costs nothing. Its backward writes each needed gradient, summed back over
broadcast dimensions, into a buffer of its own.
"""
import contextlib
import functools
import threading
from typing import Any, Callable, Dict, Iterator, List, Optional, Sequence

import numpy as np

from .. import utils
from ..graph import Node, SymbolicTensor
from .._typing import Shape
from ..variables import Variable

__all__ = ["Primitive", "apply", "tracing", "current_trace", "result_dtype", "unbroadcast"]

_state = threading.local()
_PRIMITIVES: Dict[Any, "Primitive"] = {}  # (name, outputs) -> the first Primitive made with them: see __reduce__


class _Trace:
    """What a call() being traced does besides computing: assignments and added losses."""

    def __init__(self) -> None:
        self.effects: List[Any] = []
        self.losses: List[Any] = []
        self.assigned: dict = {}  # id(Variable) -> the value last assigned to it in this call


@contextlib.contextmanager
def tracing() -> Iterator[_Trace]:
    """Trace the body: Variables read in it become graph inputs; yields the effects list."""
    stack = _state.__dict__.setdefault("stack", [])
    trace = _Trace()
    stack.append(trace)
    try:
        yield trace
    finally:
        stack.pop()


def current_trace() -> Optional[_Trace]:
    stack = getattr(_state, "stack", None)
    return stack[-1] if stack else None


# ---- dtypes: Keras's rules (JAX-like): Python scalars are weak, ints meet floats as the float.
def _dtype_of(value):
    if isinstance(value, (SymbolicTensor, Variable)):
        return np.dtype(value.dtype)
    if isinstance(value, (bool, int, float)):
        return None
    dtype = np.asarray(value).dtype
    if dtype.kind not in "biuf":
        raise TypeError(f"expected real numbers or booleans, received dtype {dtype}")
    return list_dtype(value, dtype)


def _python_numbers(value):
    return all(_python_numbers(v) if isinstance(v, (list, tuple)) else
               isinstance(v, (bool, int, float)) and not isinstance(v, np.generic) for v in value)


def list_dtype(value, dtype):
    """Keras's dtype of a (nested) list of Python numbers: floats floatx, ints int32."""
    if isinstance(value, (list, tuple)) and dtype.kind in "if" and _python_numbers(value):
        return np.dtype(utils.floatx() if dtype.kind == "f" else np.int32)
    return dtype


def result_dtype(values: Sequence[Any], to_float: bool = False,
                 dtypes: Optional[Sequence[Optional[np.dtype]]] = None) -> np.dtype:
    """The dtype `values` combine to: the promoted float type if any array is float; a weak
    Python float (or to_float) makes ints floatx; ints promote as NumPy; a weak int alone is
    int32. `dtypes`: the values' _dtype_of, when the caller has them."""
    dtypes = [_dtype_of(v) for v in values] if dtypes is None else dtypes
    arrays = [d for d in dtypes if d is not None]
    floats = [d for d in arrays if d.kind == "f"]
    if floats:
        return np.result_type(*floats)
    weak_float = any(isinstance(v, float) for v in values)
    if to_float or weak_float:
        return np.dtype(utils.floatx())
    ints = [d for d in arrays if d.kind in "iu"]
    if ints:
        return np.result_type(*ints)
    if arrays or any(isinstance(v, bool) for v in values):
        if all(isinstance(v, bool) or (d is not None and d.kind == "b")
               for v, d in zip(values, dtypes)):
            return np.dtype(bool)
    return np.dtype(np.int32)


class Primitive:
    """A NumPy forward and its reverse-mode rule.

    roles: per tensor argument, "d" (data, promoted together with the other "d"s), "f" (like
        "d", then made float: exp, divide, mean), "b" (cast to bool), "i" (integer indices) or
        "-" (left as given).
    grad(dys, args, ys, **params) -> one gradient (or None) per argument, in broadcast shape;
        dys/ys are lists (several outputs: split). None: not differentiable (comparisons).
    into(out, *args, **params): writes the result in place (the fast plan path), optional.
    view: the result is a view of the first argument (reshape); it costs nothing in a plan.
    empty_sums(*args, **params) -> args with the summed dimensions of a product sliced to
        length 0: the same result shape, no arithmetic (for shape inference).
    """

    # Optional plan lowerings, set by the modules whose primitives have kernels:
    # lower(lowering, ys, args, **params) and lower_grad(lowering, dys, args, ys, wanted, ...).
    lower: Optional[Callable[..., Any]] = None
    lower_grad: Optional[Callable[..., Any]] = None
    kernel_activation = False  # an activation graph.fusion may fold into a dense kernel

    def __init__(self, name: str, compute: Callable[..., Any],
                 grad: Optional[Callable[..., Any]] = None, roles: str = "d",
                 into: Optional[Callable[..., Any]] = None, view: bool = False,
                 outputs: int = 1, empty_sums: Optional[Callable[..., Any]] = None) -> None:
        self.name, self.compute, self.grad, self.roles = name, compute, grad, roles
        self.into, self.view, self.outputs = into, view, outputs
        self.empty_sums = empty_sums
        _PRIMITIVES.setdefault((name, outputs), self)

    def __reduce__(self):
        """Pickled by reference (its functions are lambdas, which pickle cannot store), so a
        model whose graph holds ops can be pickled; only the first Primitive of a (name,
        outputs) can be found again by it."""
        key = (self.name, self.outputs)
        if _PRIMITIVES.get(key) is not self:
            raise TypeError(f"cannot pickle {self!r}: another primitive has its name")
        return _primitive_named, key

    def role(self, position: int) -> str:
        return self.roles[min(position, len(self.roles) - 1)]

    def __repr__(self):
        return f"<Primitive {self.name}>"


def _primitive_named(name, outputs):
    return _PRIMITIVES[(name, outputs)]


def argument_name(position, count):
    """How an error names a tensor argument: x for one, else x1, x2, ... as keras.ops."""
    return "x" if count == 1 else f"x{position + 1}"


def _target_dtypes(primitive, args):
    """The dtype each argument is converted to (None: as it is)."""
    dtypes = []
    for position, value in enumerate(args):
        try:
            dtypes.append(_dtype_of(value))
        except TypeError as error:
            raise TypeError(f"{argument_name(position, len(args))}: {error}") from None
    roles = [primitive.role(i) for i in range(len(args))]
    data = [i for i, r in enumerate(roles) if r in "df"]
    common = result_dtype([args[i] for i in data], to_float="f" in roles,
                          dtypes=[dtypes[i] for i in data]) if data else None
    targets = []
    for role in roles:
        targets.append(common if role in "df" else np.dtype(bool) if role == "b"
                       else np.dtype(np.int64) if role == "i" else None)
    return targets


def _array(value, dtype):
    if isinstance(value, Variable):
        value = value.value
    array = np.asarray(value)
    if array.dtype.kind not in "biuf":
        raise TypeError(f"expected real numbers or booleans, received dtype {array.dtype}")
    return array if dtype is None or array.dtype == dtype else array.astype(dtype)


def _describe(args):
    """The arguments' shapes (a list's too: its values could fill pages), repr of scalars."""
    return ", ".join(str(tuple(a.shape)) if hasattr(a, "shape") else
                     _list_shape(a) if isinstance(a, (list, tuple)) else repr(a) for a in args)


def _list_shape(value):
    try:
        return f"a list of shape {np.shape(value)}"
    except ValueError:
        return f"a ragged list of {len(value)}"


def _is_symbolic_argument(value):
    return isinstance(value, SymbolicTensor) or (
        isinstance(value, Variable) and current_trace() is not None)


def apply(primitive: Primitive, args: Sequence[Any], **params: Any) -> Any:
    """Run `primitive` on `args` now, or record it when any argument is symbolic."""
    try:
        dtypes = _target_dtypes(primitive, args)
    except TypeError as error:
        raise TypeError(f"ops.{primitive.name}: {error}") from None
    if any(_is_symbolic_argument(a) for a in args):
        return _record(primitive, args, dtypes, params)
    try:
        arrays = [_array(a, d) for a, d in zip(args, dtypes)]
        with np.errstate(all="ignore"):
            return primitive.compute(*arrays, **params)
    except (ValueError, IndexError) as error:
        raise ValueError(f"ops.{primitive.name}: {error} (received shapes "
                         f"{_describe(args)})") from None
    except TypeError as error:
        raise TypeError(f"ops.{primitive.name}: {error} (received {_describe(args)})") from None


# ---- symbolic: nodes of a graph ---------------------------------------------------------------
class _Slot:
    """Where a node's i-th symbolic input goes among the primitive's arguments."""

    __slots__ = ("index",)

    def __init__(self, index):
        self.index = index


class OpCall:
    """The operation of a node that applies a primitive: the arguments' template (slots for
    the symbolic inputs, constants as arrays) and the keyword parameters."""

    _own_weights = ()
    output_activation = None
    _graph_op = True

    def __init__(self, primitive, template, params):
        self.primitive, self.template, self.params = primitive, template, params
        self.name = primitive.name
        self._differentiable = primitive.grad is not None

    def _inner_graph(self, node, training):
        return None

    def arguments(self, inputs):
        return [inputs[a.index] if isinstance(a, _Slot) else a for a in self.template]

    def _forward(self, lowering, inputs, training):
        primitive, params = self.primitive, self.params
        args = self.arguments(inputs)
        if primitive.view:
            y = primitive.compute(*args, **params)
            if np.shares_memory(y, args[0]):  # a view stays current as the input changes
                return y, [], (args, [y])
        probed = [_probe(a.shape, a.dtype) if isinstance(t, _Slot) else a
                  for a, t in zip(args, self.template)]
        specs = _specs(primitive, probed, params)
        ys = [lowering.empty(shape, dtype) for shape, dtype in specs]
        lower = getattr(primitive, "lower", None)
        if lower is not None:
            calls = lower(lowering, ys, args, **params)
        elif primitive.into is not None:
            calls = [(functools.partial(primitive.into, **params), (ys[0], *args))]
        else:
            calls = [(_store, (ys, primitive.compute, args, params))]
        return (ys[0] if primitive.outputs == 1 else ys), calls, (args, ys)

    def _backward(self, lowering, context, dy, need, fused):
        args, ys = context
        dys = [dy] if self.primitive.outputs == 1 else list(dy)
        # By position, not list.index: == on the template's constant arrays is element-wise.
        positions = [i for i, a in enumerate(self.template) if isinstance(a, _Slot)]
        wanted = [False] * len(args)
        for position, flag in zip(positions, need):
            wanted[position] = flag and np.dtype(args[position].dtype).kind == "f"
        lower = getattr(self.primitive, "lower_grad", None)
        if lower is not None:
            grads, calls = lower(lowering, dys, args, ys, wanted, **self.params)
        else:
            grads = [lowering.empty(a.shape, a.dtype) if w else None
                     for a, w in zip(args, wanted)]
            calls = [(_store_grads, (self.primitive.grad, dys, args, ys, self.params, grads))]
        return [grads[position] for position in positions], calls


def _store(outs, compute, args, params):
    results = compute(*args, **params)
    if len(outs) == 1:
        outs[0][...] = results
    else:
        for out, result in zip(outs, results):
            out[...] = result


def _store_grads(grad, dys, args, ys, params, outs):
    grads = grad(dys, args, ys, **params)
    for out, gradient in zip(outs, grads):
        if out is not None:
            if gradient is None:
                out.fill(0)
            else:
                out[...] = unbroadcast(gradient, out.shape)


def unbroadcast(gradient: Any, shape: Shape) -> np.ndarray:
    """`gradient` of a broadcast result summed back to an argument of `shape`."""
    gradient = np.asarray(gradient)
    if gradient.shape == tuple(shape):
        return gradient
    extra = gradient.ndim - len(shape)
    if extra > 0:
        gradient = gradient.sum(axis=tuple(range(extra)))
    axes = tuple(i for i, (n, m) in enumerate(zip(shape, gradient.shape)) if n == 1 and m != 1)
    if axes:
        gradient = gradient.sum(axis=axes, keepdims=True)
    return np.broadcast_to(gradient, shape)


def _probe(shape, dtype, batch=None):
    """Zeros of `shape` (None: `batch`) that take no memory."""
    shape = tuple(batch if d is None else d for d in shape)
    return np.broadcast_to(np.zeros((), dtype), shape)


def _specs(primitive, probes, params):
    """[(shape, dtype)] of the outputs of `primitive` on `probes`; a product is probed with
    its summed dimensions cut to zero (primitive.empty_sums), so it costs no arithmetic."""
    if primitive.empty_sums is not None:
        probes = primitive.empty_sums(*probes, **params)
    with np.errstate(all="ignore"):
        results = primitive.compute(*probes, **params)
    results = [results] if primitive.outputs == 1 else list(results)
    return [(np.shape(r), np.asarray(r).dtype) for r in results]


def _record(primitive, args, dtypes, params):
    from .math import cast
    from .state import read_variable

    inputs, template = [], []
    for value, dtype in zip(args, dtypes):
        if isinstance(value, Variable):
            value = read_variable(value)
        if isinstance(value, SymbolicTensor):
            if dtype is not None and np.dtype(value.dtype) != dtype:
                value = cast(value, dtype)
            template.append(_Slot(len(inputs)))
            inputs.append(value)
        else:
            try:
                template.append(_array(value, dtype))
            except TypeError as error:
                raise TypeError(f"ops.{primitive.name}: {error}") from None
    shapes = [inputs[a.index].shape for a in template if isinstance(a, _Slot)]

    def probes(batch):
        return [_probe(inputs[a.index].shape, inputs[a.index].dtype, batch)
                if isinstance(a, _Slot) else a for a in template]
    try:
        first = _specs(primitive, probes(2), params)
        batched = any(None in s for s in shapes)
        second = _specs(primitive, probes(3), params) if batched else first
    except (ValueError, IndexError, TypeError) as error:
        shown = ", ".join(str(tuple(inputs[a.index].shape if isinstance(a, _Slot) else a.shape))
                          for a in template)
        kind = TypeError if isinstance(error, TypeError) else ValueError
        raise kind(f"ops.{primitive.name}: cannot apply to shapes {shown} (None: the batch): "
                   f"{error}") from None
    outputs = []
    for (shape_a, dtype), (shape_b, _) in zip(first, second):
        if len(shape_a) != len(shape_b):
            raise ValueError(f"ops.{primitive.name}: its result's rank depends on the batch "
                             f"size for inputs of shapes {shapes}")
        shape = tuple(a if a == b else None for a, b in zip(shape_a, shape_b))
        outputs.append(SymbolicTensor(shape, np.dtype(dtype).name, primitive.name))
    Node(OpCall(primitive, template, params), inputs, outputs, [None] * len(inputs))
    return outputs[0] if primitive.outputs == 1 else outputs
