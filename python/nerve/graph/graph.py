"""A model's graph: the nodes between its input and output tensors, in topological order,
and their expansion into primitive steps for the plan compiler.

A node whose operation is itself a graph (a model used as a layer, or a layer composed of
other layers) is expanded in place: its inner nodes become steps of the outer plan, so nesting
costs nothing per batch. Values are keyed by (scope, tensor id): a nested model called twice
gets two scopes, so its inner tensors do not collide.
"""
from .tensor import SymbolicTensor

__all__ = ["Graph", "Step", "expand"]


class Graph:
    """inputs, outputs: flat lists of SymbolicTensors; nodes: those between, in order."""

    def __init__(self, inputs, outputs, owner="model", effects=(), losses=()):
        """effects: nodes with no outputs that must run (variable assignments); losses:
        scalar tensors added to the model's loss (Layer.add_loss)."""
        self.inputs, self.outputs = list(inputs), list(outputs)
        self.effects, self.losses = list(effects), list(losses)
        for tensor in self.inputs + self.outputs:
            if not isinstance(tensor, SymbolicTensor):
                raise TypeError(f"{owner}: inputs and outputs must be symbolic tensors (from "
                                f"nerve.Input and layer calls), received {type(tensor).__name__}")
        roots = self.outputs + self.losses + [t for node in self.effects for t in node.inputs]
        self.nodes = _topological_nodes(self.inputs, roots, owner) + self.effects

    @property
    def layers(self):
        """The layers of the nodes, each once, in order (input layers first); nerve.ops
        calls are nodes too, but not layers."""
        seen, found = set(), []
        for tensor in self.inputs:
            layer = tensor.node.operation
            if id(layer) not in seen:
                seen.add(id(layer))
                found.append(layer)
        for node in self.nodes:
            if getattr(node.operation, "_graph_op", False):
                continue
            if id(node.operation) not in seen:
                seen.add(id(node.operation))
                found.append(node.operation)
        return found


def _topological_nodes(inputs, outputs, owner):
    """Nodes from the inputs to the outputs, each after the nodes it reads from (an explicit
    stack: a model may be deeper than Python's recursion limit)."""
    input_ids = {id(t) for t in inputs}

    def producer(tensor):
        if id(tensor) in input_ids:
            return None
        node = tensor.node
        if node is not None and getattr(node.operation, "_reads_state", False):
            return node  # a Variable read: a node with no inputs
        if node is None or not node.inputs:
            name = tensor.name or getattr(getattr(node, "operation", None), "name", "?")
            raise ValueError(f"{owner}: the outputs depend on the input {name!r}, which is "
                             f"not among the model's inputs")
        return node

    order, seen = [], set()
    for tensor in outputs:
        root = producer(tensor)
        if root is None or id(root) in seen:
            continue
        seen.add(id(root))
        stack = [(root, 0)]
        while stack:
            node, next_input = stack[-1]
            if next_input == len(node.inputs):
                stack.pop()
                order.append(node)
                continue
            stack[-1] = (node, next_input + 1)
            child = producer(node.inputs[next_input])
            if child is not None and id(child) not in seen:
                seen.add(id(child))
                stack.append((child, 0))
    return order


class Step:
    """One primitive operation of a plan: inputs/outputs are value keys."""

    __slots__ = ("operation", "inputs", "outputs", "structure", "training")

    def __init__(self, operation, inputs, outputs, structure, training):
        self.operation, self.inputs, self.outputs = operation, inputs, outputs
        self.structure, self.training = structure, training


def expand(graph, training, input_keys=None):
    """(steps, input keys, output keys, added-loss keys) of `graph` for a plan whose mode is
    `training`; `input_keys` names the graph's inputs (default: keys of their own)."""
    steps, loss_keys = [], []

    def run(graph, scope, bound, training):
        def key(tensor):
            return bound.get(id(tensor)) or (scope, id(tensor))

        for node in graph.nodes:
            forced = training if node.training is None else bool(node.training)
            inputs = [key(t) for t in node.inputs]
            inner = node.operation._inner_graph(node, forced)
            if inner is None:
                steps.append(Step(node.operation, inputs, [key(t) for t in node.outputs],
                                  node.structure, forced))
                continue
            inner_scope = scope + (id(node),)
            inner_bound = {id(t): k for t, k in zip(inner.inputs, inputs)}
            run(inner, inner_scope, inner_bound, forced)
            for outer, result in zip(node.outputs, inner.outputs):
                bound[id(outer)] = inner_bound.get(id(result)) or (inner_scope, id(result))
        loss_keys.extend(key(t) for t in graph.losses)

    inputs = input_keys or [((), id(t)) for t in graph.inputs]
    top = {id(t): k for t, k in zip(graph.inputs, inputs)} if input_keys else {}
    run(graph, (), top, bool(training))
    keys = [top.get(id(t)) or ((), id(t)) for t in graph.outputs]
    return steps, inputs, keys, loss_keys
