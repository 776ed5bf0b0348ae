"""Keras 3 files in and out, tested against Keras itself (its NumPy backend): models Keras
saves load into nerve with Keras's predictions, and the .keras and .weights.h5 files nerve
writes open in Keras with nerve's predictions."""
import os
import shutil

import numpy as np
import pytest

os.environ.setdefault("KERAS_BACKEND", "numpy")
keras = pytest.importorskip("keras")
pytest.importorskip("h5py")

import nerve  # noqa: E402
from helpers import interop_inputs, randomized_model  # noqa: E402
from nerve import layers  # noqa: E402
from nerve.interop import keras_format  # noqa: E402

# float32 forward passes: the two libraries sum the products in different orders.
CLOSE = dict(rtol=1e-5, atol=1e-6)


def keras_mlp():
    k = keras.layers
    return keras.Sequential([keras.Input((12,)), k.Dense(16, activation="relu"),
                             k.BatchNormalization(), k.Dropout(0.2), k.Dense(8),
                             k.LeakyReLU(0.1), k.Dense(4, activation="softmax")])


def keras_cnn():
    k = keras.layers
    x = keras.Input((10, 10, 3), name="image")
    h = k.Conv2D(6, 3, padding="same", activation="relu")(x)
    skip = k.Conv2D(6, 1, strides=1, use_bias=False)(x)
    h = k.BatchNormalization()(k.Add()([h, skip]))
    wide = k.Concatenate()([k.MaxPooling2D()(h), k.AveragePooling2D(2, padding="same")(h)])
    pooled = k.GlobalAveragePooling2D()(wide)
    flat = k.Dense(5, activation="tanh")(k.Flatten()(k.ReLU()(wide)))
    h = k.Activation("sigmoid")(k.Concatenate()([flat, pooled]))
    return keras.Model(x, k.Softmax()(k.Dense(3)(h)))


def keras_text():
    k = keras.layers
    return keras.Sequential([keras.Input((7,), dtype="int32"), k.Embedding(30, 4),
                             k.Conv1D(5, 3, activation="elu"), k.MaxPooling1D(),
                             k.GlobalAveragePooling1D(), k.Dense(6), k.Reshape((2, 3)),
                             k.Flatten(), k.Dense(1, activation="sigmoid")])


def keras_extras():
    k = keras.layers
    x = keras.Input((5, 4, 2))
    h = k.UpSampling2D((1, 2))(k.ZeroPadding2D(((1, 0), (0, 2)))(k.Rescaling(2.0, -0.5)(x)))
    h = k.Reshape((6, 24))(k.Conv2D(2, 2, dilation_rate=(1, 2), padding="same")(h))
    h = k.GlobalMaxPooling1D()(k.SpatialDropout1D(0.2)(k.Permute((2, 1))(h)))
    a, b = k.Dense(4)(h), k.PReLU()(k.Dense(4)(h))
    merged = k.Concatenate()([k.Multiply()([a, b]), k.Subtract()([a, b]), k.Maximum()([a, b]),
                              k.Average()([a, b])])
    return keras.Model(x, k.Dense(2)(k.LayerNormalization()(merged)))


def keras_two_towers():
    k = keras.layers
    left, right = keras.Input((6,), name="left"), keras.Input((4,), name="right")
    a = k.Dense(5, activation="relu")(left)
    b = k.Dense(5, activation="softplus")(right)
    joined = k.Concatenate()([a, b, k.Dot(axes=1)([a, b])])
    return keras.Model([left, right], k.Dense(3, activation="softmax")(joined))


@pytest.mark.parametrize("make", [keras_mlp, keras_cnn, keras_text, keras_extras,
                                  keras_two_towers])
def test_keras_to_nerve_to_keras_keeps_the_predictions(tmp_path, make):
    original, rng = randomized_model(make)
    original.save(tmp_path / "keras.keras")
    x = interop_inputs(original, rng, 9)
    expected = original.predict(x, verbose=0)

    model = nerve.models.load_model(tmp_path / "keras.keras")
    # The weights' groups are numbered in Keras's order of the layers, which nerve reproduces.
    assert [name for _, name in keras_format._layer_list(model)[1]] == [
        layer.name for layer in original.layers]
    np.testing.assert_allclose(model.predict(x, verbose=0), expected, **CLOSE)

    model.save(tmp_path / "nerve.keras")
    back = keras.saving.load_model(tmp_path / "nerve.keras")
    np.testing.assert_allclose(back.predict(x, verbose=0), model.predict(x, verbose=0), **CLOSE)
    for mine, theirs in zip(back.get_weights(), original.get_weights()):
        np.testing.assert_array_equal(mine, theirs)


def test_a_nerve_model_opens_in_keras(tmp_path):
    rng = np.random.default_rng(1)
    x = nerve.Input((6,), name="features")
    h = layers.Dense(8, activation="gelu")(x)
    model = nerve.Model(x, layers.Dense(2, activation="softmax")(layers.Add()([h, h])))
    data = rng.standard_normal((5, 6)).astype(np.float32)
    model.save(tmp_path / "m.keras")
    opened = keras.saving.load_model(tmp_path / "m.keras")
    np.testing.assert_allclose(opened.predict(data, verbose=0), model.predict(data, verbose=0),
                               **CLOSE)


def test_weights_files_both_ways(tmp_path):
    original, rng = randomized_model(keras_mlp, seed=2)
    original.save_weights(tmp_path / "keras.weights.h5")
    model = nerve.models.load_model(_saved(original, tmp_path))
    model.set_weights([np.zeros_like(w) for w in model.get_weights()])
    model.load_weights(tmp_path / "keras.weights.h5")
    x = interop_inputs(original, rng, 9)
    np.testing.assert_allclose(model.predict(x, verbose=0), original.predict(x, verbose=0),
                               **CLOSE)
    model.save_weights(tmp_path / "nerve.weights.h5")
    fresh = keras_mlp()
    fresh.load_weights(tmp_path / "nerve.weights.h5")
    np.testing.assert_allclose(fresh.predict(x, verbose=0), model.predict(x, verbose=0),
                               **CLOSE)
    model.set_weights([np.zeros_like(w) for w in model.get_weights()])
    model.load_weights(tmp_path / "architecture.keras")  # as Keras, from a whole archive
    np.testing.assert_allclose(model.predict(x, verbose=0), original.predict(x, verbose=0),
                               **CLOSE)


def _saved(keras_model, directory):
    path = directory / "architecture.keras"
    keras_model.save(path)
    return path


def test_compile_settings_are_imported(tmp_path):
    original = keras_mlp()
    original.compile(optimizer=keras.optimizers.Adam(0.005), loss="categorical_crossentropy",
                     metrics=["accuracy"])
    original.save(tmp_path / "m.keras")
    model = nerve.models.load_model(tmp_path / "m.keras")
    assert type(model.optimizer).__name__ == "Adam"
    assert model.optimizer.get_config()["learning_rate"] == pytest.approx(0.005)
    assert model.get_compile_config()["loss"] == "categorical_crossentropy"


def test_compile_settings_nerve_lacks_warn_and_load_uncompiled(tmp_path):
    original = keras_mlp()
    original.compile(optimizer=keras.optimizers.Adam(use_ema=True), loss="mse")
    original.save(tmp_path / "m.keras")
    with pytest.warns(UserWarning, match="use_ema"):
        model = nerve.models.load_model(tmp_path / "m.keras")
    assert model.optimizer is None


def test_nerve_files_with_keras_names_still_load(tmp_path):
    """Earlier releases wrote nerve's format under any name, .keras included."""
    model = nerve.Sequential([nerve.Input((3,)), layers.Dense(2)])
    model.compile(optimizer="sgd", loss="mse")
    model.save(tmp_path / "m.nerve")
    shutil.copy(tmp_path / "m.nerve", tmp_path / "old.keras")
    loaded = nerve.models.load_model(tmp_path / "old.keras")
    assert loaded.get_compile_config() == model.get_compile_config()
    for mine, theirs in zip(loaded.get_weights(), model.get_weights()):
        np.testing.assert_array_equal(mine, theirs)
    model.save_weights(tmp_path / "w.nerve")
    shutil.copy(tmp_path / "w.nerve", tmp_path / "old.weights.h5")
    loaded.set_weights([np.zeros_like(w) for w in loaded.get_weights()])
    loaded.load_weights(tmp_path / "old.weights.h5")
    for mine, theirs in zip(loaded.get_weights(), model.get_weights()):
        np.testing.assert_array_equal(mine, theirs)


def test_the_step_activation_is_refused_and_nothing_written(tmp_path):
    model = nerve.Sequential([nerve.Input((3,)), layers.Dense(2, activation="step")])
    with pytest.raises(ValueError, match=r"'step'.*\.nerve"):
        model.save(tmp_path / "m.keras")
    assert os.listdir(tmp_path) == []


def test_compile_settings_are_written_for_keras(tmp_path):
    model = nerve.Sequential([nerve.Input((3,)), layers.Dense(2)])
    model.compile(optimizer=nerve.optimizers.RMSprop(0.02), loss="mse", metrics=["mae"])
    model.save(tmp_path / "m.keras")
    with pytest.warns(UserWarning, match="Skipping variable loading for optimizer"):
        opened = keras.saving.load_model(tmp_path / "m.keras")  # Keras says the state is new
    assert type(opened.optimizer).__name__ == "RMSprop" and opened.loss == "mse"
    assert float(opened.optimizer.learning_rate) == pytest.approx(0.02)
    assert nerve.models.load_model(tmp_path / "m.keras").get_compile_config() == \
        model.get_compile_config()


def test_compile_settings_keras_lacks_are_left_out_with_a_warning(tmp_path):
    @nerve.saving.register_keras_serializable(package="test_keras_files")
    def halved_mse(y_true, y_pred):
        return nerve.losses.mean_squared_error(y_true, y_pred) / 2

    model = nerve.Sequential([nerve.Input((3,)), layers.Dense(2)])
    model.compile(optimizer="sgd", loss=halved_mse)
    with pytest.warns(UserWarning, match="test_keras_files>halved_mse.*loads uncompiled"):
        model.save(tmp_path / "m.keras")
    assert getattr(keras.saving.load_model(tmp_path / "m.keras"), "optimizer", None) is None
