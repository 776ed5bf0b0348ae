"""Models built from the user's own code train to the weights Keras 3 reaches.

tests/data/keras_custom.npz / keras_custom.json hold two runs made with real Keras 3.15.1 (torch
backend) by tests/data/make_keras_custom.py, whose docstring documents them:

* custom_layer: a `Layer` subclass with `add_weight` (Linear), a layer holding a non-trainable
  state variable that `assign()` updates in training steps and that adds an `add_loss()`
  activity loss (RunningMean), a plain-function loss, a plain-function metric and a `Metric`
  subclass;
* custom_loss_class: a `Loss` subclass, trained with sample weights.

The section "THE USER'S CODE" below is the generator's, character for character, with `keras`
being nerve here (`import nerve as keras`, `from nerve import ops`);
test_the_user_code_is_the_code_keras_ran checks that. These tests never import Keras.
"""
import json
import pathlib

import numpy as np
import pytest

import nerve
import nerve as keras
from nerve import ops

DATA = pathlib.Path(__file__).parent / "data"
GENERATOR = DATA / "make_keras_custom.py"
REFERENCE = np.load(DATA / "keras_custom.npz")
FACTS = json.loads((DATA / "keras_custom.json").read_text())
# float32 training over 16-20 steps: the two libraries round differently in each product.
TOLERANCE = dict(rtol=2e-4, atol=2e-5)
LOG_TOLERANCE = dict(rtol=1e-4, atol=1e-5)


# ---------------------------------------------------------------------------------------------
# THE USER'S CODE.  The same as in tests/data/make_keras_custom.py, where `keras` is Keras 3.
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

BUILDERS = {"custom_layer": build_custom_layer, "custom_loss_class": build_custom_loss_class}
CUSTOM_CLASSES = {"custom_layer": ["Linear", "RunningMean", "Linear"],
                  "custom_loss_class": ["Linear", "Linear"]}


def user_code(text):
    """The section between the markers, from its first decorator to the closing rule."""
    start = text.index("\n@keras.saving", text.index("# THE USER'S CODE.")) + 1
    end = text.rindex("# ----", 0, text.index("# END OF THE USER'S CODE"))
    return text[start:end].rstrip()


def reference(name, key):
    return REFERENCE[f"{name}/{key}"]


def facts(name):
    return FACTS["models"][name]


def set_initial_weights(model, name):
    """Every weight from the npz, by its path (RunningMean's mean: zeros)."""
    for layer in model.layers:
        if layer.weights:
            layer.set_weights([reference(name, f"initial/{w.path}") for w in layer.weights])


def fit_kwargs(name):
    kwargs = dict(FACTS["fit"][name], shuffle=False, verbose=0)
    if f"{name}/sample_weight" in REFERENCE:
        kwargs["sample_weight"] = reference(name, "sample_weight")
    return kwargs


def trained(name, backend=None):
    model = BUILDERS[name]()
    set_initial_weights(model, name)
    if backend is None:
        history = model.fit(reference(name, "x"), reference(name, "y"), **fit_kwargs(name))
    else:
        with nerve.use_backend(backend):
            history = model.fit(reference(name, "x"), reference(name, "y"),
                                **fit_kwargs(name))
    return model, history


def assert_final_weights(model, name):
    for weight in model.weights:
        np.testing.assert_allclose(np.asarray(weight.numpy()),
                                   reference(name, f"final/{weight.path}"),
                                   err_msg=weight.path, **TOLERANCE)


def assert_logs(logs, expected):
    assert sorted(logs) == sorted(expected)
    for key, value in expected.items():
        assert logs[key] == pytest.approx(value, rel=1e-4, abs=1e-5), key


def test_the_user_code_is_the_code_keras_ran():
    assert user_code(pathlib.Path(__file__).read_text()) == user_code(GENERATOR.read_text())


@pytest.mark.parametrize("name", sorted(BUILDERS))
def test_layers_and_weight_paths_follow_keras(name):
    model = BUILDERS[name]()
    assert [layer.name for layer in model.layers] == facts(name)["layer_names"]
    assert [w.path for w in model.weights] == facts(name)["weight_paths"]
    assert [w.path for w in model.trainable_weights] == facts(name)["trainable_weight_paths"]
    assert [w.path for w in model.non_trainable_weights] == \
        facts(name)["non_trainable_weight_paths"]
    assert [type(layer).__name__ for layer in model.layers
            if isinstance(layer, (Linear, RunningMean))] == CUSTOM_CLASSES[name]


@pytest.mark.parametrize("backend", ["cpp", "numpy"])
@pytest.mark.parametrize("name", sorted(BUILDERS))
def test_trains_to_the_weights_and_history_of_keras(name, backend):
    model, history = trained(name, backend)
    assert_final_weights(model, name)
    assert sorted(history.history) == facts(name)["history_keys"]
    for key, values in history.history.items():
        np.testing.assert_allclose(values, reference(name, f"history/{key}"), err_msg=key,
                                   **LOG_TOLERANCE)


@pytest.mark.parametrize("name", sorted(BUILDERS))
def test_predict_and_evaluate_match_keras_after_training(name):
    model, _ = trained(name)
    x, y = reference(name, "x"), reference(name, "y")
    np.testing.assert_allclose(model.predict(x, verbose=0), reference(name, "pred"),
                               **TOLERANCE)
    batch_size = facts(name)["evaluate_batch_size"]
    assert_logs(model.evaluate(x, y, batch_size=batch_size, verbose=0, return_dict=True),
                facts(name)["evaluate"])
    listed = model.evaluate(x, y, batch_size=batch_size, verbose=0)
    assert listed == pytest.approx(facts(name)["evaluate_list"], rel=1e-4, abs=1e-5)
    if "evaluate_weighted" in facts(name):
        # sample weights enter the loss (sum over the batch / rows), not compile(metrics=...)
        assert_logs(model.evaluate(x, y, batch_size=batch_size, verbose=0, return_dict=True,
                                   sample_weight=reference(name, "sample_weight")),
                    facts(name)["evaluate_weighted"])
    # predict and evaluate run with training=False: RunningMean's state stays where fit left it
    assert_final_weights(model, name)


def test_add_loss_is_part_of_the_loss_evaluate_reports():
    model, _ = trained("custom_layer")
    logs = model.evaluate(reference("custom_layer", "x"), reference("custom_layer", "y"),
                          batch_size=facts("custom_layer")["evaluate_batch_size"], verbose=0,
                          return_dict=True)
    observed = facts("custom_layer")["observed"]
    assert logs["loss"] == pytest.approx(observed["evaluate_loss_numpy_with_add_loss"],
                                         rel=1e-4, abs=1e-5)
    assert logs["loss"] != pytest.approx(observed["evaluate_loss_numpy_without_add_loss"],
                                         rel=1e-5, abs=1e-6)


@pytest.mark.parametrize("name", sorted(BUILDERS))
def test_save_and_load_round_trip_keeps_the_user_classes(name, tmp_path):
    model, _ = trained(name)
    x, y = reference(name, "x"), reference(name, "y")
    path = tmp_path / "m.nerve"
    model.save(path)
    loaded = keras.models.load_model(path)
    assert [type(layer).__name__ for layer in loaded.layers
            if isinstance(layer, (Linear, RunningMean))] == CUSTOM_CLASSES[name]
    assert [w.path for w in loaded.weights] == [w.path for w in model.weights]
    for saved, restored in zip(model.get_weights(), loaded.get_weights()):
        np.testing.assert_array_equal(restored, saved)
    for layer in loaded.layers:
        if isinstance(layer, Linear):
            original = model.get_layer(layer.name)
            assert (layer.units, layer.activation) == (original.units, original.activation)
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0),
                               rtol=1e-6, atol=1e-7)
    # the compile settings (the user's loss and metrics) come back too
    batch_size = facts(name)["evaluate_batch_size"]
    expected = model.evaluate(x, y, batch_size=batch_size, verbose=0, return_dict=True)
    logs = loaded.evaluate(x, y, batch_size=batch_size, verbose=0, return_dict=True)
    assert sorted(logs) == sorted(expected)
    for key, value in expected.items():
        assert logs[key] == pytest.approx(value, rel=1e-6, abs=1e-7), key
