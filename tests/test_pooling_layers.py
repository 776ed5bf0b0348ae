"""Pooling, padding and upsampling layers: Keras's output shapes, names and configs; values
against direct NumPy windows on both backends; channels_first; gradients by central
differences; a small convnet trained through them to the same weights on both backends;
summary and saving; the errors bad input gets."""
import numpy as np
import pytest
from numpy.lib.stride_tricks import sliding_window_view

import nerve
from helpers import central_difference, fit_on_both_backends, plan_gradients
from nerve import layers, ops

BACKENDS = pytest.mark.parametrize("backend", ["cpp", "numpy"])


def direct_pool(x, pool, strides, pads, mode):
    """NHWC pooling of float64 windows: x padded with NaN, which nanmax / nanmean ignore."""
    padded = np.pad(x.astype(np.float64), ((0, 0), pads[0], pads[1], (0, 0)),
                    constant_values=np.nan)
    windows = sliding_window_view(padded, pool, axis=(1, 2))[:, ::strides[0], ::strides[1]]
    return (np.nanmax if mode == "max" else np.nanmean)(windows, axis=(-2, -1))


# (layer, sample shape, Keras's output sample shape, (pads before/after per axis))
LOCAL = [
    (lambda: layers.MaxPooling2D(), (7, 6, 3), (3, 3, 3), ((0, 0), (0, 0))),
    (lambda: layers.MaxPooling2D((3, 2), strides=(1, 2), padding="same"), (5, 7, 2), (5, 4, 2),
     ((1, 1), (0, 1))),
    (lambda: layers.AveragePooling2D(2, padding="same"), (5, 5, 4), (3, 3, 4),
     ((0, 1), (0, 1))),
    (lambda: layers.AveragePooling2D((3, 3), strides=2), (7, 8, 1), (3, 3, 1),
     ((0, 0), (0, 0))),
    (lambda: layers.MaxPooling2D(4, strides=1, padding="SAME"), (3, 2, 37), (3, 2, 37),
     ((1, 2), (1, 2))),
    (lambda: layers.AveragePooling2D(3, strides=3, padding="same"), (4, 5, 2), (2, 2, 2),
     ((1, 1), (0, 1))),
    (lambda: layers.MaxPooling1D(), (9, 3), (4, 3), ((0, 0), (0, 0))),
    (lambda: layers.AveragePooling1D(3, strides=2, padding="same"), (8, 2), (4, 2),
     ((0, 0), (0, 1))),
    (lambda: layers.MaxPooling1D(2, strides=1, padding="same"), (5, 1), (5, 1),
     ((0, 0), (0, 1))),
    (lambda: layers.AveragePooling1D(4, strides=3), (11, 5), (3, 5), ((0, 0), (0, 0))),
]


@BACKENDS
@pytest.mark.parametrize("make, shape, out, pads", LOCAL)
def test_local_pooling_shapes_and_values(make, shape, out, pads, backend):
    layer = make()
    x = np.random.default_rng(0).normal(size=(3,) + shape).astype(np.float32)
    with nerve.use_backend(backend):
        y = layer(x)
    assert y.shape == (3,) + out and y.dtype == np.float32
    assert layer.compute_output_shape((None,) + shape) == (None,) + out
    image = x if len(shape) == 3 else x[:, None]
    pool = layer.pool_size if len(shape) == 3 else (1,) + layer.pool_size
    strides = layer.strides if len(shape) == 3 else (1,) + layer.strides
    expected = direct_pool(image, pool, strides, pads, "max" if "Max" in type(layer).__name__
                           else "avg").reshape(y.shape)
    np.testing.assert_allclose(y, expected, rtol=1e-6, atol=1e-6)


@BACKENDS
@pytest.mark.parametrize("make", [
    lambda f: layers.MaxPooling2D(3, 2, "same", data_format=f),
    lambda f: layers.AveragePooling2D((2, 3), data_format=f),
    lambda f: layers.GlobalMaxPooling2D(data_format=f),
    lambda f: layers.GlobalAveragePooling2D(data_format=f, keepdims=True),
    lambda f: layers.ZeroPadding2D(((1, 0), (2, 3)), data_format=f),
    lambda f: layers.UpSampling2D((3, 2), data_format=f),
])
def test_channels_first_is_the_transpose_of_channels_last(make, backend):
    x = np.random.default_rng(1).normal(size=(2, 7, 8, 3)).astype(np.float32)
    with nerve.use_backend(backend):
        last = make(None)(x)
        first = make("channels_first")(np.ascontiguousarray(x.transpose(0, 3, 1, 2)))
    np.testing.assert_allclose(first, np.moveaxis(last, -1, 1) if last.ndim == 4 else last,
                               rtol=1e-6)


@BACKENDS
@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
def test_1d_channels_first(data_format, backend):
    x = np.random.default_rng(2).normal(size=(2, 9, 4)).astype(np.float32)
    given = x if data_format == "channels_last" else np.ascontiguousarray(x.transpose(0, 2, 1))
    with nerve.use_backend(backend):
        y = layers.MaxPooling1D(3, 2, "same", data_format=data_format)(given)
        pooled = layers.GlobalAveragePooling1D(data_format=data_format, keepdims=True)(given)
    y = y if data_format == "channels_last" else y.transpose(0, 2, 1)
    expected = direct_pool(x[:, None], (1, 3), (1, 2), ((0, 0), (1, 1)), "max")[:, 0]
    np.testing.assert_allclose(y, expected, rtol=1e-6)
    assert pooled.shape == ((2, 1, 4) if data_format == "channels_last" else (2, 4, 1))
    np.testing.assert_allclose(pooled.reshape(2, 4), x.mean(axis=1), rtol=1e-5)


@BACKENDS
@pytest.mark.parametrize("rank", [1, 2])
def test_global_pooling_values_and_keepdims(rank, backend):
    shape = (3, 5, 4, 6)[:rank + 1] + (6,)
    x = np.random.default_rng(3).normal(size=shape).astype(np.float32)
    axes = tuple(range(1, rank + 1))
    names = {"Max": np.max, "Average": np.mean}
    for kind, reduce in names.items():
        cls = getattr(layers, f"Global{kind}Pooling{rank}D")
        with nerve.use_backend(backend):
            y, kept = cls()(x), cls(keepdims=True)(x)
        np.testing.assert_allclose(y, reduce(x, axis=axes), rtol=1e-5, atol=1e-6)
        assert kept.shape == (3,) + (1,) * rank + (6,)
        np.testing.assert_array_equal(kept.reshape(y.shape), y)


@BACKENDS
def test_zero_padding_and_upsampling_values(backend):
    x = np.random.default_rng(4).normal(size=(2, 3, 4, 2)).astype(np.float32)
    with nerve.use_backend(backend):
        for padding, pads in ((2, ((2, 2), (2, 2))), ((1, 3), ((1, 1), (3, 3))),
                              (((0, 2), (1, 0)), ((0, 2), (1, 0)))):
            layer = layers.ZeroPadding2D(padding)
            assert layer.padding == pads
            np.testing.assert_array_equal(layer(x), np.pad(x, ((0, 0), *pads, (0, 0))))
        y = layers.UpSampling2D((2, 3))(x)
        np.testing.assert_array_equal(y, x.repeat(2, axis=1).repeat(3, axis=2))


# ---- gradients, by central differences of s = sum(layer(x) * r) in float64 ----

GRADIENT_LAYERS = [
    lambda: layers.MaxPooling2D(3, 2, "same", dtype="float64"),
    lambda: layers.AveragePooling2D(2, 1, "same", dtype="float64"),
    lambda: layers.MaxPooling2D(2, data_format="channels_first", dtype="float64"),
    lambda: layers.AveragePooling1D(3, 2, dtype="float64"),
    lambda: layers.MaxPooling1D(2, 1, "same", data_format="channels_first", dtype="float64"),
    lambda: layers.GlobalMaxPooling2D(dtype="float64"),
    lambda: layers.GlobalAveragePooling1D(keepdims=True, dtype="float64"),
    lambda: layers.ZeroPadding2D(((1, 2), (0, 1)), dtype="float64"),
    lambda: layers.UpSampling2D((2, 3), data_format="channels_first", dtype="float64"),
]


@BACKENDS
@pytest.mark.parametrize("make", GRADIENT_LAYERS)
def test_gradients_match_central_differences(make, backend):
    layer = make()
    one_d = isinstance(layer, (layers.AveragePooling1D, layers.MaxPooling1D,
                               layers.GlobalAveragePooling1D))
    shape = (2, 7, 3) if one_d else (2, 5, 6, 3)
    size = int(np.prod(shape))
    # Distinct values, far apart next to the step: no window maximum changes under it.
    x = (np.random.default_rng(5).permutation(size) / size).reshape(shape)
    with nerve.use_backend(backend):
        # Through ops.multiply: a layer called on a bare Variable gets no gradient in a plan.
        value, (grad,) = plan_gradients(lambda v: layer(ops.multiply(v, 1.0)), [x])
        cotangent = np.random.default_rng(0).uniform(0.5, 1.5, layer(x).shape)
        numeric = central_difference(lambda v: float(np.sum(layer(v) * cotangent)), x,
                                     eps=0.1 / size)
    assert value == pytest.approx(float(np.sum(layer(x) * cotangent)))
    np.testing.assert_allclose(grad, numeric, rtol=1e-7, atol=1e-9)


# ---- in models ----

def small_convnet():
    return nerve.Sequential([
        nerve.Input(shape=(9, 8, 2)),
        layers.Conv2D(4, 3, padding="same", activation="relu"),
        layers.MaxPooling2D(),
        layers.ZeroPadding2D(1),
        layers.AveragePooling2D(2, strides=1, padding="same"),
        layers.UpSampling2D(2),
        layers.MaxPooling2D(3, strides=2, padding="same", data_format="channels_first"),
        layers.Conv2D(5, 2, activation="tanh"),
        layers.GlobalAveragePooling2D(),
        layers.Dense(3, activation="softmax")])


def small_sequence_net():
    return nerve.Sequential([
        nerve.Input(shape=(12, 3)),
        layers.Conv1D(4, 3, activation="relu"),
        layers.MaxPooling1D(2, padding="same"),
        layers.AveragePooling1D(2, strides=1),
        layers.GlobalMaxPooling1D(),
        layers.Dense(2, activation="softmax")])


@pytest.mark.parametrize("make, shape, classes", [(small_convnet, (9, 8, 2), 3),
                                                  (small_sequence_net, (12, 3), 2)])
def test_both_backends_train_to_the_same_weights(make, shape, classes):
    rng = np.random.default_rng(6)
    x = rng.normal(size=(32,) + shape).astype(np.float32)
    y = np.eye(classes)[rng.integers(0, classes, 32)]
    results = fit_on_both_backends(make, x, y, epochs=4, seed=7)
    for a, b in zip(results[0][0], results[1][0]):
        np.testing.assert_allclose(a, b, rtol=2e-4, atol=2e-5)
    assert results[0][1][-1] < results[0][1][0]


def test_names_summary_config_and_saving(tmp_path, capsys):
    model = small_convnet()
    model.summary()
    text = capsys.readouterr().out
    for row in ("(MaxPooling2D)", "(None, 4, 4, 4)", "(ZeroPadding2D)", "(None, 6, 6, 4)",
                "(UpSampling2D)", "(None, 12, 12, 4)", "(None, 12, 6, 2)",
                "(GlobalAveragePooling2D)", "(None, 5)"):
        assert row in text, row
    names = [layer.name for layer in model.layers]
    for prefix in ("max_pooling2d", "zero_padding2d", "average_pooling2d", "up_sampling2d",
                   "global_average_pooling2d"):
        assert any(n.startswith(prefix) for n in names), (prefix, names)
    assert model.layers[1].get_config() == {
        "name": model.layers[1].name, "trainable": True, "dtype": "float32",
        "pool_size": (2, 2), "padding": "valid", "strides": (2, 2),
        "data_format": "channels_last"}
    for layer in model.layers[1:]:
        config = layer.get_config()
        if layer.weights:
            continue
        assert type(layer).from_config(config).get_config() == config
    x = np.random.default_rng(8).normal(size=(4, 9, 8, 2)).astype(np.float32)
    path = tmp_path / "pooled.nerve"
    model.save(path)
    loaded = nerve.models.load_model(path)
    assert [type(l) for l in loaded.layers] == [type(l) for l in model.layers]
    assert loaded.layers[5].get_config() == model.layers[5].get_config()
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))


def test_global_and_resizing_configs():
    assert layers.GlobalMaxPooling1D().get_config()["keepdims"] is False
    assert layers.GlobalAveragePooling2D(data_format="channels_first").get_config()[
        "data_format"] == "channels_first"
    assert layers.ZeroPadding2D().get_config()["padding"] == ((1, 1), (1, 1))
    config = layers.UpSampling2D(3, interpolation="NEAREST").get_config()
    assert config["size"] == (3, 3) and config["interpolation"] == "nearest"
    assert layers.MaxPooling1D().get_config()["pool_size"] == (2,)
    assert layers.AvgPool2D is layers.AveragePooling2D
    assert layers.GlobalMaxPool1D is layers.GlobalMaxPooling1D


@pytest.mark.parametrize("make, shape, message", [
    (lambda: layers.MaxPooling2D(), (None, 784), "takes 4-D inputs"),
    (lambda: layers.AveragePooling1D(), (None, 8, 8, 1), "takes 3-D inputs"),
    (lambda: layers.MaxPooling2D(5), (None, 4, 4, 1), "does not fit"),
    (lambda: layers.AveragePooling1D(4, padding="valid"), (None, 3, 2), "does not fit"),
    (lambda: layers.GlobalAveragePooling2D(), (None, 8, 3), "takes 4-D inputs"),
    (lambda: layers.GlobalMaxPooling1D(), (None, 8), "takes 3-D inputs"),
    (lambda: layers.ZeroPadding2D(), (None, 8, 3), "takes 4-D inputs"),
    (lambda: layers.UpSampling2D(), (None, 2, 8, 8, 3), "takes 4-D inputs"),
])
def test_bad_inputs_name_the_layer(make, shape, message):
    layer = make()
    with pytest.raises(ValueError, match=message) as raised:
        layer(nerve.Input(batch_shape=shape))
    assert layer.name in str(raised.value)


@pytest.mark.parametrize("make", [
    lambda: layers.MaxPooling2D(0), lambda: layers.MaxPooling2D(-1),
    lambda: layers.MaxPooling2D(2.5), lambda: layers.MaxPooling2D((2, 2, 2)),
    lambda: layers.MaxPooling1D((2, 2)), lambda: layers.AveragePooling2D(2, strides=0),
    lambda: layers.AveragePooling2D(2, padding="full"),
    lambda: layers.MaxPooling2D(data_format="nhwc"), lambda: layers.MaxPooling2D(True),
    lambda: layers.GlobalMaxPooling2D(data_format="NHWC"),
    lambda: layers.ZeroPadding2D(-1), lambda: layers.ZeroPadding2D((1, 2, 3)),
    lambda: layers.ZeroPadding2D(((1, 2, 3), (1, 1))), lambda: layers.ZeroPadding2D("1"),
    lambda: layers.UpSampling2D(0), lambda: layers.UpSampling2D((2, 2, 2)),
    lambda: layers.UpSampling2D(interpolation="cubic"),
    lambda: layers.MaxPooling2D(pool_size=2, unknown=1),
])
def test_bad_arguments_are_value_errors(make):
    with pytest.raises(ValueError):
        make()


def test_unsupported_interpolation_says_what_is():
    with pytest.raises(ValueError, match="only 'nearest'"):
        layers.UpSampling2D(interpolation="bilinear")


def test_a_wrong_shape_predict_leaves_the_model_usable():
    model = small_convnet()
    x = np.zeros((2, 9, 8, 2), np.float32)
    before = model.predict(x, verbose=0)
    with pytest.raises(ValueError):
        model.predict(np.zeros((2, 8, 9, 2), np.float32), verbose=0)
    np.testing.assert_array_equal(model.predict(x, verbose=0), before)
