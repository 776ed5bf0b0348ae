"""Make the Keras 3 reference numbers in keras_agreement.npz / keras_agreement.json.

Nerve's tests read those two files; they never import Keras.  This script is
only needed to regenerate them, with real Keras 3 on the torch backend:

    python3 -m venv /tmp/kerasenv
    /tmp/kerasenv/bin/pip install torch==2.13.0   # the CPU wheel
    /tmp/kerasenv/bin/pip install keras numpy h5py
    KERAS_BACKEND=torch /tmp/kerasenv/bin/python tests/data/make_keras_agreement.py

Everything a test needs to rebuild the runs without Keras is spelled out here.

Initial weights (per model, ``rng = np.random.default_rng(SEED)``): for each
Dense layer in the order given in ``INIT_ORDER``:

    kernel = rng.uniform(-0.5, 0.5, (fan_in, units)).astype(np.float32)
    bias   = rng.uniform(-0.1, 0.1, (units,)).astype(np.float32)

(kernel drawn first, then bias, then the next layer).

Data (per model, ``drng = np.random.default_rng(DATA_SEED)``, draws in this order):

* residual  (64 rows): x = drng.standard_normal((64, 6)).astype(float32);
  y = (x[:, 0] + x[:, 1] * x[:, 2] > 0).astype(float32).reshape(64, 1)
* two_input (48 rows): a = drng.standard_normal((48, 5)).astype(float32);
  b = drng.standard_normal((48, 3)).astype(float32);
  cls = drng.integers(0, 3, 48); y = np.eye(3, dtype=float32)[cls]
* multi_output (40 rows): x = drng.standard_normal((40, 4)).astype(float32);
  p = (x[:, 0] > 0).astype(float32).reshape(40, 1);
  noise = drng.normal(0.0, 0.1, (40, 2)); r = (x[:, 1:3] * 2 + noise).astype(float32)

Training: ``fit(..., shuffle=False, verbose=0)``, batch sizes / epochs below.
The multi-output model uses a *dict* of outputs {"p": ..., "r": ...}.

npz keys: "<model>/<input name>" (x; or a, b), "<model>/y" (or "<model>/y/p",
"<model>/y/r"), "<model>/initial/<layer>/kernel|bias",
"<model>/final/<layer>/kernel|bias", "<model>/history/<history key>" (one value
per epoch, float64), "<model>/pred" (or "<model>/pred/p", "<model>/pred/r"):
predict() on the training inputs with the final weights.
"""

import json
import os

os.environ.setdefault("KERAS_BACKEND", "torch")
# model.summary() draws its table with rich, whose width follows $COLUMNS;
# pin it so the summary text in the JSON does not depend on the terminal.
os.environ["COLUMNS"] = "80"

import numpy as np  # noqa: E402
import keras  # noqa: E402
from keras import layers  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))

SEEDS = {"residual": 101, "two_input": 202, "multi_output": 303}
DATA_SEEDS = {"residual": 1101, "two_input": 1202, "multi_output": 1303}
INIT_ORDER = {
    "residual": ["stem", "block1_a", "block1_b", "block2_a", "block2_b", "out"],
    "two_input": ["da", "db", "gate", "gate2", "skip", "out"],
    "multi_output": ["trunk", "p", "r"],
}
FIT = {
    "residual": dict(batch_size=16, epochs=3),
    "two_input": dict(batch_size=8, epochs=3),
    "multi_output": dict(batch_size=10, epochs=3),
}

f32 = np.float32


def summary_text(model):
    lines = []
    model.summary(print_fn=lambda s, **kw: lines.append(s))
    return "\n".join(lines)


def build_residual():
    inp = keras.Input((6,), name="x")
    h = layers.Dense(8, activation="relu", name="stem")(inp)
    r = layers.Dense(8, activation="relu", name="block1_a")(h)
    r = layers.Dense(8, name="block1_b")(r)
    h = layers.Add(name="add1")([h, r])
    r = layers.Dense(8, activation="relu", name="block2_a")(h)
    r = layers.Dense(8, name="block2_b")(r)
    h = layers.Add(name="add2")([h, r])
    out = layers.Dense(1, activation="sigmoid", name="out")(h)
    model = keras.Model(inp, out, name="residual")
    compile_kw = dict(optimizer=keras.optimizers.Adam(0.01),
                      loss="binary_crossentropy", metrics=["accuracy"])
    return model, compile_kw


def build_two_input():
    a = keras.Input((5,), name="a")
    b = keras.Input((3,), name="b")
    ha = layers.Dense(6, activation="relu", name="da")(a)
    hb = layers.Dense(4, activation="tanh", name="db")(b)
    h = layers.Concatenate(name="cat")([ha, hb])
    g = layers.Dense(10, name="gate")(h)
    h2 = layers.Dense(10, activation="sigmoid", name="gate2")(h)
    m = layers.Multiply(name="mul")([g, h2])
    d = layers.Subtract(name="sub")([m, layers.Dense(10, name="skip")(h)])
    out = layers.Dense(3, activation="softmax", name="out")(d)
    model = keras.Model([a, b], out, name="two_input")
    compile_kw = dict(optimizer=keras.optimizers.SGD(0.1, momentum=0.9),
                      loss="categorical_crossentropy", metrics=["accuracy"])
    return model, compile_kw


def build_multi_output():
    inp = keras.Input((4,), name="x")
    t = layers.Dense(8, activation="relu", name="trunk")(inp)
    p = layers.Dense(1, activation="sigmoid", name="p")(t)
    r = layers.Dense(2, name="r")(t)
    model = keras.Model(inp, {"p": p, "r": r}, name="multi_output")
    compile_kw = dict(optimizer=keras.optimizers.Adam(0.01),
                      loss={"p": "binary_crossentropy", "r": "mse"},
                      loss_weights={"p": 1.0, "r": 0.5},
                      metrics={"p": ["accuracy"], "r": ["mae"]})
    return model, compile_kw


def make_data(name):
    drng = np.random.default_rng(DATA_SEEDS[name])
    if name == "residual":
        x = drng.standard_normal((64, 6)).astype(f32)
        y = (x[:, 0] + x[:, 1] * x[:, 2] > 0).astype(f32).reshape(64, 1)
        return {"x": x}, x, y
    if name == "two_input":
        a = drng.standard_normal((48, 5)).astype(f32)
        b = drng.standard_normal((48, 3)).astype(f32)
        cls = drng.integers(0, 3, 48)
        y = np.eye(3, dtype=f32)[cls]
        return {"a": a, "b": b}, [a, b], y
    if name == "multi_output":
        x = drng.standard_normal((40, 4)).astype(f32)
        p = (x[:, 0] > 0).astype(f32).reshape(40, 1)
        noise = drng.normal(0.0, 0.1, (40, 2))
        r = (x[:, 1:3] * 2 + noise).astype(f32)
        return {"x": x}, x, {"p": p, "r": r}
    raise KeyError(name)


def init_weights(model, name):
    rng = np.random.default_rng(SEEDS[name])
    init = {}
    for lname in INIT_ORDER[name]:
        layer = model.get_layer(lname)
        kshape = tuple(layer.kernel.shape)
        bshape = tuple(layer.bias.shape)
        k = rng.uniform(-0.5, 0.5, kshape).astype(f32)
        b = rng.uniform(-0.1, 0.1, bshape).astype(f32)
        layer.set_weights([k, b])
        init[lname] = (k, b)
    return init


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
        "multi_output_outputs": "dict {'p': p, 'r': r}",
        "models": {},
    }
    builders = {"residual": build_residual, "two_input": build_two_input,
                "multi_output": build_multi_output}
    for name, build in builders.items():
        model, compile_kw = build()
        inputs, fit_x, y = make_data(name)
        init = init_weights(model, name)
        summary_before = summary_text(model)
        model.compile(**compile_kw)
        hist = model.fit(fit_x, y, shuffle=False, verbose=0, **FIT[name])
        pred = model.predict(fit_x, verbose=0)
        entry = {
            "history_keys": sorted(hist.history.keys()),
            "history": {k: [float(v) for v in vals] for k, vals in hist.history.items()},
            "summary": summary_before,
            "summary_after_fit": summary_text(model),
            "weight_paths": [w.path for w in model.weights],
            "layer_names": [l.name for l in model.layers],
            "output_names": list(getattr(model, "output_names", []) or []),
        }
        for k, v in inputs.items():
            arrays[f"{name}/{k}"] = v
        if isinstance(y, dict):
            for k, v in y.items():
                arrays[f"{name}/y/{k}"] = v
        else:
            arrays[f"{name}/y"] = y
        if isinstance(pred, dict):
            for k, v in pred.items():
                arrays[f"{name}/pred/{k}"] = np.asarray(v, dtype=f32)
        else:
            arrays[f"{name}/pred"] = np.asarray(pred, dtype=f32)
        for lname, (k, b) in init.items():
            arrays[f"{name}/initial/{lname}/kernel"] = k
            arrays[f"{name}/initial/{lname}/bias"] = b
            fk, fb = model.get_layer(lname).get_weights()
            arrays[f"{name}/final/{lname}/kernel"] = np.asarray(fk, dtype=f32)
            arrays[f"{name}/final/{lname}/bias"] = np.asarray(fb, dtype=f32)
        for k, vals in hist.history.items():
            arrays[f"{name}/history/{k}"] = np.asarray(vals, dtype=np.float64)
        if name == "two_input":
            entry["get_config"] = model.get_config()
        if name == "residual":
            entry["to_json"] = json.loads(model.to_json())
        if name == "multi_output":
            ev = model.evaluate(fit_x, y, return_dict=True, verbose=0)
            entry["evaluate"] = {k: float(v) for k, v in ev.items()}
            ev_list = model.evaluate(fit_x, y, verbose=0)
            entry["evaluate_list"] = [float(v) for v in np.atleast_1d(ev_list)]
            entry["metrics_names"] = list(model.metrics_names)
            cfg = model.get_config()
            entry["get_config_io"] = {"input_layers": cfg["input_layers"],
                                      "output_layers": cfg["output_layers"]}
        info["models"][name] = entry

    seq = keras.Sequential([keras.Input((6,)), layers.Dense(8, activation="relu"),
                            layers.Dense(1, activation="sigmoid")], name="plain_sequential")
    info["plain_sequential_summary"] = summary_text(seq)
    info["plain_sequential_weight_paths"] = [w.path for w in seq.weights]
    info["plain_sequential_layer_names"] = [l.name for l in seq.layers]

    np.savez_compressed(os.path.join(HERE, "keras_agreement.npz"), **arrays)
    with open(os.path.join(HERE, "keras_agreement.json"), "w") as fh:
        json.dump(info, fh, indent=1, sort_keys=False, default=str)
        fh.write("\n")


if __name__ == "__main__":
    main()
