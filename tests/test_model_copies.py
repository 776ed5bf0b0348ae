"""pickle and copy.deepcopy of models (joblib, scikit-learn's clone, checkpoints in memory):
the copy equals the original (class, configuration, weights, compile and optimizer state,
predictions, and the training that follows) and is independent of it; a layer shared inside
the model stays shared in the copy (test_concurrency forks a child from a copy)."""
import copy
import pickle

import numpy as np
import pytest

import nerve

ROWS, FEATURES = 48, 5


class TwoTowers(nerve.Model):
    """A subclassed model (at module level, so pickle finds the class by name)."""

    def __init__(self, units=6, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.left = nerve.layers.Dense(units, activation="relu")
        self.right = nerve.layers.Dense(units, activation="tanh")
        self.head = nerve.layers.Dense(1)

    def call(self, inputs, training=None):  # ops in the traced graph, split among them
        first, second = nerve.ops.split(self.left(inputs) + self.right(inputs), 2, axis=-1)
        return self.head(nerve.ops.concatenate([second, first], axis=-1))

    def get_config(self):
        return {**super().get_config(), "units": self.units}


def data(seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((ROWS, FEATURES)).astype(np.float32)
    return x, (x[:, :1] * 2.0 - x[:, 1:2]).astype(np.float32)


def sequential():
    return nerve.Sequential([nerve.layers.Dense(8, activation="relu"),
                             nerve.layers.BatchNormalization(),
                             nerve.layers.Dropout(0.25),
                             nerve.layers.Dense(1)])


def functional_with_a_shared_layer():
    inputs = nerve.Input((FEATURES,))
    shared = nerve.layers.Dense(FEATURES, activation="tanh", name="shared")
    return nerve.Model(inputs, nerve.layers.Dense(1)(shared(shared(inputs))))


MAKERS = {"sequential": sequential, "functional": functional_with_a_shared_layer,
          "subclassed": TwoTowers}
COPIERS = {"pickle": lambda model: pickle.loads(pickle.dumps(model)), "deepcopy": copy.deepcopy}
STAGES = ["unbuilt", "built", "compiled", "trained"]


def model_at(kind, stage):
    """A model of `kind` at `stage`: unbuilt (no weights), built (weights, not compiled),
    compiled (built, optimizer without steps) or trained (Adam after a few steps)."""
    nerve.utils.set_random_seed(1)
    model = MAKERS[kind]()
    if stage != "unbuilt":
        model.build((None, FEATURES))
    if stage in ("compiled", "trained"):
        model.compile(optimizer="adam", loss="mse", metrics=["mae"])
    if stage == "trained":
        model.fit(*data(), batch_size=16, epochs=2, verbose=0)
    return model


def state(model):
    """What a copy must reproduce: weights, compile configuration and optimizer state."""
    optimizer = model.optimizer
    return {"class": type(model), "config": model.get_config(),
            "compile": model.get_compile_config(),
            "weights": model.get_weights() if model.built else None,
            "optimizer": (optimizer.get_state() if optimizer is not None and optimizer.built
                          else None)}


def assert_same_state(copied, original, same_config=True):
    """Equal states; `same_config=False` after building an unbuilt pair: its new input
    layers are named apart (as in Keras, each new object gets the next free name)."""
    a, b = state(copied), state(original)
    assert a["class"] is b["class"] and a["compile"] == b["compile"]
    assert not same_config or a["config"] == b["config"]
    for key in ("weights", "optimizer"):
        assert (a[key] is None) == (b[key] is None), key
        for index, (got, want) in enumerate(zip(a[key] or [], b[key] or [])):
            assert got.dtype == want.dtype and np.array_equal(got, want), f"{key}[{index}]"


def train_one_epoch(model):
    if model.optimizer is None:
        model.compile(optimizer="adam", loss="mse", metrics=["mae"])
    nerve.utils.set_random_seed(7)  # the same shuffle, dropout masks and (unbuilt) weights
    model.fit(*data(1), batch_size=16, epochs=1, verbose=0)


@pytest.mark.parametrize("copier", COPIERS)
@pytest.mark.parametrize("stage", STAGES)
@pytest.mark.parametrize("kind", MAKERS)
def test_a_copy_equals_the_original_and_trains_on_its_own(kind, stage, copier):
    original = model_at(kind, stage)
    copied = COPIERS[copier](original)
    assert copied is not original
    assert_same_state(copied, original)
    x = data(2)[0]
    if original.built:
        assert np.array_equal(copied.predict(x, verbose=0), original.predict(x, verbose=0))
    before = state(original)
    train_one_epoch(copied)
    after = state(original)
    assert all(np.array_equal(a, b) for a, b in zip(after["weights"] or [],
                                                    before["weights"] or [])), \
        "training the copy changed the original's weights"
    assert after["optimizer"] is None or np.array_equal(after["optimizer"][0],
                                                        before["optimizer"][0])
    train_one_epoch(original)
    assert_same_state(copied, original, same_config=stage != "unbuilt")
    assert np.array_equal(copied.predict(x, verbose=0), original.predict(x, verbose=0))


@pytest.mark.parametrize("copier", COPIERS)
def test_a_layer_shared_inside_a_model_stays_shared_in_the_copy(copier):
    original = model_at("functional", "trained")
    copied = COPIERS[copier](original)
    shared = copied.get_layer("shared")
    assert shared is not original.get_layer("shared")
    assert [layer.name for layer in copied.layers] == [layer.name for layer in original.layers]
    assert len(copied.weights) == len(original.weights)
    for variable in shared.weights:  # one layer: both of its calls now output zeros
        variable.assign(np.zeros(variable.shape))
    x = data(2)[0]
    expected = copied.layers[-1](np.zeros((ROWS, FEATURES), np.float32))
    assert np.allclose(copied.predict(x, verbose=0), expected)


@pytest.mark.parametrize("copier", COPIERS)
def test_the_copys_variables_are_views_of_its_own_buffer(copier):
    original = model_at("sequential", "trained")
    copied = COPIERS[copier](original)
    train_one_epoch(copied)
    for mine, theirs in zip(copied.weights, original.weights):
        assert np.shares_memory(mine.value, copied._params)
        assert not np.shares_memory(mine.value, original._params)
        assert mine is not theirs


def test_a_pickle_holds_each_weight_once():
    model = nerve.Sequential([nerve.layers.Dense(256, input_dim=256), nerve.layers.Dense(256)])
    model.predict(data()[0][:, :1].repeat(256, axis=1), verbose=0)  # packed: views of buffers
    weight_bytes = sum(w.nbytes for w in model.get_weights())
    size = len(pickle.dumps(model))
    assert weight_bytes <= size < 1.1 * weight_bytes, \
        f"{size} bytes for {weight_bytes} bytes of weights: buffers or gradients stored too"
