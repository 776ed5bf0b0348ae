"""Broken, foreign and unsupported Keras and ONNX files: a ValueError naming the file and the
part at fault, the model untouched, and nothing written when a save fails."""
import io
import json
import os
import sys
import zipfile

import numpy as np
import pytest

h5py = pytest.importorskip("h5py")

import nerve  # noqa: E402
from nerve import layers  # noqa: E402


def small_model():
    return nerve.Sequential([nerve.Input((4,)), layers.Dense(3, activation="relu", name="hidden"),
                             layers.Dense(2, name="out")])


@pytest.fixture
def archive(tmp_path):
    path = tmp_path / "m.keras"
    small_model().save(path)
    return path


def members(path):
    with zipfile.ZipFile(path) as opened:
        return {name: opened.read(name) for name in opened.namelist()}


def rewrite(path, replace=None, drop=(), compression=zipfile.ZIP_STORED):
    contents = {**members(path), **(replace or {})}
    with zipfile.ZipFile(path, "w", compression) as opened:
        for name, data in contents.items():
            if name not in drop:
                opened.writestr(name, data)


def edit_config(path, edit):
    config = json.loads(members(path)["config.json"])
    edit(config)
    rewrite(path, {"config.json": json.dumps(config)})


def h5_bytes(fill):
    buffer = io.BytesIO()
    with h5py.File(buffer, "w") as file:
        fill(file)
    return buffer.getvalue()


def load_error(path):
    with pytest.raises(ValueError) as raised:
        nerve.models.load_model(path)
    message = str(raised.value)
    assert repr(str(path)) in message  # names the file
    return message


def test_truncated_and_foreign_archives(archive, tmp_path):
    """(Foreign files named .keras: test_saving's, as loading goes by content.)"""
    data = archive.read_bytes()
    archive.write_bytes(data[: len(data) // 2])
    assert "truncated or corrupt" in load_error(archive)
    onnx_named = tmp_path / "m.onnx"
    onnx_named.write_bytes(b"\x08\x07\x12\x05nerve")
    assert "ONNX" in load_error(onnx_named)


@pytest.mark.parametrize("change, part", [
    (dict(drop=("model.weights.h5",)), "without model.weights.h5"),
    (dict(replace={"model.weights.h5": b"not hdf5"}), "model.weights.h5 is not an HDF5 file"),
    (dict(replace={"config.json": b"{not json"}), "config.json is not valid JSON"),
    (dict(compression=zipfile.ZIP_DEFLATED), "is compressed"),
])
def test_broken_members_are_named(archive, change, part):
    rewrite(archive, **change)
    assert part in load_error(archive)


def test_a_truncated_weights_file_is_named(archive):
    weights = members(archive)["model.weights.h5"]
    rewrite(archive, {"model.weights.h5": weights[: len(weights) // 2]})
    assert "model.weights.h5 is not a valid HDF5 file" in load_error(archive)


def test_weights_without_the_expected_groups(archive):
    rewrite(archive, {"model.weights.h5": h5_bytes(lambda file: file.create_group("vars"))})
    assert "no group layers/dense/vars for layer 'hidden'" in load_error(archive)

    def wrong_shape(file):
        group = file.create_group("layers/dense/vars")
        group["0"], group["1"] = np.zeros((4, 5), np.float32), np.zeros(3, np.float32)
    rewrite(archive, {"model.weights.h5": h5_bytes(wrong_shape)})
    assert "layers/dense/vars/0 (layer 'hidden') is float32[4, 5]" in load_error(archive)


@pytest.mark.parametrize("edit, part", [
    (lambda c: c["config"]["layers"][1].update(class_name="LSTM"), "layer 'hidden' is a Keras "
                                                                   "'LSTM'"),
    (lambda c: c["config"]["layers"][2]["config"].update(activity_regularizer="l2"),
     "layer 'out' (Dense): the option activity_regularizer='l2'"),
    (lambda c: c["config"]["layers"][2]["config"].update(dtype="mixed_float16"),
     "dtype policy 'mixed_float16'"),
    (lambda c: c["config"]["layers"][2]["config"].update(units="many"), "cannot rebuild"),
    (lambda c: c.update(class_name="MyModel"), "the model is a 'MyModel'"),
    (lambda c: c["config"]["layers"][1].update(class_name="Sequential"),
     "layer 'hidden' is a nested Sequential model"),
    (lambda c: c["config"]["layers"][1].update(inbound_nodes=[{"args": [], "kwargs": {
        "mask": [1]}}]), "layer 'hidden' (Dense): called with mask"),
])
def test_unsupported_configurations_are_named(archive, edit, part):
    edit_config(archive, edit)
    assert part in load_error(archive)


def test_a_bad_weights_file_leaves_the_model_unchanged(tmp_path):
    model = small_model()
    before = model.get_weights()
    path = tmp_path / "w.weights.h5"

    def first_layer_only(file):  # right for "hidden", missing for "out"
        group = file.create_group("layers/dense/vars")
        group["0"], group["1"] = np.ones((4, 3), np.float32), np.ones(3, np.float32)
    path.write_bytes(h5_bytes(first_layer_only))
    with pytest.raises(ValueError, match=r"w\.weights\.h5.*layers/dense_1/vars"):
        model.load_weights(path)
    for mine, theirs in zip(model.get_weights(), before):
        np.testing.assert_array_equal(mine, theirs)


def test_failed_saves_write_nothing(archive, tmp_path):
    before = archive.read_bytes()
    step = nerve.Sequential([nerve.Input((4,)), layers.Dense(2, activation="step")])
    with pytest.raises(ValueError, match="step"):
        step.save(archive)
    assert archive.read_bytes() == before

    class Doubling(layers.Layer):
        def call(self, inputs):
            return layers.Add()([inputs, inputs])
    custom = nerve.Sequential([nerve.Input((4,)), Doubling(name="doubling")])
    with pytest.raises(ValueError, match=r"layer 'doubling' \(Doubling\) is not a Keras layer"):
        custom.save(archive)
    assert archive.read_bytes() == before
    with pytest.raises(ValueError, match=r"\.keras \(Keras 3\) or \.nerve"):
        small_model().save(tmp_path / "legacy.h5")
    assert sorted(os.listdir(tmp_path)) == ["m.keras"]


def test_without_h5py_the_error_says_what_to_install(archive, monkeypatch):
    monkeypatch.setitem(sys.modules, "h5py", None)
    with pytest.raises(ImportError, match=r"pip install 'nerve\[keras\]'"):
        nerve.models.load_model(archive)
    with pytest.raises(ImportError, match=r"pip install 'nerve\[keras\]'"):
        small_model().save(archive.with_name("other.keras"))
    assert os.listdir(archive.parent) == ["m.keras"]
