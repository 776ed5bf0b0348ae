"""The plan compiler: a graph, for one batch size and mode, becomes a static list of bound
kernel calls over preallocated buffers.

Lowering asks each step's operation for its calls (`_forward`, then `_backward` in reverse
order), handing it a Lowering: the backend, and an allocator over a pool of buffers. A buffer
goes back to the pool once no live value holds it, so a long chain in predict mode, or the
gradients of a deep network, reuse a few buffers instead of holding one per layer. Fusions:
a layer keeps its activation fused (Dense), and an output activation whose loss has a logits
form (sigmoid + binary cross-entropy, softmax + categorical) is differentiated as one. A value
read by several steps accumulates its gradient; a weight used by several steps (a shared
layer) accumulates its weight gradient.
"""
import math

import numpy as np

from .fusion import fuse
from .graph import expand
from .tensor import flatten, pack_like

__all__ = ["Plan", "Lowering"]

# Output activations whose loss is computed from the pre-activation (stable, fused gradient).
_FUSED_LOSSES = {"sigmoid": ("binary_crossentropy",),
                 "softmax": ("categorical_crossentropy", "sparse_categorical_crossentropy")}


def _root(array):
    while array.base is not None and isinstance(array.base, np.ndarray):
        array = array.base
    return array


class _Pool:
    """Flat byte buffers handed out as arrays and taken back when dead (best fit)."""

    def __init__(self):
        self.free, self.owned = [], set()

    def take(self, shape, dtype):
        dtype = np.dtype(dtype)
        count = math.prod(shape)
        nbytes = max(count * dtype.itemsize, dtype.itemsize)
        fits = [b for b in self.free if nbytes <= b.nbytes <= 2 * nbytes]
        if fits:
            buffer = min(fits, key=lambda b: b.nbytes)
            # By identity: list.remove compares arrays with ==, element-wise.
            del self.free[next(i for i, b in enumerate(self.free) if b is buffer)]
        else:
            buffer = np.empty(nbytes, np.uint8)
            self.owned.add(id(buffer))
        return buffer[:count * dtype.itemsize].view(dtype).reshape(shape)

    def give(self, root):
        if id(root) in self.owned:
            self.free.append(root)


class Lowering:
    """What an operation sees while it is lowered: the backend, an allocator for its buffers
    (`empty`, `empty_like`) and the gradient buffer of each of its weights (`grad`)."""

    def __init__(self, backend, pool, defer_effects):
        self.backend, self._pool = backend, pool
        self.allocated = []
        self._weights_seen = set()
        # Variable assignments in a training plan wait for the backward pass: effects
        # collects them (None: they run where they are).
        self.effects = [] if defer_effects else None

    def empty(self, shape, dtype):
        array = self._pool.take(tuple(shape), dtype)
        self.allocated.append(_root(array))
        return array

    def empty_like(self, array):
        return self.empty(array.shape, array.dtype)

    def grad(self, variable):
        """(gradient view, accumulate): the first backward use of a weight in a plan writes
        its gradient, later ones (a layer called more than once) add to it."""
        accumulate = id(variable) in self._weights_seen
        self._weights_seen.add(id(variable))
        return variable._grad, accumulate


class _Liveness:
    """Counts the live values holding each buffer; a pool buffer no value holds is freed."""

    def __init__(self, pool):
        self.pool, self.holders, self.held = pool, {}, {}

    def hold(self, key, arrays):
        roots = {id(r): r for r in (_root(a) for a in arrays if a is not None)}
        self.held.setdefault(key, {}).update(roots)
        for root_id in roots:
            self.holders[root_id] = self.holders.get(root_id, 0) + 1

    def drop(self, key):
        for root_id, root in self.held.pop(key, {}).items():
            self.holders[root_id] -= 1
            if self.holders[root_id] == 0:
                self.pool.give(root)

    def exclusive(self, array):
        return self.holders.get(id(_root(array)), 0) <= 1


class Plan:
    """Buffers and calls for one batch size. mode: "predict", "test" (with the losses),
    "train" (losses, backward pass) or "forward_train" (predict with training behaviour).
    xs/ys: the input and output buffers in the model's order (x, y: the first of each)."""

    def __init__(self, model, backend, batch, mode):
        training = mode in ("train", "forward_train")
        graph = model._graph_for(training)
        steps, input_keys, output_keys, loss_keys = expand(graph, training)
        pool = _Pool()
        lowering = Lowering(backend, pool, defer_effects=mode == "train")
        live = _Liveness(pool)
        self.xs = [np.empty((batch,) + tuple(t.shape[1:]), t.dtype)
                   for t in graph.inputs]
        values = dict(zip(input_keys, self.xs))
        custom = {}
        if mode in ("test", "train"):
            loss_keys += self._expand_custom_losses(model, graph, output_keys, steps, values,
                                                    custom, batch, training)
        outputs = set(output_keys) | set(loss_keys) | {v for _, v in custom.values()}
        steps = fuse(steps, outputs)
        uses = {}
        for step in steps:
            for key in step.inputs:
                uses[key] = uses.get(key, 0) + 1
        # Training keeps every forward value: the backward pass reads them.
        keep_all = mode == "train"
        self.forward, contexts, producers = [], [], {}
        for index, step in enumerate(steps):
            lowering.allocated = []
            arrays = [values[key] for key in step.inputs]
            x = arrays[0] if step.structure is None else pack_like(step.structure, arrays)
            y, calls, context = step.operation._forward(lowering, x, step.training)
            self.forward += calls
            contexts.append(context)
            for position, (key, array) in enumerate(zip(step.outputs, flatten(y))):
                values[key] = array
                producers[key] = index
                live.hold(key, [array] + (lowering.allocated if position == 0 else []))
            for key in step.inputs:
                uses[key] -= 1
                if uses[key] == 0 and not keep_all and key not in outputs:
                    live.drop(key)
        self.ys = [values[key] for key in output_keys]
        self.x, self.y = self.xs[0], self.ys[0]
        self.added_losses = [values[key] for key in loss_keys]
        if mode in ("predict", "forward_train"):
            return
        self._lower_losses(model, backend.loss, steps, contexts, producers, output_keys, custom,
                           values, batch)
        if mode == "train":
            seeds = [(key, np.empty((), values[key].dtype)) for key in loss_keys]
            self.backward = [(seed.fill, (1.0,)) for _, seed in seeds]
            self.backward += self._lower_backward(model, lowering, live, steps, contexts,
                                                  values, input_keys, seeds)
            self.backward += lowering.effects

    @staticmethod
    def _expand_custom_losses(model, graph, output_keys, steps, values, custom, batch,
                              training):
        """Append the steps of each output's custom loss (a traced function of y_true and
        y_pred) to `steps`; custom[output index] = (targets key, per-sample values key)."""
        added = []
        for index, (key, loss) in enumerate(zip(output_keys, model._output_losses)):
            if loss is None or loss.kind is not None:
                continue
            output = graph.outputs[index]
            target_shape = model._target_shape(index)
            loss_graph = loss._graph(output, target_shape)
            targets_key = ("targets", index)
            values[targets_key] = np.empty((batch,) + tuple(target_shape), output.dtype)
            more, _, (values_key,), more_losses = expand(loss_graph, training,
                                                         [targets_key, key])
            steps += more
            added += more_losses
            custom[index] = (targets_key, values_key)
        return added

    def _lower_losses(self, model, backend_loss, steps, contexts, producers, output_keys, custom,
                      values, batch):
        """Per output: the loss kernel's input (the logits when fused; a custom loss's
        per-sample values), kind, targets, and the gradient buffer it writes."""
        read = {key for step in steps for key in step.inputs}
        self.losses, self.fused = [], set()
        for index, (key, y, loss) in enumerate(zip(output_keys, self.ys, model._output_losses)):
            if loss is None:
                self.losses.append(None)
                continue
            if index in custom:
                targets_key, values_key = custom[index]
                per_sample = values[values_key]
                self.losses.append(_OutputLoss(
                    values_key, per_sample, "custom", 1.0, values[targets_key],
                    np.empty(per_sample.shape, per_sample.dtype), mean_loss))
                continue
            position = producers.get(key)
            operation = steps[position].operation if position is not None else None
            fused = (position is not None and key not in read
                     and len(steps[position].outputs) == 1 and not loss.from_logits
                     and loss.kind in _FUSED_LOSSES.get(operation.output_activation, ()))
            if fused:
                self.fused.add(position)
            targets = (np.empty(batch, np.int64) if loss.sparse else np.empty(y.shape, y.dtype))
            self.losses.append(_OutputLoss(
                key, operation._logits(contexts[position]) if fused else y,
                loss.kernel_kind(fused), loss.delta, targets, np.empty(y.shape, y.dtype),
                backend_loss))
        self.weights = np.empty(batch, model.dtype)
        first = self.losses[0]
        self.loss_input, self.targets, self.loss_function = first.input, first.targets, \
            first.function
        self.loss_kind, self.delta, self.grad = first.kind, first.delta, first.grad

    def _lower_backward(self, model, lowering, live, steps, contexts, values, input_keys,
                        seeds):
        trainable = model._trainable_ids()
        requires = dict.fromkeys(input_keys, False)
        for step in steps:
            own = any(id(v) in trainable for v in step.operation._own_weights)
            flag = own or any(requires.get(k, False) for k in step.inputs)
            requires.update((k, flag and getattr(step.operation, "_differentiable", True))
                            for k in step.outputs)
        pending = {}
        seeds = seeds + [(part.key, part.grad) for part in self.losses if part is not None]
        for key, grad in seeds:
            if requires.get(key, False):
                count = len(pending.setdefault(key, []))
                pending[key].append(grad)
                live.hold(("grad", key, count), [grad])
        calls = []
        for index in range(len(steps) - 1, -1, -1):
            step = steps[index]
            if not any(k in pending for k in step.outputs):
                continue
            lowering.allocated = []
            dys = [self._gradient(lowering, live, pending, key, values[key], calls)
                   for key in step.outputs]
            need = [requires.get(k, False) for k in step.inputs]
            dy = dys[0] if len(dys) == 1 else dys
            needed = need[0] if step.structure is None else pack_like(step.structure, need)
            dx, step_calls = step.operation._backward(lowering, contexts[index], dy, needed,
                                                      index in self.fused)
            calls += step_calls
            dxs = [dx] if step.structure is None else flatten(dx)
            for key, gradient, wanted in zip(step.inputs, dxs, need):
                if wanted and gradient is not None:
                    count = len(pending.setdefault(key, []))
                    pending[key].append(gradient)
                    live.hold(("grad", key, count), [gradient] + lowering.allocated)
            for key in step.outputs:
                for count in range(len(pending.pop(key, ()))):
                    live.drop(("grad", key, count))
                live.drop(("grad", key, "sum"))
        return calls

    @staticmethod
    def _gradient(lowering, live, pending, key, like, calls):
        """The gradient of value `key` as one buffer its producer may overwrite: the only
        contribution if no other value holds it, else the sum (or a copy) in a fresh one."""
        parts = pending.get(key)
        if not parts:
            zero = lowering.empty(like.shape, like.dtype)
            calls.append((zero.fill, (0,)))
            live.hold(("grad", key, "sum"), [zero])
            return zero
        if len(parts) == 1 and live.exclusive(parts[0]) and parts[0].flags.c_contiguous:
            return parts[0]
        total = lowering.empty(parts[0].shape, parts[0].dtype)
        live.hold(("grad", key, "sum"), [total])
        if len(parts) == 1:
            calls.append((np.copyto, (total, parts[0])))
        else:
            calls.append((np.add, (parts[0], parts[1], total)))
            calls += [(np.add, (total, part, total)) for part in parts[2:]]
        return total


class _OutputLoss:
    """One output's loss: function(grad, input, targets, kind, weights, delta) -> the batch
    mean (the backend's loss kernel, or mean_loss after a custom loss's steps); its gradient
    seeds the backward pass at value `key`."""

    __slots__ = ("key", "input", "kind", "delta", "targets", "grad", "function")

    def __init__(self, key, loss_input, kind, delta, targets, grad, function):
        self.key, self.input, self.kind, self.delta = key, loss_input, kind, delta
        self.targets, self.grad, self.function = targets, grad, function


def mean_loss(grad, values, targets, kind, weights, delta):
    """Keras's "sum_over_batch_size" of per-sample losses: sum(w * values) / values.size;
    writes d(mean)/d(values) into grad when given."""
    size = max(values.size, 1)
    if weights is None or values.ndim == 0:
        if grad is not None:
            grad.fill(1.0 / size)
        return float(values.sum()) / size
    scale = weights.reshape((-1,) + (1,) * (values.ndim - 1))
    if grad is not None:
        np.multiply(np.broadcast_to(scale, values.shape), 1.0 / size, out=grad)
    return float(np.sum(values * scale)) / size
