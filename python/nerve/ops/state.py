"""Variables inside a traced call(): reads become graph inputs, assignments graph effects.

A read is a node with no inputs whose value in a plan is the Variable's own array and whose
gradient goes to the Variable's slice of the model's gradient buffer. `variable.assign(t)`
records an effect node; reads later in the same call() see `t`, as Keras runs call() in
order.
"""
import numpy as np

from ..graph import Node, SymbolicTensor
from .core import current_trace

__all__ = ["VariableRead", "read_variable", "Assign", "record_assign"]


class VariableRead:
    """The node reading a Variable: its value in the plan is the Variable's own array, and its
    gradient goes to the Variable's slice of the model's gradient buffer."""

    output_activation = None
    _differentiable = True
    _graph_op = _reads_state = True

    def __init__(self, variable):
        self.variable, self.name = variable, variable.path
        self._own_weights = [variable]

    def _inner_graph(self, node, training):
        return None

    def _forward(self, lowering, inputs, training):
        return self.variable.value, [], None

    def _backward(self, lowering, context, dy, need, fused):
        grad, accumulate = lowering.grad(self.variable)
        return [], [(np.add, (grad, dy, grad)) if accumulate else (np.copyto, (grad, dy))]


def read_variable(variable):
    """A Variable as a graph input; after an assignment in the same call(), the value
    assigned (without a gradient path), as the code reads in order."""
    trace = current_trace()
    if trace is not None and id(variable) in trace.assigned:
        from .math import stop_gradient
        return stop_gradient(trace.assigned[id(variable)])
    tensor = SymbolicTensor(variable.shape, variable.dtype, variable.name)
    Node(VariableRead(variable), [], [tensor], [])
    return tensor


class Assign:
    """`variable.assign(tensor)` inside call(). Reads later in the same call() see the
    assigned value (read_variable); the Variable itself is written after the backward pass
    in a training plan (so the gradients see the values the forward pass read), otherwise
    after the rest of that call()'s steps."""

    output_activation = None
    _own_weights = ()
    _differentiable = False
    _graph_op = True

    def __init__(self, variable):
        self.variable, self.name = variable, f"assign {variable.path}"

    def _inner_graph(self, node, training):
        return None

    def _forward(self, lowering, inputs, training):
        call = (np.copyto, (self.variable.value, inputs[0]))
        if lowering.effects is not None:
            lowering.effects.append(call)
            return [], [], None
        return [], [call], None


def record_assign(variable, value):
    """Record `variable.assign(value)` in the call() being traced."""
    from .math import cast

    trace = current_trace()
    if trace is None:
        raise TypeError(f"assign: {variable.path} got a symbolic value outside a traced call()")
    if tuple(value.shape) != tuple(variable.shape):
        raise ValueError(f"assign: {variable.path} has shape {variable.shape}, received shape "
                         f"{value.shape}")
    if value.dtype != variable.dtype:
        value = cast(value, variable.dtype)
    node = Node(Assign(variable), [value], [], [None])
    trace.effects.append(node)
    trace.assigned[id(variable)] = value
