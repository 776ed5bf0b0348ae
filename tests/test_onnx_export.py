"""ONNX export: the file model.export(path, format="onnx") writes runs in onnxruntime with
the predictions of model.predict, at any batch size."""
import os
import pathlib
import sys

import numpy as np
import pytest

pytest.importorskip("onnx")
onnxruntime = pytest.importorskip("onnxruntime")

import nerve  # noqa: E402
from helpers import interop_inputs, randomized_model  # noqa: E402
from nerve import layers  # noqa: E402


def assert_close(actual, expected):
    """float32 rounding, which normalizing a few channels amplifies: tolerance on the scale of
    the outputs (nerve and onnxruntime are equally far from a float64 run)."""
    np.testing.assert_allclose(actual, expected, rtol=1e-5,
                               atol=1e-6 * max(1.0, np.abs(expected).max()))


def mlp():
    return nerve.Sequential([nerve.Input((20,)), layers.Dense(16, activation="relu"),
                             layers.BatchNormalization(), layers.Dropout(0.3),
                             layers.Dense(12, activation="silu"), layers.LeakyReLU(0.1),
                             layers.Dense(8, activation="elu"), layers.Activation("tanh"),
                             layers.Dense(4, activation="softmax")])


def cnn():
    x = nerve.Input((9, 9, 3), name="image")
    h = layers.Conv2D(6, 3, padding="same", activation="relu")(x)
    skip = layers.Conv2D(6, 1, use_bias=False)(x)
    h = layers.BatchNormalization()(layers.Add()([h, skip]))
    pooled = layers.Concatenate()([layers.MaxPooling2D(padding="same")(h),
                                   layers.AveragePooling2D(3, strides=2, padding="same")(h)])
    mean = layers.GlobalAveragePooling2D()(pooled)
    flat = layers.Dense(5, activation="sigmoid")(layers.Flatten()(layers.ReLU()(pooled)))
    h = layers.Reshape((2, 8))(layers.Concatenate()([flat, layers.Dense(11)(mean)]))
    return nerve.Model(x, layers.Softmax()(layers.Dense(3)(layers.Flatten()(h))))


def text():
    return nerve.Sequential([nerve.Input((7,), dtype="int32"), layers.Embedding(30, 4),
                             layers.Conv1D(5, 3, strides=2, activation="gelu"),
                             layers.MaxPooling1D(2, padding="same"),
                             layers.GlobalMaxPooling1D(), layers.Dense(1, activation="sigmoid")])


def extras():
    x = nerve.Input((6, 6, 2), name="image")
    h = layers.Rescaling(0.5, offset=0.1)(x)
    h = layers.Conv2D(3, 3, strides=2, padding="same")(layers.ZeroPadding2D(((1, 0), (2, 1)))(h))
    h = layers.Conv2D(3, 3, padding="same", dilation_rate=2)(h)  # explicit pads for ORT
    h = layers.LayerNormalization()(layers.UpSampling2D((2, 1))(h))
    h = layers.Flatten()(layers.ReLU(max_value=0.8, negative_slope=0.1)(h))
    a, b = layers.Dense(6)(h), layers.PReLU()(layers.Dense(6)(h))
    merged = layers.Concatenate()([layers.Multiply()([a, b]), layers.Subtract()([a, b]),
                                   layers.Maximum()([a, b]), layers.Average()([a, b])])
    return nerve.Model(x, layers.Dense(2)(merged))


def towers():
    left, right = nerve.Input((6,), name="left"), nerve.Input((4,), name="right")
    a = layers.Dense(5, activation="relu")(left)
    b = layers.Dense(5, activation="softplus")(right)
    dots = [layers.Dot(axes=1)([a, b]), layers.Dot(axes=-1, normalize=True)([a, b])]
    return nerve.Model([left, right], layers.Dense(3)(layers.Concatenate()([a, *dots])))


@pytest.mark.parametrize("make", [mlp, cnn, text, extras, towers])
def test_onnxruntime_gives_the_predictions_of_predict(tmp_path, make):
    model, rng = randomized_model(make)
    path = tmp_path / "m.onnx"
    model.export(path, format="onnx")
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    names = [given.name for given in session.get_inputs()]
    for rows in (1, 7):  # the batch dimension is dynamic
        x = interop_inputs(model, rng, rows)
        feeds = dict(zip(names, x if isinstance(x, list) else [x]))
        assert_close(session.run(None, feeds)[0], model.predict(x, verbose=0))


def test_a_layer_without_translation_is_refused_and_nothing_written(tmp_path):
    a, b = nerve.Input((2, 3)), nerve.Input((2, 3))
    model = nerve.Model([a, b], layers.Dot(axes=2, name="dot")([a, b]))
    with pytest.raises(ValueError, match=r"layer 'dot' \(Dot\): Dot beyond two matrices"):
        model.export(tmp_path / "m.onnx", format="onnx")
    normalized = nerve.Sequential([nerve.Input((3,)), layers.Normalization(
        mean=[0.0, 1.0, 2.0], variance=[1.0, 2.0, 3.0], name="standardize")])
    with pytest.raises(ValueError, match=r"'standardize' \(Normalization\) has no ONNX"):
        normalized.export(tmp_path / "m.onnx", format="onnx")
    with pytest.raises(ValueError, match="activation 'step'"):
        nerve.Sequential([nerve.Input((3,)), layers.Dense(2, activation="step")]).export(
            tmp_path / "m.onnx", format="onnx")
    assert os.listdir(tmp_path) == []


def test_format_and_name_are_checked(tmp_path):
    with pytest.raises(ValueError, match="format: nerve exports 'onnx' only"):
        mlp().export(tmp_path / "m", format="tf_saved_model")
    with pytest.raises(ValueError, match=r"ends in \.onnx"):
        mlp().export(tmp_path / "m.keras", format="onnx")
    with pytest.raises(ValueError, match="model.export"):
        mlp().save(tmp_path / "m.onnx")
    with pytest.raises(ValueError, match="is not built"):
        nerve.Sequential([layers.Dense(2)]).export(tmp_path / "m.onnx", format="onnx")
    assert os.listdir(tmp_path) == []


def test_without_onnx_the_error_says_what_to_install(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "onnx", None)
    with pytest.raises(ImportError, match=r"pip install 'nerve\[onnx\]'"):
        mlp().export(tmp_path / "m.onnx", format="onnx")


def test_an_onnx_file_does_not_load_as_a_model(tmp_path):
    path = tmp_path / "m.onnx"
    mlp().export(path, format="onnx")
    with pytest.raises(ValueError, match=r"m\.onnx.*ONNX"):
        nerve.models.load_model(path)


def test_the_bench_row_compares_the_same_predictions():
    pytest.importorskip("threadpoolctl")
    sys.path.insert(0, str(pathlib.Path(__file__).parent.parent / "bench"))
    import interop

    results = interop.run(rounds=1, batches=(3,))
    assert results[3]["max_abs_difference"] < 1e-5
    assert set(results[3]) == {"nerve", "onnxruntime", "max_abs_difference"}
    assert "| 3 |" in interop.table(results)
