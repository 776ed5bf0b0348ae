"""Graph models train to the weights Keras 3 reaches from the same initial weights and batches.

tests/data/keras_agreement.npz holds, for three functional models (a residual MLP joined by
Add, a two-input model with Concatenate / Multiply / Subtract, and a two-output model with
per-output losses, loss weights and metrics), the data, the initial weights, and the weights
and history Keras 3.15 (torch backend) ended with after fit(shuffle=False). Its generator,
tests/data/make_keras_agreement.py, documents how they were made; these tests never import
Keras.
"""
import json
import pathlib

import numpy as np
import pytest

import nerve
from nerve import Input, Model, layers, optimizers
from nerve.layers import Dense

DATA = pathlib.Path(__file__).parent / "data"
REFERENCE = np.load(DATA / "keras_agreement.npz")
FACTS = json.loads((DATA / "keras_agreement.json").read_text())
# float32 training over 12-20 steps: the two libraries round differently in each product.
TOLERANCE = dict(rtol=2e-4, atol=2e-5)


def residual():
    x = Input((6,), name="x")
    h = Dense(8, activation="relu", name="stem")(x)
    r = Dense(8, activation="relu", name="block1_a")(h)
    r = Dense(8, name="block1_b")(r)
    h = layers.Add(name="add1")([h, r])
    r = Dense(8, activation="relu", name="block2_a")(h)
    r = Dense(8, name="block2_b")(r)
    h = layers.Add(name="add2")([h, r])
    model = Model(x, Dense(1, activation="sigmoid", name="out")(h), name="residual")
    model.compile(optimizer=optimizers.Adam(0.01), loss="binary_crossentropy",
                  metrics=["accuracy"])
    return model


def two_input():
    a, b = Input((5,), name="a"), Input((3,), name="b")
    h = layers.Concatenate(name="cat")([Dense(6, activation="relu", name="da")(a),
                                        Dense(4, activation="tanh", name="db")(b)])
    gated = layers.Multiply(name="mul")([Dense(10, name="gate")(h),
                                         Dense(10, activation="sigmoid", name="gate2")(h)])
    d = layers.Subtract(name="sub")([gated, Dense(10, name="skip")(h)])
    model = Model([a, b], Dense(3, activation="softmax", name="out")(d), name="two_input")
    model.compile(optimizer=optimizers.SGD(0.1, momentum=0.9), loss="categorical_crossentropy",
                  metrics=["accuracy"])
    return model


def multi_output():
    x = Input((4,), name="x")
    trunk = Dense(8, activation="relu", name="trunk")(x)
    model = Model(x, {"p": Dense(1, activation="sigmoid", name="p")(trunk),
                      "r": Dense(2, name="r")(trunk)}, name="multi_output")
    model.compile(optimizer=optimizers.Adam(0.01),
                  loss={"p": "binary_crossentropy", "r": "mse"}, loss_weights={"p": 1.0, "r": 0.5},
                  metrics={"p": ["accuracy"], "r": ["mae"]})
    return model


CASES = {
    "residual": (residual, lambda d: d("x"), lambda d: d("y"), 16),
    "two_input": (two_input, lambda d: [d("a"), d("b")], lambda d: d("y"), 8),
    "multi_output": (multi_output, lambda d: d("x"), lambda d: {"p": d("y/p"), "r": d("y/r")}, 10),
}


def set_initial_weights(model, name):
    for layer_name in FACTS["init_order"][name]:
        layer = model.get_layer(layer_name)
        layer.set_weights([REFERENCE[f"{name}/initial/{layer_name}/kernel"],
                           REFERENCE[f"{name}/initial/{layer_name}/bias"]])


@pytest.mark.parametrize("backend", ["cpp", "numpy"])
@pytest.mark.parametrize("name", sorted(CASES))
def test_trains_to_the_weights_and_history_of_keras(name, backend):
    make, inputs, targets, batch_size = CASES[name]
    data = lambda key: REFERENCE[f"{name}/{key}"]  # noqa: E731
    model = make()
    set_initial_weights(model, name)
    with nerve.use_backend(backend):
        history = model.fit(inputs(data), targets(data), batch_size=batch_size, epochs=3,
                            shuffle=False, verbose=0)
    for layer_name in FACTS["init_order"][name]:
        kernel, bias = model.get_layer(layer_name).get_weights()
        np.testing.assert_allclose(kernel, data(f"final/{layer_name}/kernel"), **TOLERANCE)
        np.testing.assert_allclose(bias, data(f"final/{layer_name}/bias"), **TOLERANCE)
    assert sorted(history.history) == FACTS["models"][name]["history_keys"]
    for key, values in history.history.items():
        np.testing.assert_allclose(values, data(f"history/{key}"), rtol=1e-4, atol=1e-5)


def test_predictions_and_evaluate_match_keras_after_training():
    make, inputs, targets, batch_size = CASES["multi_output"]
    data = lambda key: REFERENCE[f"multi_output/{key}"]  # noqa: E731
    model = make()
    set_initial_weights(model, "multi_output")
    model.fit(inputs(data), targets(data), batch_size=batch_size, epochs=3, shuffle=False,
              verbose=0)
    predictions = model.predict(inputs(data), verbose=0)
    assert set(predictions) == {"p", "r"}
    for key in ("p", "r"):
        np.testing.assert_allclose(predictions[key], data(f"pred/{key}"), **TOLERANCE)
    logs = model.evaluate(inputs(data), targets(data), verbose=0, return_dict=True)
    expected = FACTS["models"]["multi_output"]["evaluate"]
    assert sorted(logs) == sorted(expected)
    for key, value in expected.items():
        assert logs[key] == pytest.approx(value, rel=1e-4, abs=1e-5)
    listed = model.evaluate(inputs(data), targets(data), verbose=0)
    assert listed == pytest.approx(FACTS["models"]["multi_output"]["evaluate_list"], rel=1e-4, abs=1e-5)


@pytest.mark.parametrize("name", sorted(CASES))
def test_layers_weights_and_summary_follow_keras(name):
    model = CASES[name][0]()
    assert [layer.name for layer in model.layers] == FACTS["models"][name]["layer_names"]
    assert [w.path for w in model.weights] == FACTS["models"][name]["weight_paths"]
    lines = []
    model.summary(print_fn=lines.append)
    assert lines == FACTS["models"][name]["summary"].splitlines()
