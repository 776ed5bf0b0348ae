"""Small convnets with BatchNormalization train to the weights Keras 3 reaches from the same
initial weights and batches.

tests/data/keras_cnn.npz holds, for a Sequential convnet (Conv2D "same" -> BatchNormalization ->
relu -> MaxPooling2D -> strided Conv2D -> GlobalAveragePooling2D -> Dense) and a functional one
(even-kernel "same" Conv2D without bias -> BatchNormalization with momentum 0.9 -> relu ->
dilated Conv2D -> MaxPooling2D strides 1 -> Flatten -> Dense), the data, the initial weights,
and the weights (moving statistics included), history, predictions and evaluate() results
Keras 3.15 (torch backend) ended with after fit(shuffle=False). Its generator,
tests/data/make_keras_cnn.py, documents how they were made; these tests never import Keras.
"""
import functools
import importlib.util
import json
import pathlib

import numpy as np
import pytest

import nerve

NEEDED = ("Conv2D", "BatchNormalization", "MaxPooling2D", "GlobalAveragePooling2D")
if not all(hasattr(nerve.layers, name) for name in NEEDED):
    pytest.skip(f"nerve.layers lacks some of {NEEDED}", allow_module_level=True)

from nerve import Sequential, optimizers  # noqa: E402

DATA = pathlib.Path(__file__).parent / "data"
REFERENCE = np.load(DATA / "keras_cnn.npz")
FACTS = json.loads((DATA / "keras_cnn.json").read_text())
# float32 training over 12 steps: the two libraries round differently in each product.
TOLERANCE = dict(rtol=2e-4, atol=2e-5)
# The models are built by the generator's own builders, given nerve instead of keras.
_spec = importlib.util.spec_from_file_location("make_keras_cnn", DATA / "make_keras_cnn.py")
GENERATOR = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(GENERATOR)
BUILDERS = {name: functools.partial(build, nerve) for name, build in GENERATOR.BUILDERS.items()}


def data(name, key):
    return REFERENCE[f"{name}/{key}"]


def initialised_model(name):
    model = BUILDERS[name]()
    kind, options = GENERATOR.OPTIMIZERS[name]
    model.compile(optimizer=getattr(optimizers, kind)(**options),
                  loss="categorical_crossentropy", metrics=["accuracy"])
    for layer_name, weights in FACTS["models"][name]["weight_names"].items():
        model.get_layer(layer_name).set_weights(
            [data(name, f"initial/{layer_name}/{w}") for w in weights])
    return model


def trained_model(name):
    model = initialised_model(name)
    history = model.fit(data(name, "x"), data(name, "y"), shuffle=False, verbose=0,
                        **FACTS["fit"])
    return model, history


@pytest.mark.parametrize("backend", ["cpp", "numpy"])
@pytest.mark.parametrize("name", sorted(BUILDERS))
def test_trains_to_the_weights_moving_statistics_and_history_of_keras(name, backend):
    with nerve.use_backend(backend):
        model, history = trained_model(name)
    for layer_name, weights in FACTS["models"][name]["weight_names"].items():
        for weight, value in zip(weights, model.get_layer(layer_name).get_weights()):
            np.testing.assert_allclose(value, data(name, f"final/{layer_name}/{weight}"),
                                       **TOLERANCE, err_msg=f"{layer_name}/{weight}")
    assert sorted(history.history) == FACTS["models"][name]["history_keys"]
    for key, values in history.history.items():
        np.testing.assert_allclose(values, data(name, f"history/{key}"), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("name", sorted(BUILDERS))
def test_predict_evaluate_and_training_call_match_keras_after_training(name):
    model, _ = trained_model(name)
    x, y = data(name, "x"), data(name, "y")
    # predict: inference mode, the moving statistics
    np.testing.assert_allclose(model.predict(x, verbose=0), data(name, "pred"), **TOLERANCE)
    logs = model.evaluate(x, y, batch_size=FACTS["fit"]["batch_size"], return_dict=True,
                          verbose=0)
    expected = FACTS["models"][name]["evaluate"]
    assert sorted(logs) == sorted(expected)
    for key, value in expected.items():
        assert logs[key] == pytest.approx(value, rel=1e-4, abs=1e-5)
    # model(x, training=True): the statistics of these 64 rows
    np.testing.assert_allclose(np.asarray(model(x, training=True)), data(name, "pred_training"),
                               **TOLERANCE)


@pytest.mark.parametrize("name", sorted(BUILDERS))
def test_layers_weights_and_summary_follow_keras(name):
    model = BUILDERS[name]()
    facts = FACTS["models"][name]
    assert [layer.name for layer in model.layers] == facts["layer_names"]
    # Keras 3.15 prefixes a Sequential's weight paths with the model's name (cnn_bn/conv1/...);
    # what this test is about is the layers' weights, names and order after that prefix.
    prefix = f"{name}/" if isinstance(model, Sequential) else ""
    assert [prefix + w.path.removeprefix(prefix) for w in model.weights] == facts["weight_paths"]
    for layer_name, weights in facts["weight_names"].items():
        layer = model.get_layer(layer_name)
        assert [w.path.rsplit("/", 1)[-1] for w in layer.weights] == weights
        trainable = [w.path.rsplit("/", 1)[-1] for w in layer.trainable_weights]
        assert trainable == [w for w in weights if not w.startswith("moving_")]
    lines = []
    model.summary(print_fn=lines.append)
    assert lines == facts["summary"].splitlines()


# Each new layer's own arguments, which its get_config() must give as Keras's does.
CONFIG_KEYS = {
    "Conv2D": ["filters", "kernel_size", "strides", "padding", "data_format", "dilation_rate",
               "groups", "activation", "use_bias"],
    "BatchNormalization": ["axis", "momentum", "epsilon", "center", "scale"],
    "MaxPooling2D": ["pool_size", "strides", "padding", "data_format"],
    "GlobalAveragePooling2D": ["data_format", "keepdims"],
}


@pytest.mark.parametrize("name", sorted(BUILDERS))
def test_layer_configs_follow_keras(name):
    """Keys both give agree (tuples as JSON lists; initializers by class); the layer's own
    arguments are all there."""
    expected_configs = FACTS["models"][name]["layer_configs"]
    for layer in BUILDERS[name]().layers:
        kind = type(layer).__name__
        config = json.loads(json.dumps(layer.get_config()))
        expected = expected_configs[layer.name]
        assert set(CONFIG_KEYS.get(kind, [])) <= set(config), kind
        for key in set(config) & set(expected) - {"dtype"}:
            ours, theirs = config[key], expected[key]
            if isinstance(theirs, dict):  # {"module", "class_name", "config", ...}
                assert ours["class_name"] == theirs["class_name"], (layer.name, key)
            else:
                assert ours == theirs, (layer.name, key)
