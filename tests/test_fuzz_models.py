"""Fuzz the model API (Sequential of Dense: compile, fit, evaluate, predict, train_on_batch,
set_weights) with random sizes, data of every dtype and layout, special values and garbage.
The same model from the same weights on the C++ and the NumPy backend must give the same
results and weights, or both raise the same TypeError/ValueError and leave the model's
weights and the data passed in unchanged."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import nerve
from fuzz_helpers import (BAD_DTYPES, LAYOUTS, array_recipe, assert_close_values,
                          assert_unchanged, materialize_all, outcome, seeds, snapshot,
                          watchdog)  # noqa: F401 (watchdog: autouse fixture)
from nerve import Dense, Sequential, layers

EXAMPLES = settings(max_examples=10)
LOSSES = ["mse", "mae", "huber", "binary_crossentropy", "categorical_crossentropy",
          "sparse_categorical_crossentropy"]
METHODS = ["fit", "evaluate", "predict", "train_on_batch", "set_weights"]
SCALE = 50  # a few steps of training compound float32 rounding

# NaN, inf and overflow are drawn on purpose: NumPy's warnings about them are expected.
pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")


def make_model(config):
    nerve.utils.set_random_seed(config["seed"])
    model = Sequential([layers.Input(shape=(config["features"],)),
                        Dense(config["hidden"], activation=config["activation"]),
                        Dense(config["units"], activation=config["output"])])
    model.compile(optimizer=config["optimizer"], loss=config["loss"], metrics=["mae"])
    return model


def run(backend, config, method, data):
    """(result, weights after) of model.<method>(**data) on `backend`; raises as it does."""
    model = make_model(config)
    before = model.get_weights()
    with nerve.use_backend(backend):
        kind, result = outcome(_call, model, method, data)
    if kind == "raised":
        for a, b in zip(model.get_weights(), before):
            np.testing.assert_array_equal(a, b, err_msg=f"{backend} {method} changed weights")
    return kind, result, model.get_weights()


def _call(model, method, data):
    if method == "fit":
        return model.fit(**data, epochs=2, batch_size=3, shuffle=False, verbose=0).history
    if method == "evaluate":
        return model.evaluate(**data, batch_size=3, verbose=0)
    if method == "predict":
        return model.predict(data["x"], batch_size=3, verbose=0)
    if method == "train_on_batch":
        return model.train_on_batch(**data)
    return model.set_weights(data["weights"])


@st.composite
def data_recipe(draw, shape, dtype, good_layouts=("C",)):
    """Usually a good array of `shape`; sometimes another dtype, layout, shape, special
    values or garbage."""
    how = draw(st.integers(0, 11))
    seed = draw(seeds)
    if how == 0:
        return ("value", draw(st.sampled_from([None, "x", {"a": 1}, [[1.0], [2.0, 3.0]],
                                               3.0, []])))
    if how == 1:
        dtype = draw(st.sampled_from([np.dtype(d).name for d in BAD_DTYPES]))
    if how == 2:
        shape = tuple(draw(st.lists(st.integers(0, 4), max_size=3)))
    layout = draw(st.sampled_from(LAYOUTS)) if how == 3 else draw(st.sampled_from(good_layouts))
    return array_recipe(shape, dtype, layout, seed, special=how == 4)


@st.composite
def targets(draw, loss, rows, units):
    if loss == "sparse_categorical_crossentropy":
        labels = draw(st.lists(st.integers(0, units - 1 + (draw(st.integers(0, 5)) == 0)),
                               min_size=rows, max_size=rows))
        return ("value", np.array(labels, np.int64))
    if loss in ("binary_crossentropy", "categorical_crossentropy"):
        probabilities = draw(st.lists(st.sampled_from([0.0, 1.0, 0.25]),
                                      min_size=rows * units, max_size=rows * units))
        return ("value", np.array(probabilities).reshape(rows, units))
    return draw(data_recipe((rows, units), draw(st.sampled_from(["float32", "float64"]))))


@st.composite
def model_cases(draw, method):
    loss = draw(st.sampled_from(LOSSES))
    config = {"seed": draw(st.integers(0, 1000)), "features": draw(st.integers(1, 4)),
              "hidden": draw(st.integers(1, 4)), "units": draw(st.integers(1, 3)),
              "activation": draw(st.sampled_from(["relu", "tanh", "linear", "gelu"])),
              "output": {"binary_crossentropy": "sigmoid", "categorical_crossentropy": "softmax",
                         "sparse_categorical_crossentropy": "softmax"}.get(loss, None),
              "optimizer": draw(st.sampled_from(["sgd", "adam", "rmsprop", "adagrad"])),
              "loss": loss}
    if loss == "categorical_crossentropy" and config["units"] == 1:
        config["units"] = 2
    rows = draw(st.integers(1, 7))
    if method == "set_weights":
        return config, method, {"weights": draw(weight_recipes(config))}
    data = {"x": draw(data_recipe((rows, config["features"]),
                                  draw(st.sampled_from(["float32", "float64", "int64"])),
                                  ("C", "F", "reversed", "strided", "readonly")))}
    if method != "predict":
        data["y"] = draw(targets(loss, rows, config["units"]))
        if draw(st.integers(0, 3)) == 0:
            data["sample_weight"] = draw(data_recipe((rows,), "float64"))
    return config, method, data


@st.composite
def weight_recipes(draw, config):
    shapes = [(config["features"], config["hidden"]), (config["hidden"],),
              (config["hidden"], config["units"]), (config["units"],)]
    if draw(st.integers(0, 4)) == 0:
        shapes = shapes[:draw(st.integers(0, 3))]
    return ("list", "list", [draw(data_recipe(s, "float64")) for s in shapes])


def assert_same(got, want, finite_only, what):
    if isinstance(want, dict):
        assert sorted(got) == sorted(want), what
        for key in want:
            assert_same(got[key], want[key], finite_only, f"{what}[{key}]")
    elif want is None:
        assert got is None, what
    else:
        assert_close_values(np.asarray(got, np.float64), np.asarray(want, np.float64),
                            SCALE, finite_only, what, kind=np.float32)


@pytest.mark.parametrize("method", METHODS)
@EXAMPLES
@given(data=st.data())
def test_model_api_backends_agree_or_both_reject(method, data):
    config, _, recipes = data.draw(model_cases(method))
    fast_data, fast_arrays = materialize_all(recipes)
    ref_data, _ = materialize_all(recipes)
    before = snapshot(fast_arrays)
    got = run("cpp", config, method, fast_data)
    want = run("numpy", config, method, ref_data)
    assert got[0] == want[0], f"cpp {got[:2]}, numpy {want[:2]} for {config}, {recipes}"
    if got[0] == "raised":
        assert got[1] is want[1], f"cpp {got[1]}, numpy {want[1]}"
        assert_unchanged(fast_arrays, before, "data passed to the model")
        return
    assert_unchanged(fast_arrays, before, "data passed to the model")
    if any(r[0] == "array" and r[5] for r in recipes.values()):
        return  # huge (1e38) data: the backends overflow float32 at different steps
    assert_same(got[1], want[1], False, f"result of {method}")
    for i, (a, b) in enumerate(zip(got[2], want[2])):
        assert_same(a, b, False, f"weight {i} after {method}")
