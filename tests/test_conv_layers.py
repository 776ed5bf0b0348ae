"""Conv1D and Conv2D layers: Keras's shapes, names, weights and config; values against a
direct NumPy convolution; channels_first and causal padding; the C++ and NumPy backends
training a small convnet to the same weights; saving; and the errors bad input gets."""
import numpy as np
import pytest

import nerve
from helpers import fit_on_both_backends
from nerve import layers


def direct_conv(x, kernel, bias, strides, dilation, pads, groups=1):
    """NHWC convolution by explicit loops over output pixels (float64)."""
    x = np.pad(x.astype(np.float64), ((0, 0), pads[0], pads[1], (0, 0)))
    kh, kw, cg, filters = kernel.shape
    fg = filters // groups
    out_h = (x.shape[1] - (kh - 1) * dilation[0] - 1) // strides[0] + 1
    out_w = (x.shape[2] - (kw - 1) * dilation[1] - 1) // strides[1] + 1
    y = np.zeros((x.shape[0], out_h, out_w, filters))
    for i in range(out_h):
        for j in range(out_w):
            rows = slice(i * strides[0], i * strides[0] + (kh - 1) * dilation[0] + 1, dilation[0])
            cols = slice(j * strides[1], j * strides[1] + (kw - 1) * dilation[1] + 1, dilation[1])
            for g in range(groups):
                patch = x[:, rows, cols, g * cg:(g + 1) * cg]
                y[:, i, j, g * fg:(g + 1) * fg] = np.einsum(
                    "nhwc,hwcf->nf", patch, kernel[..., g * fg:(g + 1) * fg])
    return y + bias


@pytest.mark.parametrize("kwargs, shape, out, pads", [
    (dict(filters=4, kernel_size=3), (9, 8, 2), (7, 6, 4), ((0, 0), (0, 0))),
    (dict(filters=3, kernel_size=(2, 3), padding="same"), (6, 7, 2), (6, 7, 3),
     ((0, 1), (1, 1))),
    (dict(filters=5, kernel_size=5, strides=3, padding="same"), (11, 10, 1), (4, 4, 5),
     ((1, 2), (2, 2))),
    (dict(filters=2, kernel_size=3, dilation_rate=2), (9, 9, 3), (5, 5, 2), ((0, 0), (0, 0))),
    (dict(filters=6, kernel_size=3, groups=2, strides=(2, 1)), (9, 7, 4), (4, 5, 6),
     ((0, 0), (0, 0))),
])
def test_conv2d_shapes_and_values_follow_keras(kwargs, shape, out, pads):
    layer = layers.Conv2D(**kwargs, bias_initializer="glorot_uniform")
    x = np.random.default_rng(0).normal(size=(2,) + shape).astype(np.float32)
    y = layer(x)
    assert y.shape == (2,) + out
    kernel, bias = layer.get_weights()
    assert kernel.shape == layer.kernel_size + (shape[-1] // layer.groups, kwargs["filters"])
    expected = direct_conv(x, kernel, bias, layer.strides, layer.dilation_rate, pads,
                           layer.groups)
    np.testing.assert_allclose(y, expected, rtol=1e-5, atol=1e-5)
    assert layer.compute_output_shape((None,) + shape) == (None,) + out


def test_channels_first_is_the_transpose_of_channels_last():
    x = np.random.default_rng(1).normal(size=(3, 8, 7, 2)).astype(np.float32)
    last = layers.Conv2D(4, 3, padding="same", activation="relu")
    first = layers.Conv2D(4, 3, padding="same", activation="relu", data_format="channels_first")
    y_last = last(x)
    first.build((None, 2, 8, 7))
    first.set_weights(last.get_weights())
    y_first = first(np.ascontiguousarray(x.transpose(0, 3, 1, 2)))
    np.testing.assert_allclose(y_first, y_last.transpose(0, 3, 1, 2), rtol=1e-6, atol=1e-6)


def test_conv1d_same_valid_and_causal():
    x = np.random.default_rng(2).normal(size=(2, 10, 3)).astype(np.float32)
    for padding, length, pad in (("valid", 8, (0, 0)), ("same", 10, (1, 1)),
                                 ("causal", 10, (2, 0))):
        layer = layers.Conv1D(4, 3, padding=padding)
        y = layer(x)
        assert y.shape == (2, length, 4)
        kernel, bias = layer.get_weights()
        assert kernel.shape == (3, 3, 4)
        expected = direct_conv(x[:, None], kernel[None], bias, (1, 1), (1, 1), ((0, 0), pad))
        np.testing.assert_allclose(y, expected[:, 0], rtol=1e-5, atol=1e-5)
    # causal: output t reads inputs up to t only
    layer = layers.Conv1D(1, 3, padding="causal")
    changed = x.copy()
    changed[:, 6:] += 1
    np.testing.assert_array_equal(layer(x)[:, :6], layer(changed)[:, :6])


def small_convnet():
    return nerve.Sequential([
        nerve.Input(shape=(10, 9, 2)),
        layers.Conv2D(4, 3, padding="same", activation="relu"),
        layers.Conv2D(6, (2, 3), strides=2, activation="tanh"),
        layers.Conv2D(3, 1, groups=3, use_bias=False),
        layers.Flatten(),
        layers.Dense(3, activation="softmax")])


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_both_backends_train_a_convnet_to_the_same_weights(dtype):
    rng = np.random.default_rng(3)
    x = rng.normal(size=(40, 10, 9, 2)).astype(dtype)
    y = np.eye(3)[rng.integers(0, 3, 40)]
    nerve.utils.set_floatx(dtype)
    try:
        results = fit_on_both_backends(small_convnet, x, y, epochs=3, seed=5)
    finally:
        nerve.utils.set_floatx("float32")
    tolerance = dict(rtol=2e-4, atol=2e-5) if dtype == "float32" else dict(rtol=1e-9, atol=1e-11)
    for a, b in zip(results[0][0], results[1][0]):
        np.testing.assert_allclose(a, b, **tolerance)
    assert results[0][1][-1] < results[0][1][0]


def test_summary_names_config_and_saving(tmp_path, capsys):
    model = small_convnet()
    model.summary()
    text = capsys.readouterr().out
    assert "(Conv2D)" in text and "(None, 10, 9, 4)" in text and "(None, 5, 4, 6)" in text
    conv = model.layers[0]
    assert conv.name.startswith("conv2d")
    assert [w.path.split("/")[-1] for w in conv.weights] == ["kernel", "bias"]
    assert conv.count_params() == 3 * 3 * 2 * 4 + 4
    config = model.layers[1].get_config()
    assert config["kernel_size"] == (2, 3) and config["strides"] == (2, 2)
    assert config["padding"] == "valid" and config["data_format"] == "channels_last"
    clone = layers.Conv2D.from_config(config)
    assert clone.get_config() == config
    x = np.random.default_rng(4).normal(size=(5, 10, 9, 2)).astype(np.float32)
    path = tmp_path / "convnet.nerve"
    model.save(path)
    loaded = nerve.models.load_model(path)
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))


@pytest.mark.parametrize("make, shape, message", [
    (lambda: layers.Conv2D(4, 3), (None, 784), "inputs of shape"),
    (lambda: layers.Conv2D(4, 5), (None, 4, 4, 1), "larger than"),
    (lambda: layers.Conv1D(4, 3), (None, 10, 3, 1), "inputs of shape"),
    (lambda: layers.Conv2D(4, 3, groups=2), (None, 8, 8, 3), "multiple of groups"),
])
def test_bad_inputs_name_the_layer(make, shape, message):
    layer = make()
    with pytest.raises(ValueError, match=message) as raised:
        layer(nerve.Input(batch_shape=shape))
    assert layer.name in str(raised.value)
    assert not layer.weights


@pytest.mark.parametrize("kwargs", [
    dict(filters=0, kernel_size=3), dict(filters=2.5, kernel_size=3),
    dict(filters=4, kernel_size=-1), dict(filters=4, kernel_size=(3, 3, 3)),
    dict(filters=4, kernel_size=3, strides=0), dict(filters=4, kernel_size=3, padding="full"),
    dict(filters=4, kernel_size=3, strides=2, dilation_rate=2),
    dict(filters=5, kernel_size=3, groups=2), dict(filters=4, kernel_size=3, data_format="nhwc"),
    dict(filters=4, kernel_size=3, padding="causal"),
])
def test_bad_arguments_are_value_errors(kwargs):
    with pytest.raises(ValueError):
        layers.Conv2D(**kwargs)


def test_a_wrong_shape_predict_leaves_the_model_usable():
    model = small_convnet()
    x = np.zeros((2, 10, 9, 2), np.float32)
    before = model.predict(x, verbose=0)
    with pytest.raises(ValueError):
        model.predict(np.zeros((2, 9, 10, 2), np.float32), verbose=0)
    np.testing.assert_array_equal(model.predict(x, verbose=0), before)
