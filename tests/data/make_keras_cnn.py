"""Make the Keras 3 reference numbers in keras_cnn.npz / keras_cnn.json: two small convnets with
BatchNormalization trained from fixed weights on fixed batches.

tests/test_keras_cnn_agreement.py reads the two files; it never imports Keras. This script is
only needed to regenerate them, with real Keras 3 on the torch backend:

    python3 -m venv /tmp/kerasenv
    /tmp/kerasenv/bin/pip install torch==2.13.0   # the CPU wheel
    /tmp/kerasenv/bin/pip install keras numpy h5py
    KERAS_BACKEND=torch /tmp/kerasenv/bin/python tests/data/make_keras_cnn.py

(The files were made with Keras 3.15.1, torch 2.13.0+cpu, NumPy 2.4.6; the JSON records the
versions.)

Models (float32, layer names given so weight paths are fixed):

* cnn_bn, a Sequential named "cnn_bn": Input((10, 10, 2)) -> Conv2D(4, 3, padding="same",
  name="conv1") -> BatchNormalization(name="bn") -> Activation("relu", name="relu")
  -> MaxPooling2D(2, name="pool") -> Conv2D(6, 3, strides=2, activation="relu", name="conv2")
  -> GlobalAveragePooling2D(name="gap") -> Dense(3, activation="softmax", name="out").
* cnn_dilated, functional, named "cnn_dilated": Input((9, 9, 1), name="x") -> Conv2D(5, 2,
  padding="same", use_bias=False, name="conv1") (an even kernel: "same" pads one more after)
  -> BatchNormalization(momentum=0.9, epsilon=1e-2, name="bn") -> Activation("relu",
  name="relu") -> Conv2D(4, 3, dilation_rate=2, activation="relu", name="conv2")
  -> MaxPooling2D(2, strides=1, name="pool") -> Flatten(name="flatten")
  -> Dense(3, activation="softmax", name="out").

Both: compile(optimizer=OPTIMIZERS[model], loss="categorical_crossentropy", metrics=["accuracy"])
(cnn_bn SGD(0.05, momentum=0.9), cnn_dilated Adam(0.01));
fit(x, y, batch_size=16, epochs=3, shuffle=False, verbose=0).

Initial weights (per model, ``rng = np.random.default_rng(SEEDS[model])``), layer by layer in
``INIT_ORDER``, each layer's weights in get_weights() order, drawn in that order:

    kernel = rng.uniform(-0.5, 0.5, shape); bias = rng.uniform(-0.1, 0.1, shape)
    gamma = rng.uniform(0.8, 1.2, shape);   beta = rng.uniform(-0.1, 0.1, shape)
    moving_mean = zeros; moving_variance = ones   (Keras's initial values; nothing drawn)

all cast to float32. The npz stores them anyway.

Data (``drng = np.random.default_rng(DATA_SEEDS[model])``), 64 rows:

    x = drng.standard_normal((64, *input_shape)).astype(float32)
    cls = (x[:, :h // 2].mean(axis=(1, 2, 3)) > 0) + (x[:, :, :w // 2, -1].mean(axis=(1, 2)) > 0)
    y = np.eye(3, dtype=float32)[cls]

npz keys: "<model>/x", "<model>/y", "<model>/initial/<layer>/<weight>" and
"<model>/final/<layer>/<weight>" (weight: kernel, bias, gamma, beta, moving_mean,
moving_variance), "<model>/history/<key>" (per epoch, float64), "<model>/pred" (predict() on x
after training: inference mode, moving statistics), "<model>/pred_training" (model(x,
training=True) on all 64 rows, batch statistics; made last, as it also moves the statistics).
The JSON: versions, seeds, init order, weight names per layer, fit arguments, history keys,
evaluate() after training, summary() before fit, weight paths, layer names, layer configs.
"""
import json
import os

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))

SEEDS = {"cnn_bn": 404, "cnn_dilated": 505}
DATA_SEEDS = {"cnn_bn": 1404, "cnn_dilated": 1505}
INPUT_SHAPES = {"cnn_bn": (10, 10, 2), "cnn_dilated": (9, 9, 1)}
INIT_ORDER = {"cnn_bn": ["conv1", "bn", "conv2", "out"],
              "cnn_dilated": ["conv1", "bn", "conv2", "out"]}
FIT = dict(batch_size=16, epochs=3)
# cnn_bn's conv1 bias sits before BatchNormalization, which subtracts it again: its true
# gradient is 0 and what is left is rounding noise, which Adam would scale up to full-size
# steps that differ between any two libraries. SGD with momentum leaves noise at noise size.
OPTIMIZERS = {"cnn_bn": ("SGD", dict(learning_rate=0.05, momentum=0.9)),
              "cnn_dilated": ("Adam", dict(learning_rate=0.01))}
RANGES = {"kernel": (-0.5, 0.5), "bias": (-0.1, 0.1), "gamma": (0.8, 1.2), "beta": (-0.1, 0.1)}
f32 = np.float32


def summary_text(model):
    lines = []
    model.summary(print_fn=lambda s, **kw: lines.append(s))
    return "\n".join(lines)


# The builders take the Keras module, or nerve: tests/test_keras_cnn_agreement.py builds the
# same models from this one copy with build(nerve).
def build_cnn_bn(k):
    return k.Sequential([
        k.Input(INPUT_SHAPES["cnn_bn"]),
        k.layers.Conv2D(4, 3, padding="same", name="conv1"),
        k.layers.BatchNormalization(name="bn"),
        k.layers.Activation("relu", name="relu"),
        k.layers.MaxPooling2D(2, name="pool"),
        k.layers.Conv2D(6, 3, strides=2, activation="relu", name="conv2"),
        k.layers.GlobalAveragePooling2D(name="gap"),
        k.layers.Dense(3, activation="softmax", name="out"),
    ], name="cnn_bn")


def build_cnn_dilated(k):
    x = k.Input(INPUT_SHAPES["cnn_dilated"], name="x")
    h = k.layers.Conv2D(5, 2, padding="same", use_bias=False, name="conv1")(x)
    h = k.layers.BatchNormalization(momentum=0.9, epsilon=1e-2, name="bn")(h)
    h = k.layers.Activation("relu", name="relu")(h)
    h = k.layers.Conv2D(4, 3, dilation_rate=2, activation="relu", name="conv2")(h)
    h = k.layers.MaxPooling2D(2, strides=1, name="pool")(h)
    h = k.layers.Flatten(name="flatten")(h)
    return k.Model(x, k.layers.Dense(3, activation="softmax", name="out")(h),
                   name="cnn_dilated")


BUILDERS = {"cnn_bn": build_cnn_bn, "cnn_dilated": build_cnn_dilated}


def make_data(name):
    drng = np.random.default_rng(DATA_SEEDS[name])
    h, w, _ = INPUT_SHAPES[name]
    x = drng.standard_normal((64, *INPUT_SHAPES[name])).astype(f32)
    cls = ((x[:, :h // 2].mean(axis=(1, 2, 3)) > 0).astype(int)
           + (x[:, :, :w // 2, -1].mean(axis=(1, 2)) > 0))
    return x, np.eye(3, dtype=f32)[cls]


def weight_name(variable):
    return variable.path.rsplit("/", 1)[-1]


def init_weights(model, name):
    """{layer: {weight name: initial value}}, set on the model."""
    rng = np.random.default_rng(SEEDS[name])
    init = {}
    for layer_name in INIT_ORDER[name]:
        layer = model.get_layer(layer_name)
        values = {}
        for variable in layer.weights:
            key, shape = weight_name(variable), tuple(variable.shape)
            if key in RANGES:
                values[key] = rng.uniform(*RANGES[key], shape).astype(f32)
            else:
                values[key] = (np.zeros if key == "moving_mean" else np.ones)(shape, f32)
        layer.set_weights(list(values.values()))
        init[layer_name] = values
    return init


def main():
    os.environ.setdefault("KERAS_BACKEND", "torch")
    os.environ["COLUMNS"] = "80"  # summary() is drawn with rich, as wide as $COLUMNS
    import keras
    import torch

    arrays = {}
    info = {"keras_version": keras.__version__, "torch_version": torch.__version__,
            "numpy_version": np.__version__, "backend": keras.backend.backend(),
            "seeds": SEEDS, "data_seeds": DATA_SEEDS, "input_shapes": INPUT_SHAPES,
            "init_order": INIT_ORDER, "fit": FIT, "models": {}}
    for name, build in BUILDERS.items():
        model = build(keras)
        x, y = make_data(name)
        init = init_weights(model, name)
        summary = summary_text(model)
        kind, options = OPTIMIZERS[name]
        model.compile(optimizer=getattr(keras.optimizers, kind)(**options),
                      loss="categorical_crossentropy", metrics=["accuracy"])
        history = model.fit(x, y, shuffle=False, verbose=0, **FIT)
        arrays[f"{name}/x"], arrays[f"{name}/y"] = x, y
        for layer_name, values in init.items():
            final = model.get_layer(layer_name).get_weights()
            for (key, value), trained in zip(values.items(), final):
                arrays[f"{name}/initial/{layer_name}/{key}"] = value
                arrays[f"{name}/final/{layer_name}/{key}"] = np.asarray(trained, f32)
        for key, values in history.history.items():
            arrays[f"{name}/history/{key}"] = np.asarray(values, np.float64)
        arrays[f"{name}/pred"] = np.asarray(model.predict(x, verbose=0), f32)
        evaluate = model.evaluate(x, y, batch_size=FIT["batch_size"], return_dict=True,
                                  verbose=0)
        info["models"][name] = {
            "weight_names": {n: list(v) for n, v in init.items()},
            "history_keys": sorted(history.history),
            "evaluate": {k: float(v) for k, v in evaluate.items()},
            "summary": summary,
            "weight_paths": [w.path for w in model.weights],
            "layer_names": [layer.name for layer in model.layers],
            "layer_configs": {layer.name: layer.get_config() for layer in model.layers},
        }
        arrays[f"{name}/pred_training"] = np.asarray(
            model(x, training=True).detach().cpu().numpy(), f32)

    np.savez_compressed(os.path.join(HERE, "keras_cnn.npz"), **arrays)
    with open(os.path.join(HERE, "keras_cnn.json"), "w") as fh:
        json.dump(info, fh, indent=1, default=str)
        fh.write("\n")


if __name__ == "__main__":
    main()
