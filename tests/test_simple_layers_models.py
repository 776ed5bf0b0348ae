"""The activation, preprocessing, reshaping and spatial dropout layers inside models: config
round trips, saving and loading, summary counts, training on the C++ and reference backends,
and Normalization's adapt()."""
import warnings

import numpy as np
import pytest

import nerve
from nerve import layers


def every_layer():
    return [layers.ReLU(max_value=6.0, negative_slope=0.1, threshold=0.5, name="relu6"),
            layers.LeakyReLU(negative_slope=0.2), layers.ELU(alpha=0.5),
            layers.Softmax(axis=(1, 2)),
            layers.PReLU(alpha_initializer="ones", alpha_regularizer="l2",
                         alpha_constraint="non_neg", shared_axes=[1]),
            layers.Normalization(axis=(1, 2), mean=[[1.0], [2.0]], variance=[[4.0], [9.0]],
                                 invert=True),
            layers.Normalization(axis=None),
            layers.Rescaling([1.0, 2.0, 3.0], offset=0.5), layers.Reshape((3, -1)),
            layers.Permute((2, 1)), layers.SpatialDropout1D(0.3, seed=4),
            layers.SpatialDropout2D(0.2, data_format="channels_first")]


@pytest.mark.parametrize("layer", every_layer(), ids=lambda layer: type(layer).__name__)
def test_config_round_trips(layer):
    config = layer.get_config()
    again = type(layer).from_config(config)
    assert again.get_config() == config
    serialized = layers.serialize(layer)
    assert serialized["class_name"] == type(layer).__name__
    assert type(layers.deserialize(serialized)) is type(layer)


def test_configs_hold_keras_keys():
    assert layers.ReLU().get_config().keys() >= {"max_value", "negative_slope", "threshold"}
    assert layers.Softmax().get_config()["axis"] == -1
    normalization = layers.Normalization().get_config()
    assert normalization["axis"] == (-1,) and normalization["mean"] is None
    assert layers.Normalization(mean=2.0, variance=3.0).get_config()["variance"] == 3.0
    assert layers.Reshape([2, 3]).get_config()["target_shape"] == (2, 3)
    assert layers.Permute([2, 1]).get_config()["dims"] == (2, 1)
    spatial = layers.SpatialDropout2D(0.5).get_config()
    assert spatial["data_format"] == "channels_last" and "noise_shape" not in spatial
    prelu = layers.PReLU().get_config()
    assert prelu["alpha_initializer"]["class_name"] == "Zeros" and prelu["shared_axes"] is None


def image_model():
    """Every layer in one small network on (4, 3) samples."""
    inputs = nerve.Input(shape=(4, 3))
    x = layers.Rescaling([1.0, 0.5, 2.0], offset=-0.5)(inputs)
    x = layers.Normalization(mean=[0.1, 0.0, -0.1], variance=[1.0, 2.0, 0.5])(x)
    x = layers.Permute((2, 1))(x)  # (3, 4)
    x = layers.SpatialDropout1D(0.25, seed=5)(x)
    x = layers.Reshape((12,))(x)
    x = layers.Dense(8, kernel_initializer=nerve.initializers.RandomNormal(seed=1))(x)
    x = layers.PReLU(alpha_initializer=nerve.initializers.Constant(0.2))(x)
    x = layers.Reshape((2, 2, 2))(x)
    x = layers.SpatialDropout2D(0.25, seed=6)(x)
    x = layers.Reshape((8,))(x)
    x = layers.ELU()(layers.LeakyReLU()(layers.ReLU(max_value=4.0, threshold=0.1,
                                                     negative_slope=0.3)(x)))
    x = layers.Dense(3, kernel_initializer=nerve.initializers.RandomNormal(seed=2))(x)
    outputs = layers.Softmax()(x)
    return nerve.Model(inputs, outputs)


def image_data(rows=48, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(rows, 4, 3)).astype(np.float32)
    labels = (x[:, :, 0].sum(1) > 0).astype(int) + (x[:, :, 1].sum(1) > 0)
    return x, nerve.utils.to_categorical(labels, 3)


def test_cpp_and_reference_backends_train_alike():
    x, y = image_data()
    weights = {}
    for backend in ("cpp", "numpy"):
        nerve.utils.set_random_seed(3)
        model = image_model()
        model.compile(optimizer=nerve.optimizers.Adam(0.01), loss="categorical_crossentropy")
        with nerve.use_backend(backend):
            history = model.fit(x, y, batch_size=16, epochs=3, shuffle=False, verbose=0)
        weights[backend] = model.get_weights()
        assert history.history["loss"][-1] < history.history["loss"][0]
    for a, b in zip(weights["cpp"], weights["numpy"]):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)


def test_model_saves_and_loads(tmp_path):
    x, y = image_data()
    model = image_model()
    model.compile(optimizer="adam", loss="categorical_crossentropy")
    model.fit(x, y, batch_size=16, epochs=1, verbose=0)
    model.save(tmp_path / "model.nerve")
    loaded = nerve.models.load_model(tmp_path / "model.nerve")
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
    assert [type(layer).__name__ for layer in loaded.layers] == \
        [type(layer).__name__ for layer in model.layers]


def test_summary_counts_prelu_alpha_and_normalization_state():
    normalization = layers.Normalization(name="normalization")
    normalization.adapt(np.random.default_rng(0).normal(size=(20, 8)))
    model = nerve.Sequential([nerve.Input(shape=(8,)), normalization, layers.Dense(4),
                              layers.PReLU(), layers.Dense(2), layers.Softmax()])
    lines = []
    model.summary(print_fn=lines.append)
    text = "\n".join(lines)
    # Keras: the adapted mean and variance (8 each) and count (1) are non-trainable weights.
    assert "│ normalization (Normalization)   │ (None, 8)              │            17 │" in text
    assert [w.name for w in normalization.weights] == ["mean", "variance", "count"]
    assert normalization.count_params() == 17 and not normalization.trainable_weights
    assert model.layers[2].count_params() == 4  # PReLU: one alpha per feature
    assert "Total params: 67" in text and "Non-trainable params: 17" in text
    assert layers.Normalization(mean=0.0, variance=1.0).count_params() == 0


# ---- Normalization.adapt -----------------------------------------------------------------------

def test_adapt_learns_mean_and_variance_over_all_axes_but_axis():
    data = np.random.default_rng(1).normal(3.0, 2.0, size=(50, 4, 3)).astype(np.float32)
    for axis, reduced in ((-1, (0, 1)), (1, (0, 2)), ((1, 2), (0,)), (None, (0, 1, 2))):
        layer = layers.Normalization(axis=axis)
        layer.adapt(data)
        mean = data.astype(np.float64).mean(axis=reduced, keepdims=True)
        std = data.astype(np.float64).std(axis=reduced, keepdims=True)
        np.testing.assert_allclose(layer.mean, mean, rtol=1e-5)
        np.testing.assert_allclose(layer.variance, std ** 2, rtol=1e-5)
        np.testing.assert_allclose(layer(data), (data - mean) / std, rtol=1e-4, atol=1e-5)


def test_adapt_keras_examples():
    scalar = layers.Normalization(axis=None)
    scalar.adapt(np.array([1.0, 2.0, 3.0, 4.0, 5.0], np.float32))
    np.testing.assert_allclose(scalar(np.array([1.0, 2.0, 3.0], np.float32)),
                               [-1.4142135, -0.70710677, 0.0], rtol=1e-6)
    layer = layers.Normalization(axis=-1)
    layer.adapt(np.array([[0.0, 7.0, 4.0], [2.0, 9.0, 6.0], [0.0, 7.0, 4.0], [2.0, 9.0, 6.0]]))
    np.testing.assert_allclose(layer(np.array([[0.0, 7.0, 4.0]])), [[-1.0, -1.0, -1.0]])
    inverse = layers.Normalization(axis=-1, invert=True)
    inverse.adapt(np.array([[0.0, 7.0, 4.0], [2.0, 9.0, 6.0]]))
    np.testing.assert_allclose(inverse(np.array([[1.0, 2.0, 3.0]])), [[2.0, 10.0, 8.0]])
    given = layers.Normalization(mean=3.0, variance=2.0)
    np.testing.assert_allclose(given(np.array([[1.0], [2.0], [3.0]])),
                               [[-1.4142135], [-0.70710677], [0.0]], rtol=1e-6)


def test_adapt_over_batches_equals_adapt_over_the_whole_array():
    data = np.random.default_rng(2).normal(size=(70, 5))
    whole = layers.Normalization()
    whole.adapt(data)

    class Batches(nerve.utils.PyDataset):
        def __len__(self):
            return 3

        def __getitem__(self, index):
            return data[index * 32:(index + 1) * 32], np.zeros(1)

    for source in ([data[:30], data[30:]], (b for b in np.array_split(data, 4)), Batches()):
        layer = layers.Normalization()
        layer.adapt(source)
        np.testing.assert_allclose(layer.mean, whole.mean, rtol=1e-6)
        np.testing.assert_allclose(layer.variance, whole.variance, rtol=1e-6)
    assert whole.get_weights()[2] == 70  # count: the values reduced per feature


def test_adapt_again_updates_a_model_already_predicting():
    layer = layers.Normalization()
    model = nerve.Sequential([nerve.Input(shape=(2,)), layer])
    layer.adapt(np.array([[0.0, 0.0], [2.0, 4.0]]))
    np.testing.assert_allclose(model.predict(np.array([[2.0, 4.0]]), verbose=0), [[1.0, 1.0]])
    layer.adapt(np.array([[2.0, 4.0], [4.0, 8.0]]))
    np.testing.assert_allclose(model.predict(np.array([[2.0, 4.0]]), verbose=0), [[-1.0, -1.0]])


def test_normalization_before_adapt_is_a_clear_error():
    layer = layers.Normalization(name="norm")
    model = nerve.Sequential([nerve.Input(shape=(3,)), layer, layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    weights = model.get_weights()
    message = r"norm: Normalization has no mean and variance yet: call norm.adapt\(data\)"
    with pytest.raises(ValueError, match=message):
        model.predict(np.ones((2, 3)), verbose=0)
    with pytest.raises(ValueError, match=message):
        model.fit(np.ones((2, 3)), np.ones((2, 1)), verbose=0)
    with pytest.raises(ValueError, match=message):
        layers.Normalization(name="norm")(np.ones((2, 3)))
    for before, after in zip(weights, model.get_weights()):
        np.testing.assert_array_equal(before, after)
    layer.adapt(np.random.default_rng(0).normal(size=(10, 3)))
    assert model.predict(np.ones((2, 3)), verbose=0).shape == (2, 1)


def test_normalization_weights_set_from_elsewhere_count_as_adapted():
    # Keras's own count stays 0: weights copied from a Keras model must still work.
    layer = layers.Normalization()
    model = nerve.Sequential([nerve.Input(shape=(2,)), layer])
    model.set_weights([np.array([1.0, 2.0]), np.array([4.0, 1.0]), np.array(0.0)])
    np.testing.assert_allclose(model.predict(np.array([[3.0, 3.0]]), verbose=0), [[1.0, 1.0]])


def test_adapt_bad_data():
    with pytest.raises(TypeError, match="adapt: expected a NumPy array, a PyDataset"):
        layers.Normalization().adapt(5)
    with pytest.raises(ValueError, match="adapt\\(\\) received no batches"):
        layers.Normalization().adapt([])
    with pytest.raises(TypeError, match="expected arrays of numbers"):
        layers.Normalization().adapt(np.array(["a", "b"]))
    with pytest.raises(ValueError, match="adapt\\(\\) expected batches like"):
        layers.Normalization().adapt([np.ones((4, 3)), np.ones((4, 2))])
    with pytest.raises(ValueError, match="they were given as arguments"):
        layers.Normalization(mean=0.0, variance=1.0).adapt(np.ones((4, 3)))
    with pytest.raises(ValueError, match="received no values"):
        layers.Normalization().adapt(np.ones((0, 3)))


def test_the_regression_tutorial_flow_saves_and_loads(tmp_path):
    """Keras's regression tutorial: adapt, then a Sequential without Input, fit, save, load."""
    rng = np.random.default_rng(3)
    x = rng.normal(5.0, 3.0, size=(64, 4)).astype(np.float32)
    y = (x @ np.array([1.0, -1.0, 0.5, 2.0]) + 1.0).astype(np.float32)[:, None]
    normalizer = layers.Normalization(axis=-1)
    normalizer.adapt(x)
    model = nerve.Sequential([normalizer, layers.Dense(8, activation="relu"), layers.Dense(1)])
    model.compile(optimizer=nerve.optimizers.Adam(0.05), loss="mse")
    history = model.fit(x, y, epochs=20, verbose=0)
    assert history.history["loss"][-1] < 0.2 * history.history["loss"][0]
    model.save(tmp_path / "regression.nerve")
    loaded = nerve.models.load_model(tmp_path / "regression.nerve")
    np.testing.assert_allclose(loaded.layers[0].mean, normalizer.mean)
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))


def test_softmax_layer_with_categorical_crossentropy_trains_like_a_softmax_dense():
    x, y = image_data()
    x = x.reshape(len(x), -1)
    results = []
    for last in ("dense", "layer"):
        nerve.utils.set_random_seed(7)
        head = [layers.Dense(3, activation="softmax")] if last == "dense" else \
            [layers.Dense(3), layers.Softmax()]
        model = nerve.Sequential([nerve.Input(shape=(12,))] + head)
        model.compile(optimizer="sgd", loss="categorical_crossentropy")
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            model.fit(x, y, batch_size=16, epochs=2, shuffle=False, verbose=0)
        results.append(model.get_weights())
    for a, b in zip(*results):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_prelu_alpha_trains_unless_frozen():
    x, y = image_data()
    x = x.reshape(len(x), -1)
    for trainable in (True, False):
        prelu = layers.PReLU(alpha_initializer=nerve.initializers.Constant(0.1),
                             trainable=trainable)
        model = nerve.Sequential([nerve.Input(shape=(12,)), layers.Dense(6), prelu,
                                  layers.Dense(3, activation="softmax")])
        model.compile(optimizer=nerve.optimizers.SGD(0.5), loss="categorical_crossentropy")
        model.fit(x, y, batch_size=16, epochs=2, verbose=0)
        assert (prelu.count_params() == 6) and (len(model.trainable_weights) == 4 + trainable)
        assert np.any(prelu.alpha != np.float32(0.1)) == trainable
