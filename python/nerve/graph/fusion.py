"""Fusion of op steps before a plan is lowered.

`activation(matmul(x, w) + b)` written with nerve.ops (a user's Dense) becomes one step on
the backend's fused dense kernels, forward and backward, as the built-in Dense runs: one
pass over the output instead of three, and no buffers for the intermediates. A chain is
fused only when its intermediates feed nothing else and are not outputs; the reference
backend lowers the same fused step, so both backends compute the same thing. Arrays the
kernel cannot take (not 2-D, mixed dtypes, a bias that is not one row) fall back, at
lowering, to the three ops as they were.
"""
import numpy as np

from .graph import Step

__all__ = ["fuse"]


def _op(step, name):
    """The OpCall of `step` when it applies primitive `name` to symbolic inputs only."""
    operation = step.operation
    primitive = getattr(operation, "primitive", None)
    if primitive is None or primitive.name != name or len(step.inputs) != len(operation.template):
        return None
    return operation


def _activation(step):
    """The OpCall of `step` when it is one of the activations the dense kernel fuses."""
    operation = step.operation
    primitive = getattr(operation, "primitive", None)
    if not getattr(primitive, "kernel_activation", False) or len(step.inputs) != 1:
        return None
    return operation


def fuse(steps, protected):
    """`steps` with matmul -> add [-> activation] chains replaced by fused dense steps;
    `protected` keys (outputs, losses) are never folded away."""
    uses = {}
    for step in steps:
        for key in step.inputs:
            uses[key] = uses.get(key, 0) + 1
    consumer = {}
    for index, step in enumerate(steps):
        for key in step.inputs:
            consumer[key] = index

    # Values read straight from a Variable: a fused step used by nothing else may own it,
    # reading its array and writing its gradient slice as the built-in Dense does.
    producer = {step.outputs[0]: i for i, step in enumerate(steps)
                if getattr(step.operation, "_reads_state", False)}

    def single_consumer(key):
        return uses.get(key) == 1 and key not in protected and consumer.get(key)

    # The fused step takes the place of the chain's last step: by then the bias (read
    # after the product, as `matmul(x, w) + b` is written) exists too.
    replaced, dropped = {}, set()
    for index, step in enumerate(steps):
        matmul = _op(step, "matmul")
        after = single_consumer(step.outputs[0]) if matmul else None
        add = _op(steps[after], "add") if after else None
        if add is None or after in dropped:
            continue
        add_step, product = steps[after], step.outputs[0]
        bias_key = add_step.inputs[1] if add_step.inputs[0] == product else add_step.inputs[0]
        last, result, activation = after, add_step.outputs[0], None
        following = single_consumer(result)
        if following and _activation(steps[following]) is not None:
            activation, result = steps[following].operation, steps[following].outputs[0]
            last = following
        x_key, w_key = step.inputs
        reads = [producer.get(k) for k in (w_key, bias_key)]
        owned = all(r is not None and single_consumer(k) is not None
                    for r, k in zip(reads, (w_key, bias_key)))
        variables = [steps[r].operation.variable for r in reads] if owned else None
        operation = FusedDense(matmul, add, add_step.inputs.index(bias_key), activation,
                               variables)
        inputs = [x_key] if owned else [x_key, w_key, bias_key]
        replaced[last] = Step(operation, inputs, [result], [None] * len(inputs),
                              step.training)
        dropped.update({index, after, last} | (set(reads) if owned else set()))
    return [replaced.get(i, step) for i, step in enumerate(steps)
            if i in replaced or i not in dropped]


class FusedDense:
    """activation(x @ w + b) as one step (see the module docstring)."""

    _differentiable = True
    _graph_op = True

    def __init__(self, matmul, add, bias_position, activation, variables=None):
        self.ops = [matmul, add] + ([activation] if activation else [])
        self.variables = variables
        self._own_weights = list(variables or ())
        self.bias_position = bias_position
        params = activation.params if activation else {"name": "linear", "alpha": 0.0}
        self.activation, self.alpha = params["name"], params["alpha"]
        self.name = "dense (fused ops)"
        # An output activation whose loss has a logits form (softmax + cross-entropy) is
        # differentiated with the loss, as for the built-in Dense.
        self.output_activation = self.activation if activation else None

    def _inner_graph(self, node, training):
        return None

    def _forward(self, lowering, inputs, training):
        x, w, b = (inputs[0], *(v.value for v in self.variables)) if self.variables else inputs
        if not _kernel_ready(x, w, b):
            return self._forward_unfused(lowering, [x, w, b], training)
        y = lowering.empty((x.shape[0], w.shape[1]), x.dtype)
        z = y if self.activation == "linear" else lowering.empty_like(y)
        call = (lowering.backend.dense_forward, (y, x, w, b, self.activation, self.alpha, z))
        return y, [call], ("fused", x, w, b, z, y)

    def _logits(self, context):
        return context[4] if context[0] == "fused" else context[1][2][0][0]

    def _backward(self, lowering, context, dy, need, fused):
        if context[0] != "fused":
            return self._backward_unfused(lowering, context, dy, need, fused)
        _, x, w, b, z, y = context
        activation = "linear" if fused else self.activation
        dense_backward = lowering.backend.dense_backward
        dx = lowering.empty_like(x) if need[0] else None
        if self.variables:
            (dw, accumulate), (db, accumulate_b) = (lowering.grad(v) for v in self.variables)
            calls = []
            if accumulate_b != accumulate:  # the bias is shared elsewhere, the kernel not
                db_own = lowering.empty_like(b)
                calls.append((np.add, (db, db_own, db)) if accumulate_b else
                             (np.copyto, (db, db_own)))
                db = db_own
            call = (dense_backward, (dx, dw, db, dy, dy, x, w, z, y, activation, self.alpha,
                                     accumulate))
            return [dx], [call] + calls
        dw = lowering.empty_like(w)  # the kernel always writes dw
        db = lowering.empty_like(b) if need[2] else None
        call = (dense_backward, (dx, dw, db, dy, dy, x, w, z, y, activation, self.alpha, False))
        return [dx, dw if need[1] else None, db], [call]

    # -- the three ops one after another, for arrays the fused kernel cannot take
    def _forward_unfused(self, lowering, inputs, training):
        x, w, b = inputs
        calls, contexts = [], []
        value, more, context = self.ops[0]._forward(lowering, [x, w], training)
        calls += more
        contexts.append(context)
        pair = [value, b] if self.bias_position == 1 else [b, value]
        value, more, context = self.ops[1]._forward(lowering, pair, training)
        calls += more
        contexts.append(context)
        if len(self.ops) == 3:
            value, more, context = self.ops[2]._forward(lowering, [value], training)
            calls += more
            contexts.append(context)
        return value, calls, ("unfused", contexts)

    def _backward_unfused(self, lowering, context, dy, need, fused):
        contexts, calls = context[1], []
        if len(self.ops) == 3 and not fused:
            (dy,), more = self.ops[2]._backward(lowering, contexts[2], dy, [True], False)
            calls += more
        bias_needed = True if self.variables else need[2]
        add_need = [True, bias_needed] if self.bias_position == 1 else [bias_needed, True]
        grads, more = self.ops[1]._backward(lowering, contexts[1], dy, add_need, False)
        calls += more
        dproduct, db = grads[1 - self.bias_position], grads[self.bias_position]
        need = need + [True, True] if self.variables else need
        (dx, dw), more = self.ops[0]._backward(lowering, contexts[0], dproduct, need[:2], False)
        calls += more
        if not self.variables:
            return [dx, dw, db], calls
        for variable, grad in zip(self.variables, (dw, db)):
            view, accumulate = lowering.grad(variable)
            calls.append((np.add, (view, grad, view)) if accumulate else (np.copyto, (view, grad)))
        return [dx], calls


def _kernel_ready(x, w, b):
    arrays = (x, w, b)
    return (x.ndim == 2 and w.ndim == 2 and b.shape == (w.shape[1],)
            and len({a.dtype for a in arrays}) == 1 and x.dtype.kind == "f"
            and all(a.flags.c_contiguous for a in arrays) and x.shape[1] == w.shape[0]
            and np.dtype(x.dtype) in (np.float32, np.float64))
