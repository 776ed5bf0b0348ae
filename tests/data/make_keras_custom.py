"""Make the Keras 3 reference numbers in keras_custom.npz / keras_custom.json.

These are training runs that use the user's *own* code: a custom `Layer` subclass with
`add_weight`, a layer with a non-trainable state variable updated with `assign()` during
training and an `add_loss()` activity loss, a plain-function loss, a plain-function metric, a
`Metric` subclass, and a `Loss` subclass.  Nerve's tests (tests/test_keras_custom.py) read the
two files; they never import Keras.  This script is only needed to regenerate them, with real
Keras 3 on the torch backend:

    python3 -m venv /tmp/kerasenv
    /tmp/kerasenv/bin/pip install torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu
    /tmp/kerasenv/bin/pip install keras numpy h5py
    KERAS_BACKEND=torch /tmp/kerasenv/bin/python tests/data/make_keras_custom.py

(The numbers in the files were made with Keras 3.15.1, torch 2.13.0+cpu, NumPy 2.4.6; the
exact versions are also recorded in the JSON.)

Everything a test needs to rebuild the runs without Keras is spelled out here.

The custom code
---------------
All custom classes and functions are defined in the section "THE USER'S CODE" below, written
only with `keras.ops`, `keras.layers.Layer`, `keras.losses.Loss` and `keras.metrics.Metric`,
and registered with `@keras.saving.register_keras_serializable()` (package "Custom", so their
registered names are "Custom>Linear", "Custom>RunningMean", ...).  The nerve test defines the
same code with `import nerve as keras` / `from nerve import ops`; nothing else changes.

Models (float32, functional, layer names given explicitly so weight paths are fixed):

* custom_layer:  Input((6,), name="x") -> Linear(8, "relu", name="hidden")
                 -> RunningMean(name="running_mean") -> Linear(1, name="logit")
                 -> keras.layers.Activation("sigmoid", name="prob");  Model name "custom_layer".
  compile(optimizer=Adam(learning_rate=0.01), loss=smooth_bce,
          metrics=["accuracy", abs_error, PositiveRate()])
* custom_loss_class: Input((4,), name="x") -> Linear(5, "relu", name="hidden")
                 -> Linear(2, name="out");  Model name "custom_loss_class".
  compile(optimizer=SGD(learning_rate=0.05, momentum=0.9), loss=WeightedSquare(),
          metrics=["mae"])

Initial weights (per model, ``rng = np.random.default_rng(SEEDS[model])``): for each Linear
layer in the order given in ``INIT_ORDER``:

    kernel = rng.uniform(-0.5, 0.5, (fan_in, units)).astype(np.float32)
    bias   = rng.uniform(-0.1, 0.1, (units,)).astype(np.float32)

(kernel drawn first, then bias, then the next layer).  RunningMean's `mean` starts at zeros
(nothing is drawn for it).  All initial values are also stored in the npz.

Data (per model, ``drng = np.random.default_rng(DATA_SEEDS[model])``, draws in this order):

* custom_layer (64 rows): x = drng.standard_normal((64, 6)).astype(float32);
  y = (x[:, 0] - x[:, 3] > 0).astype(float32).reshape(64, 1)
* custom_loss_class (40 rows): x = drng.standard_normal((40, 4)).astype(float32);
  sample_weight = drng.uniform(0.5, 1.5, 40).astype(float32);
  y = (x[:, :2] * 1.5 - x[:, 2:]).astype(float32)          # shape (40, 2)

Training: ``fit(x, y, batch_size=..., epochs=..., shuffle=False, verbose=0)`` with ``FIT``
below; custom_loss_class also passes ``sample_weight=sample_weight`` to fit.
After fit: ``predict(x, verbose=0)``; ``evaluate(x, y, batch_size=<fit's>, return_dict=True,
verbose=0)`` (stored under "evaluate"), the same as a list (``"evaluate_list"``, in
``metrics_names`` order); for custom_loss_class also evaluate with
``sample_weight=sample_weight`` (``"evaluate_weighted"``).

Then the script saves the model (``model.save(<tmp>/m.keras)``), loads it with
``keras.models.load_model`` and checks that predict() and evaluate() give the same numbers.

npz keys: "<model>/x", "<model>/y", "<model>/sample_weight" (custom_loss_class),
"<model>/initial/<weight path>" and "<model>/final/<weight path>" for every weight of
``model.weights`` (paths such as "hidden/kernel", "running_mean/mean"; their order is
``weight_paths`` in the JSON), "<model>/history/<history key>" (one value per epoch,
float64), "<model>/pred": predict() on the training inputs with the final weights.

Keras behaviour these numbers show (a reimplementation must match it):

* The compiled loss is reduced "sum_over_batch_size": the per-sample values the function (or
  `Loss.call`) returns, times sample_weight if given, summed and divided by the number of rows
  in the batch -- *not* by the sum of the weights.
* The `add_loss()` value of the forward pass is added to that loss, in fit (and so to the
  gradient) and in evaluate, and is in the logged "loss" (checked here with NumPy: the
  stored "observed" numbers).  RunningMean's `mean` is assigned only in training steps
  (training=True), once per batch, from the batch's forward pass before the update.
* The logged "loss" of an epoch (and evaluate's) is the mean of the per-batch losses weighted
  by the rows in each batch; the other history values are the metrics' states accumulated over
  the epoch (reset at each epoch's start; they see the predictions of the forward pass of
  each training step, i.e. before that step's update).
* sample_weight given to fit/evaluate enters the loss only: metrics passed as
  `compile(metrics=...)` are *unweighted* (only `weighted_metrics=` would be weighted), so
  "mae" of custom_loss_class is the same in evaluate and evaluate_weighted.
* "accuracy" with a custom loss and a (batch, 1) output is binary accuracy (threshold 0.5);
  its key stays "accuracy".  A plain-function metric is logged under its __name__
  ("abs_error"); the Metric subclass under its name ("positive_rate").
* y_true reaches the loss function as float32 (y_pred's dtype; float64 targets are cast)
  with y_pred's rank (batch, 1).
* model.weights orders each layer's weights in layer order (trainable then non-trainable
  within a layer): hidden/kernel, hidden/bias, running_mean/mean, logit/kernel, logit/bias.
* metrics_names is ["loss", "compile_metrics"]; evaluate() as a list gives loss then the
  metrics in compile order.

JSON: versions, seeds, fit settings, and per model: history_keys, history, weight_paths,
trainable_weight_paths, non_trainable_weight_paths, layer_names, metrics_names, evaluate,
evaluate_list (and evaluate_weighted), get_config, and a few observed facts ("observed").
"""

import json
import os
import tempfile

os.environ.setdefault("KERAS_BACKEND", "torch")

import numpy as np  # noqa: E402
import keras  # noqa: E402
from keras import ops  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))

SEEDS = {"custom_layer": 401, "custom_loss_class": 402}
DATA_SEEDS = {"custom_layer": 1401, "custom_loss_class": 1402}
INIT_ORDER = {"custom_layer": ["hidden", "logit"], "custom_loss_class": ["hidden", "out"]}
FIT = {
    "custom_layer": dict(batch_size=16, epochs=5),
    "custom_loss_class": dict(batch_size=8, epochs=4),
}

f32 = np.float32


# ---------------------------------------------------------------------------------------------
# THE USER'S CODE.  tests/test_keras_custom.py repeats this section with `import nerve as keras`
# and `from nerve import ops`; keep the two copies the same.
# ---------------------------------------------------------------------------------------------

@keras.saving.register_keras_serializable()
class Linear(keras.layers.Layer):
    def __init__(self, units, activation=None, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.activation = activation

    def build(self, input_shape):
        self.kernel = self.add_weight(shape=(input_shape[-1], self.units),
                                      initializer="glorot_uniform", name="kernel")
        self.bias = self.add_weight(shape=(self.units,), initializer="zeros", name="bias")

    def call(self, x):
        y = ops.matmul(x, self.kernel) + self.bias
        if self.activation == "relu":
            y = ops.relu(y)
        return y

    def get_config(self):
        config = super().get_config()
        config.update({"units": self.units, "activation": self.activation})
        return config


@keras.saving.register_keras_serializable()
class RunningMean(keras.layers.Layer):
    def build(self, input_shape):
        self.mean = self.add_weight(shape=(input_shape[-1],), initializer="zeros",
                                    trainable=False, name="mean")

    def call(self, x, training=None):
        if training:
            self.mean.assign(0.9 * self.mean + 0.1 * ops.mean(x, axis=0))
        self.add_loss(1e-3 * ops.mean(ops.square(x)))
        return x


@keras.saving.register_keras_serializable()
def smooth_bce(y_true, y_pred):
    y_pred = ops.clip(y_pred, 1e-6, 1 - 1e-6)
    return -ops.mean(y_true * ops.log(y_pred) + (1 - y_true) * ops.log(1 - y_pred), axis=-1)


@keras.saving.register_keras_serializable()
def abs_error(y_true, y_pred):
    return ops.mean(ops.abs(y_true - y_pred), axis=-1)


@keras.saving.register_keras_serializable()
class PositiveRate(keras.metrics.Metric):
    def __init__(self, name="positive_rate", **kwargs):
        super().__init__(name=name, **kwargs)
        self.count = self.add_weight(shape=(), initializer="zeros", name="count")
        self.total = self.add_weight(shape=(), initializer="zeros", name="total")

    def update_state(self, y_true, y_pred, sample_weight=None):
        self.count.assign_add(ops.sum(ops.cast(ops.greater(y_pred, 0.5), "float32")))
        self.total.assign_add(ops.cast(ops.size(y_pred), "float32"))

    def result(self):
        return self.count / self.total

    def reset_state(self):
        self.count.assign(0.0)
        self.total.assign(0.0)


@keras.saving.register_keras_serializable()
class WeightedSquare(keras.losses.Loss):
    def __init__(self, scale=2.0, name="weighted_square", **kwargs):
        super().__init__(name=name, **kwargs)
        self.scale = scale

    def call(self, y_true, y_pred):
        return (self.scale * ops.mean(ops.square(y_true - y_pred), axis=-1)
                + ops.mean(ops.abs(y_pred), axis=-1) * 0.01)

    def get_config(self):
        config = super().get_config()
        config.update({"scale": self.scale})
        return config


def build_custom_layer():
    inp = keras.Input((6,), name="x")
    h = Linear(8, "relu", name="hidden")(inp)
    h = RunningMean(name="running_mean")(h)
    h = Linear(1, name="logit")(h)
    out = keras.layers.Activation("sigmoid", name="prob")(h)
    model = keras.Model(inp, out, name="custom_layer")
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=0.01), loss=smooth_bce,
                  metrics=["accuracy", abs_error, PositiveRate()])
    return model


def build_custom_loss_class():
    inp = keras.Input((4,), name="x")
    h = Linear(5, "relu", name="hidden")(inp)
    out = Linear(2, name="out")(h)
    model = keras.Model(inp, out, name="custom_loss_class")
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.05, momentum=0.9),
                  loss=WeightedSquare(), metrics=["mae"])
    return model

# ---------------------------------------------------------------------------------------------
# END OF THE USER'S CODE
# ---------------------------------------------------------------------------------------------


def make_data(name):
    drng = np.random.default_rng(DATA_SEEDS[name])
    if name == "custom_layer":
        x = drng.standard_normal((64, 6)).astype(f32)
        y = (x[:, 0] - x[:, 3] > 0).astype(f32).reshape(64, 1)
        return x, y, None
    if name == "custom_loss_class":
        x = drng.standard_normal((40, 4)).astype(f32)
        sw = drng.uniform(0.5, 1.5, 40).astype(f32)
        y = (x[:, :2] * 1.5 - x[:, 2:]).astype(f32)
        return x, y, sw
    raise KeyError(name)


def init_weights(model, name):
    rng = np.random.default_rng(SEEDS[name])
    for lname in INIT_ORDER[name]:
        layer = model.get_layer(lname)
        k = rng.uniform(-0.5, 0.5, tuple(layer.kernel.shape)).astype(f32)
        b = rng.uniform(-0.1, 0.1, tuple(layer.bias.shape)).astype(f32)
        layer.set_weights([k, b])
    if name == "custom_layer":
        rm = model.get_layer("running_mean")
        rm.set_weights([np.zeros(tuple(rm.mean.shape), f32)])
    return {w.path: np.asarray(w.numpy(), dtype=f32).copy() for w in model.weights}


def numpy_eval_check(arrays, name, x, y, batch_size):
    """Recompute custom_layer's evaluate() loss from the final weights with NumPy: smooth_bce
    (sum_over_batch_size) plus the add_loss term, averaged over batches weighted by batch
    size.  Confirms that evaluate's loss includes the add_loss term."""
    k1, b1 = arrays[f"{name}/final/hidden/kernel"], arrays[f"{name}/final/hidden/bias"]
    k2, b2 = arrays[f"{name}/final/logit/kernel"], arrays[f"{name}/final/logit/bias"]
    total, rows, bce_total = 0.0, 0, 0.0
    for i in range(0, len(x), batch_size):
        xb, yb = x[i:i + batch_size].astype(np.float64), y[i:i + batch_size]
        h = np.maximum(xb @ k1 + b1, 0)
        p = np.clip(1 / (1 + np.exp(-(h @ k2 + b2))), 1e-6, 1 - 1e-6)
        bce = -np.mean(yb * np.log(p) + (1 - yb) * np.log(1 - p), axis=-1).mean()
        extra = 1e-3 * np.mean(h ** 2)
        total += (bce + extra) * len(xb)
        bce_total += bce * len(xb)
        rows += len(xb)
    return total / rows, bce_total / rows


def main():
    import torch

    arrays = {}
    info = {
        "keras_version": keras.__version__,
        "torch_version": torch.__version__,
        "numpy_version": np.__version__,
        "backend": keras.backend.backend(),
        "seeds": SEEDS,
        "data_seeds": DATA_SEEDS,
        "init_order": INIT_ORDER,
        "fit": FIT,
        "models": {},
    }
    builders = {"custom_layer": build_custom_layer,
                "custom_loss_class": build_custom_loss_class}
    for name, build in builders.items():
        model = build()
        x, y, sw = make_data(name)
        init = init_weights(model, name)
        fit_kw = dict(FIT[name])
        if sw is not None:
            fit_kw["sample_weight"] = sw
        hist = model.fit(x, y, shuffle=False, verbose=0, **fit_kw)
        pred = np.asarray(model.predict(x, verbose=0), dtype=f32)
        bs = FIT[name]["batch_size"]
        ev = model.evaluate(x, y, batch_size=bs, return_dict=True, verbose=0)
        ev_list = model.evaluate(x, y, batch_size=bs, verbose=0)
        entry = {
            "history_keys": sorted(hist.history.keys()),
            "history": {k: [float(v) for v in vals] for k, vals in hist.history.items()},
            "weight_paths": [w.path for w in model.weights],
            "trainable_weight_paths": [w.path for w in model.trainable_weights],
            "non_trainable_weight_paths": [w.path for w in model.non_trainable_weights],
            "layer_names": [l.name for l in model.layers],
            "metrics_names": list(model.metrics_names),
            "evaluate": {k: float(v) for k, v in ev.items()},
            "evaluate_list": [float(v) for v in np.atleast_1d(ev_list)],
            "evaluate_batch_size": bs,
            "get_config": model.get_config(),
            "observed": {},
        }
        if sw is not None:
            evw = model.evaluate(x, y, batch_size=bs, sample_weight=sw, return_dict=True,
                                 verbose=0)
            entry["evaluate_weighted"] = {k: float(v) for k, v in evw.items()}
            arrays[f"{name}/sample_weight"] = sw

        arrays[f"{name}/x"] = x
        arrays[f"{name}/y"] = y
        arrays[f"{name}/pred"] = pred
        for path, value in init.items():
            arrays[f"{name}/initial/{path}"] = value
        for w in model.weights:
            arrays[f"{name}/final/{w.path}"] = np.asarray(w.numpy(), dtype=f32)
        for k, vals in hist.history.items():
            arrays[f"{name}/history/{k}"] = np.asarray(vals, dtype=np.float64)

        if name == "custom_layer":
            with_extra, bce_only = numpy_eval_check(arrays, name, x, y, bs)
            entry["observed"]["evaluate_loss_numpy_with_add_loss"] = with_extra
            entry["observed"]["evaluate_loss_numpy_without_add_loss"] = bce_only
            assert abs(with_extra - ev["loss"]) < 1e-5, (with_extra, ev["loss"], bce_only)
            # what y_true looks like inside a plain-function loss
            seen = {}

            def probe(y_true, y_pred):
                seen["dtype"] = str(y_true.dtype)
                seen["shape"] = tuple(y_true.shape)
                return ops.mean(ops.square(y_true - y_pred), axis=-1)

            m2 = keras.Model(model.inputs, model.outputs)
            m2.compile(optimizer="sgd", loss=probe)
            m2.evaluate(x, y.astype(np.float64), batch_size=bs, verbose=0)
            entry["observed"]["y_true_dtype_in_loss_for_float64_targets"] = seen["dtype"]
            entry["observed"]["y_true_shape_in_loss"] = list(seen["shape"])
            entry["observed"]["model.losses_after_predict"] = len(model.losses)

        # save / load round trip in Keras itself
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "m.keras")
            model.save(path)
            loaded = keras.models.load_model(path)
            np.testing.assert_allclose(loaded.predict(x, verbose=0), pred, rtol=1e-6,
                                       atol=1e-7)
            ev2 = loaded.evaluate(x, y, batch_size=bs, return_dict=True, verbose=0)
            for k, v in ev.items():
                assert abs(float(ev2[k]) - float(v)) < 1e-6, (k, ev2[k], v)
            entry["observed"]["loaded_layer_classes"] = [type(l).__name__
                                                         for l in loaded.layers]
            entry["observed"]["loaded_loss"] = getattr(loaded.loss, "__name__",
                                                       type(loaded.loss).__name__)
        info["models"][name] = entry

    np.savez_compressed(os.path.join(HERE, "keras_custom.npz"), **arrays)
    with open(os.path.join(HERE, "keras_custom.json"), "w") as fh:
        json.dump(info, fh, indent=1, sort_keys=False, default=str)
        fh.write("\n")
    print(f"{len(arrays)} arrays written")


if __name__ == "__main__":
    main()
