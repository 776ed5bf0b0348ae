"""The loops behind Sequential.fit / evaluate / predict.

For each batch size a model gets a Plan: preallocated buffers and the list of bound backend
calls that run one step. A training step gathers its rows into the plan's buffers, runs the
calls and the optimizer once over the flat parameter buffer, and does nothing else: no
allocation, and metrics are computed later, from the predictions kept for them, only when a
callback or the epoch's end asks for the logs.
"""
import numpy as np

# Output activations whose loss is computed from the pre-activation (stable, fused gradient).
_FUSED_LOSSES = {"sigmoid": ("binary_crossentropy",),
                 "softmax": ("categorical_crossentropy", "sparse_categorical_crossentropy")}


class Plan:
    """Buffers and backend calls for one batch size. mode: "predict", "test" (with the loss)
    or "train" (with loss, backward pass and regularizer gradients)."""

    def __init__(self, model, backend, batch, mode):
        dtype = model.dtype
        self.x = np.empty((batch,) + tuple(model.input_shape[1:]), dtype)
        self.forward, contexts, h = [], [], self.x
        for layer in model.layers:
            h, calls, context = layer._forward(backend, h, mode == "train")
            self.forward += calls
            contexts.append(context)
        self.y = h
        if mode == "predict":
            return
        loss, last = model.loss, model.layers[-1]
        fused = (not loss.from_logits
                 and loss.kind in _FUSED_LOSSES.get(last.output_activation, ()))
        self.loss_input = last._logits(contexts[-1]) if fused else self.y
        self.loss_kind, self.delta = loss.kernel_kind(fused), loss.delta
        self.targets = (np.empty(batch, np.int64) if loss.sparse
                        else np.empty(self.y.shape, dtype))
        self.weights = np.empty(batch, dtype)
        self.grad = np.empty(self.y.shape, dtype) if mode == "train" else None
        if mode == "train":
            self.backward = self._backward(model, backend, contexts, fused)

    def _backward(self, model, backend, contexts, fused):
        layers = model.layers
        trainable = [i for i, layer in enumerate(layers) if layer._variables and layer.trainable]
        calls, dy = [], self.grad
        for i in range(len(layers) - 1, trainable[0] - 1 if trainable else len(layers), -1):
            dy, layer_calls = layers[i]._backward(backend, contexts[i], dy, i > trainable[0],
                                                  fused and i == len(layers) - 1)
            calls += layer_calls
        return calls


class Running:
    """Loss mean and metric values over the rows seen so far (an epoch or an evaluation).
    Metrics are fed the kept predictions lazily, chunk by chunk, when logs() is called."""

    def __init__(self, metrics, y, order, predictions):
        self.metrics, self.y, self.order, self.predictions = metrics, y, order, predictions
        self.loss_sum, self.rows, self._fed = 0.0, 0, 0
        for metric in metrics:
            metric.reset_state()

    def logs(self):
        if self.rows > self._fed and self.metrics:
            rows = slice(self._fed, self.rows)
            y_true = self.y[rows] if self.order is None else self.y[self.order[rows]]
            for metric in self.metrics:
                metric.update_state(y_true, self.predictions[rows])
            self._fed = self.rows
        logs = {"loss": self.loss_sum / self.rows if self.rows else 0.0}
        logs.update((metric.name, float(metric.result())) for metric in self.metrics)
        return dict(sorted(logs.items()))


def train_step_function(plan, backend, x, y, weights, predictions, regularization, update):
    """step(rows, start) -> loss: one training step on x[rows]; predictions[start:] keeps
    the outputs for the metrics (when given)."""
    xb, yb, out = plan.x, plan.targets, plan.y
    # Bound ndarray.take is ~5x cheaper per call than np.take; "clip" skips index buffering.
    take_x, take_y, loss = x.take, y.take, backend.loss
    take_w, wb = (weights.take, plan.weights) if weights is not None else (None, None)
    forward, backward = plan.forward, plan.backward
    grad, loss_input, kind, delta = plan.grad, plan.loss_input, plan.loss_kind, plan.delta
    batch = len(xb)

    def step(rows, start):
        take_x(rows, 0, xb, "clip")
        take_y(rows, 0, yb, "clip")
        if take_w is not None:
            take_w(rows, 0, wb, "clip")
        for function, args in forward:
            function(*args)
        value = loss(grad, loss_input, yb, kind, wb, delta)
        for function, args in backward:
            function(*args)
        if regularization is not None:
            value += regularization()
        update()
        if predictions is not None:
            predictions[start:start + batch] = out
        return value
    return step


def test_step_function(plan, backend, x, y, weights, predictions):
    """step(start) -> loss of rows start:start + batch, outputs kept in predictions."""
    loss, xb, out, forward = backend.loss, plan.x, plan.y, plan.forward
    loss_input, kind, delta, batch = plan.loss_input, plan.loss_kind, plan.delta, len(plan.x)

    def step(start):
        stop = start + batch
        xb[...] = x[start:stop]
        for function, args in forward:
            function(*args)
        predictions[start:stop] = out
        w = None if weights is None else weights[start:stop]
        return loss(None, loss_input, y[start:stop], kind, w, delta)
    return step


def predict_step_function(plan, x, out):
    xb, y, forward, batch = plan.x, plan.y, plan.forward, len(plan.x)

    def step(start):
        xb[...] = x[start:start + batch]
        for function, args in forward:
            function(*args)
        out[start:start + batch] = y
    return step


def regularization_function(model):
    """A function adding the regularizers' gradients and returning their penalty, or None."""
    terms = [(regularizer, getattr(layer, variable), layer._grads[variable])
             for layer in model.layers if layer.trainable
             for variable in layer._variables
             if (regularizer := layer._regularizer(variable)) is not None]
    if not terms:
        return None
    terms = [(r, w, g, np.empty_like(w)) for r, w, g in terms]

    def regularize():
        penalty = 0.0
        for regularizer, weights, grad, scratch in terms:
            penalty += regularizer.penalty(weights, scratch)
            regularizer.add_gradient(grad, weights, scratch)
        return penalty
    return regularize


def batches(rows, batch_size):
    """(start, size) of each batch; the last one may be partial."""
    return [(start, min(batch_size, rows - start)) for start in range(0, rows, batch_size)]



# ---- input checks: every argument is validated and converted before a model changes --------

def as_inputs(x, name, dtype, sample_shape=None):
    """x as a C-contiguous float array (samples, ...) of dtype; ints and bools are converted
    as Keras does, anything else raises TypeError, a wrong shape or NaN ValueError."""
    array = _as_numeric(x, name)
    if array.ndim < 2:
        raise ValueError(f"{name}: expected an array of samples (samples, features), received "
                         f"shape {array.shape}; pass one sample as x.reshape(1, -1)")
    if sample_shape is not None and array.shape[1:] != tuple(sample_shape):
        raise ValueError(f"{name}: expected samples of shape {tuple(sample_shape)} (the model's "
                         f"input), received an array of shape {array.shape}")
    if len(array) == 0:
        raise ValueError(f"{name}: expected at least one sample, received shape {array.shape}")
    array = np.ascontiguousarray(array, dtype=dtype)
    _require_finite(array, name)
    return array


def as_targets(y, loss, outputs, rows, dtype, name="y"):
    """y in the form the loss kernel takes: int64 labels (rows,) for the sparse losses, else
    (rows, outputs) floats; (rows,) is accepted for a single output."""
    array = _as_numeric(y, name)
    if array.ndim == 0 or len(array) != rows:
        received = len(array) if array.ndim else "a scalar"
        raise ValueError(f"x and {name}: expected the same number of samples, received {rows} "
                         f"and {received}")
    if loss.sparse:
        if array.ndim == 2 and array.shape[1] == 1:
            array = array[:, 0]
        if array.ndim != 1:
            raise ValueError(f"{name}: {loss.name} expects integer class labels of shape "
                             f"({rows},), received shape {array.shape}; one-hot targets need "
                             f"categorical_crossentropy")
        _require_finite(array, name)
        if array.dtype.kind == "f" and not np.array_equal(array, np.round(array)):
            raise ValueError(f"{name}: expected integer class labels, received fractions")
        low, high = array.min(), array.max()
        if low < 0 or high >= outputs:
            raise ValueError(f"{name}: expected class labels in [0, {outputs}) for the model's "
                             f"{outputs} outputs, received {high if high >= outputs else low:g}")
        return np.ascontiguousarray(array, dtype=np.int64)
    if array.ndim == 1 and outputs == 1:
        array = array[:, None]
    if array.shape != (rows, outputs):
        hint = ("; integer class labels need sparse_categorical_crossentropy or "
                "nerve.utils.to_categorical" if array.ndim == 1 else "")
        raise ValueError(f"{name}: expected shape ({rows}, {outputs}) to match the model's "
                         f"{outputs} outputs, received shape {array.shape}{hint}")
    array = np.ascontiguousarray(array, dtype=dtype)
    _require_finite(array, name)
    return array


def as_sample_weights(sample_weight, class_weight, y, rows, dtype):
    """Per-sample weights (rows,) from sample_weight times class_weight[class of y], or None."""
    if sample_weight is None and class_weight is None:
        return None
    weights = np.ones(rows)
    if sample_weight is not None:
        given = _as_numeric(sample_weight, "sample_weight")
        if given.ndim == 2 and given.shape[1] == 1:
            given = given[:, 0]
        if given.shape != (rows,):
            raise ValueError(f"sample_weight: expected shape ({rows},), received {given.shape}")
        _require_finite(given, "sample_weight")
        if (given < 0).any():
            raise ValueError("sample_weight: expected weights >= 0, received a negative weight")
        weights *= given
    if class_weight is not None:
        weights *= _class_weights(class_weight, y)
    return np.ascontiguousarray(weights, dtype=dtype)


def _class_weights(class_weight, y):
    if not isinstance(class_weight, dict):
        raise TypeError(f"class_weight: expected a dict {{class: weight}}, received "
                        f"{type(class_weight).__name__}")
    if y.ndim == 1:
        classes = y
    elif y.shape[1] == 1:
        classes = np.round(y[:, 0]).astype(np.int64)
    else:
        classes = y.argmax(axis=1)
    table = {int(k): float(v) for k, v in class_weight.items()}
    missing = sorted(set(np.unique(classes).tolist()) - set(table))
    if missing:
        raise ValueError(f"class_weight: expected a weight for every class in y, missing "
                         f"{missing}")
    if any(not np.isfinite(v) or v < 0 for v in table.values()):
        raise ValueError("class_weight: expected finite weights >= 0")
    lookup = np.zeros(max(table) + 1 if table else 0)
    for k, v in table.items():
        if k >= 0:
            lookup[k] = v
    return lookup[classes]


def _as_numeric(value, name):
    if value is None:
        raise ValueError(f"{name}: expected an array, received None")
    try:
        array = value if isinstance(value, np.ndarray) else np.asarray(value)
    except ValueError as error:
        raise ValueError(f"{name}: expected a rectangular array, received {error}") from None
    if array.dtype.kind not in "biuf":
        raise TypeError(f"{name}: expected numbers (float, int or bool), received dtype "
                        f"{array.dtype}")
    return array


def _require_finite(array, name):
    # A float64 sum is finite exactly when no element is NaN or infinite (for any data that
    # does not sum past 1e308), and costs no temporary array.
    if array.dtype.kind == "f" and not np.isfinite(array.sum(dtype=np.float64)):
        bad = np.argwhere(~np.isfinite(array))
        if len(bad):
            index = tuple(int(i) for i in bad[0])
            raise ValueError(f"{name}: expected finite numbers, received {array[index]} at "
                             f"index {index}")
