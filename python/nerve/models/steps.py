"""The steps behind fit / evaluate / predict, over a compiled Plan (nerve.graph.plan).

A training step gathers its rows into the plan's input and target buffers, runs the forward
calls, the loss kernels, the backward calls and the optimizer once over the flat parameter
buffer, and nothing else: no allocation, and metrics are computed later, from the predictions
kept for them, only when a callback or the epoch's end asks for the logs. A model with one
input and one output gets a step with no loops over outputs (the common, tiny-batch case).
"""
import numpy as np


class Running:
    """Loss means and metric values over the rows seen so far (an epoch or an evaluation).
    Row r of the run is kept at position origin + r of `predictions`, and of ys and weights
    through `order` when given. `output_sums` (shared with the steps of a multi-output model)
    collects each output's loss times rows; metrics are fed the kept predictions lazily, when
    logs() is called or the rows' window starts over (restart())."""

    def __init__(self, model, ys, order, predictions, output_sums=None, weights=None,
                 origin=0):
        self.model, self.ys, self.order, self.predictions = model, ys, order, predictions
        self.weights, self.origin = weights, origin
        self.loss_sum, self.rows, self._fed = 0.0, 0, 0
        self.output_sums = output_sums
        if output_sums is not None:
            output_sums.fill(0.0)
        for metric in model._all_metrics():
            metric.reset_state()

    def feed(self):
        """Give the metrics the rows seen since the last call."""
        if self.rows <= self._fed:
            return
        at = slice(self.origin + self._fed, self.origin + self.rows)
        rows = at if self.order is None else self.order[at]
        weights = None if self.weights is None else self.weights[rows]
        model = self.model
        for index, (metrics, weighted) in enumerate(zip(model._output_metrics,
                                                        model._output_weighted_metrics)):
            if metrics or weighted:
                y_true, y_pred = self.ys[index][rows], self.predictions[index][at]
                for metric in metrics:
                    metric.update_state(y_true, y_pred)
                for metric in weighted:  # compile's weighted_metrics get the sample weights
                    metric.update_state(y_true, y_pred, weights)
        self._fed = self.rows

    def add(self, loss, rows):
        """Count a batch of `rows` rows whose mean loss is `loss`."""
        self.loss_sum += loss * rows
        self.rows += rows

    def restart(self):
        """The window the rows are kept in starts over at position 0."""
        self.feed()
        self.origin = -self.rows

    def logs(self):
        self.feed()
        model, rows = self.model, self.rows or 1
        logs = {"loss": self.loss_sum / rows if self.rows else 0.0}
        if self.output_sums is not None:
            for name, value in zip(model._loss_names(), self.output_sums):
                logs[name] = float(value) / rows if self.rows else 0.0
        for name, metric in model._named_metrics():
            logs[name] = float(metric.result())
        return dict(sorted(logs.items()))

    final_logs = logs  # the logs at the run's end (summed over ranks by nerve.distributed)


def _loss_calls(plan, loss_weights, output_sums):
    """compute(weights, targets) -> total loss, writing each output's gradient (scaled by its
    loss weight) and adding each output's loss to output_sums (when given), plus the losses
    layers added (add_loss)."""
    parts = [(i, p, float(w)) for i, (p, w) in enumerate(zip(plan.losses, loss_weights))
             if p is not None]
    added = plan.added_losses

    def compute(weights, batch, train):
        total = 0.0
        for value in added:
            total += float(value)
        for index, part, weight in parts:
            value = part.function(part.grad if train else None, part.input, part.targets,
                                  part.kind, weights, part.delta)
            if train and weight != 1.0:
                np.multiply(part.grad, weight, out=part.grad)
            total += weight * value
            if output_sums is not None:
                output_sums[index] += value * batch
        return total
    return compute


def train_step_function(plan, xs, ys, weights, predictions, regularization, update,
                        loss_weights, output_sums):
    """step(rows, start) -> loss: one training step on rows of the data; predictions[i]
    [start:] keeps output i for the metrics (when it has metrics)."""
    # Bound ndarray.take is ~5x cheaper per call than np.take; "clip" skips index buffering.
    take_w, wb = (weights.take, plan.weights) if weights is not None else (None, None)
    forward, backward, batch = plan.forward, plan.backward, len(plan.x)
    keep = [(p, out) for p, out in zip(predictions, plan.ys) if p is not None]
    if len(xs) == 1 and output_sums is None and loss_weights == [1.0]:
        take_x, take_y, xb, yb = xs[0].take, ys[0].take, plan.x, plan.targets
        grad, loss_input, kind, delta = plan.grad, plan.loss_input, plan.loss_kind, plan.delta
        loss, (kept, out) = plan.loss_function, keep[0] if keep else (None, None)
        added = plan.added_losses

        def step(rows, start):
            take_x(rows, 0, xb, "clip")
            take_y(rows, 0, yb, "clip")
            if take_w is not None:
                take_w(rows, 0, wb, "clip")
            for function, args in forward:
                function(*args)
            value = loss(grad, loss_input, yb, kind, wb, delta)
            for extra in added:
                value += float(extra)
            for function, args in backward:
                function(*args)
            if regularization is not None:
                value += regularization()
            update()
            if kept is not None:
                kept[start:start + batch] = out
            return value
        return step

    takes = [(x.take, xb) for x, xb in zip(xs, plan.xs)]
    takes += [(y.take, part.targets) for y, part in zip(ys, plan.losses) if part is not None]
    compute = _loss_calls(plan, loss_weights, output_sums)

    def step(rows, start):
        for take, buffer in takes:
            take(rows, 0, buffer, "clip")
        if take_w is not None:
            take_w(rows, 0, wb, "clip")
        for function, args in forward:
            function(*args)
        value = compute(wb, batch, True)
        for function, args in backward:
            function(*args)
        if regularization is not None:
            value += regularization()
        update()
        for kept, out in keep:
            kept[start:start + batch] = out
        return value
    return step


def test_step_function(plan, xs, ys, weights, predictions, loss_weights, output_sums):
    """step(start) -> loss of rows start:start + batch, outputs kept in predictions."""
    targets = [(y, part.targets) for y, part in zip(ys, plan.losses) if part is not None]
    forward = _forward_function(plan, xs, predictions, targets)
    compute, batch = _loss_calls(plan, loss_weights, output_sums), len(plan.x)

    def step(start):
        forward(start)
        return compute(None if weights is None else weights[start:start + batch], batch, False)
    return step


def predict_step_function(plan, xs, outs):
    """step(start): the outputs of rows start:start + batch into outs."""
    return _forward_function(plan, xs, outs)


def _forward_function(plan, xs, outs, extra_copies=()):
    """run(start): copy rows start:start + batch of xs (and extra (source, buffer) pairs) into
    the plan, run its forward calls, and copy its outputs into outs."""
    forward, batch = plan.forward, len(plan.x)
    copies, keep = list(zip(xs, plan.xs)) + list(extra_copies), list(zip(outs, plan.ys))

    def run(start):
        stop = start + batch
        for source, buffer in copies:
            buffer[...] = source[start:stop]
        for function, args in forward:
            function(*args)
        for out, y in keep:
            out[start:stop] = y
    return run


def regularization_function(model):
    """A function adding the regularizers' gradients and returning their penalty, or None."""
    terms = [(v.regularizer, v.value, v._grad, np.empty_like(v.value))
             for v in model.trainable_weights if v.regularizer is not None]
    if not terms:
        return None

    def regularize():
        penalty = 0.0
        for regularizer, weights, grad, scratch in terms:
            penalty += regularizer.penalty(weights, scratch)
            regularizer.add_gradient(grad, weights, scratch)
        return penalty
    return regularize


def penalty(model):
    """The regularizers' penalty at the current weights: evaluate adds it to every batch's
    loss, as Keras's compute_loss adds model.losses (the weights do not change meanwhile)."""
    trainable = model._trainable_ids()  # the packed variables: no walk over the layers
    return sum(v.regularizer.penalty(v.value, np.empty_like(v.value))
               for v in model._packed if v.regularizer is not None and id(v) in trainable)


def batches(rows, batch_size):
    """(start, size) of each batch; the last one may be partial."""
    return [(start, min(batch_size, rows - start)) for start in range(0, rows, batch_size)]
