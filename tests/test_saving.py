"""Model and weights files: round trips, atomic writes, and clear errors for bad files."""
import io
import json
import os
import zipfile

import numpy as np
import pytest

import nerve.models
from nerve import saving


class FakeOptimizer:
    def __init__(self):
        self.state = [np.arange(3, dtype=np.float32), np.array(7, np.int64)]

    def get_state(self):
        return [s.copy() for s in self.state]

    def set_state(self, state):
        if [s.shape for s in state] != [s.shape for s in self.state]:
            raise ValueError("optimizer state shapes differ")
        self.state = [np.array(s) for s in state]


class FakeSequential:
    """The model interface saving.py relies on, with weights of sizes set by `units`."""

    def __init__(self, units=(3, 2), input_dim=4, dtype=np.float32):
        self.units, self.input_dim, self.dtype = list(units), input_dim, dtype
        self.weights, self.optimizer, self.compile_config = [], None, None

    def get_config(self):
        return {"units": self.units, "dtype": np.dtype(self.dtype).name}

    @classmethod
    def from_config(cls, config):
        return cls(config["units"], None, config["dtype"])

    def get_build_config(self):
        return {"input_shape": [None, self.input_dim]} if self.weights else None

    def build(self, input_shape):
        self.input_dim = input_shape[-1]
        sizes = [input_shape[-1], *self.units]
        self.weights = []
        for fan_in, fan_out in zip(sizes, sizes[1:]):
            self.weights += [np.zeros((fan_in, fan_out), self.dtype), np.zeros(fan_out, self.dtype)]

    def get_compile_config(self):
        return self.compile_config

    def compile_from_config(self, config):
        self.compile_config, self.optimizer = config, FakeOptimizer()

    def get_weights(self):
        return [w.copy() for w in self.weights]

    def set_weights(self, weights):
        self.weights = [np.array(w) for w in weights]


@pytest.fixture
def fake_models(monkeypatch):
    """load_model finds model classes in nerve.models: serve the fake one from there."""
    monkeypatch.setattr(nerve.models, "FakeSequential", FakeSequential, raising=False)


def trained_model(**kwargs):
    model = FakeSequential(**kwargs)
    model.build((None, model.input_dim))
    rng = np.random.default_rng(0)
    model.set_weights([rng.standard_normal(w.shape).astype(w.dtype) for w in model.weights])
    model.compile_from_config({"optimizer": "adam", "loss": "mse"})
    model.optimizer.state[0] += 0.5
    return model


def assert_same_weights(a, b):
    assert len(a) == len(b)
    for x, y in zip(a, b):
        assert x.dtype == y.dtype and x.shape == y.shape and np.array_equal(x, y)


@pytest.mark.parametrize("name", ["model.keras", "model.h5", "model.nerve", "model"])
def test_model_round_trip_with_any_extension(tmp_path, fake_models, name):
    model = trained_model()
    saving.save_model(model, tmp_path / name)
    loaded = saving.load_model(str(tmp_path / name))
    assert type(loaded) is FakeSequential and loaded.get_config() == model.get_config()
    assert_same_weights(loaded.get_weights(), model.get_weights())
    assert loaded.get_compile_config() == model.get_compile_config()
    assert_same_weights(loaded.optimizer.get_state(), model.optimizer.get_state())


def test_uncompiled_and_unbuilt_models_round_trip(tmp_path, fake_models):
    model = FakeSequential(units=[5])
    saving.save_model(model, tmp_path / "m.keras")
    loaded = saving.load_model(tmp_path / "m.keras")
    assert loaded.weights == [] and loaded.optimizer is None and loaded.units == [5]
    model = trained_model(dtype=np.float64)
    model.compile_config, model.optimizer = None, None
    saving.save_model(model, tmp_path / "m.keras")
    loaded = saving.load_model(tmp_path / "m.keras")
    assert loaded.optimizer is None and loaded.weights[0].dtype == np.float64


def test_the_file_is_a_versioned_zip_of_json_and_npy(tmp_path, fake_models):
    path = tmp_path / "m.keras"
    saving.save_model(trained_model(), path)
    with zipfile.ZipFile(path) as archive:
        header = json.loads(archive.read("header.json"))
        names = set(archive.namelist())
        first = np.load(io.BytesIO(archive.read("weights/0.npy")), allow_pickle=False)
    assert header["format"] == "nerve.model" and header["format_version"] == 1
    assert {"nerve_version", "model_config", "build_config", "compile_config"} <= set(header)
    assert header["build_config"] == {"input_shape": [None, 4]}
    assert names == {"header.json", "weights/0.npy", "weights/1.npy", "weights/2.npy",
                     "weights/3.npy", "optimizer/0.npy", "optimizer/1.npy"}
    assert first.shape == (4, 3)


def test_weights_round_trip_and_load_from_a_model_file(tmp_path):
    model = trained_model()
    saving.save_weights(model, tmp_path / "w.weights.h5")
    saving.save_model(model, tmp_path / "m.keras")
    for path in ("w.weights.h5", "m.keras"):
        target = trained_model()
        target.build((None, 4))
        saving.load_weights(target, tmp_path / path)
        assert_same_weights(target.get_weights(), model.get_weights())


def test_save_is_atomic_and_leaves_no_temporary_files(tmp_path):
    path = tmp_path / "m.keras"
    saving.save_weights(trained_model(), path)
    before = path.read_bytes()
    broken = trained_model()
    broken.weights.append(np.array([object()]))
    with pytest.raises(TypeError, match="not numeric"):
        saving.save_weights(broken, path)
    assert path.read_bytes() == before and os.listdir(tmp_path) == ["m.keras"]
    with pytest.raises(FileNotFoundError, match="does not exist"):
        saving.save_weights(trained_model(), tmp_path / "missing" / "m.keras")


def test_new_files_get_the_usual_permissions(tmp_path):
    saving.save_weights(trained_model(), tmp_path / "w.nerve")
    umask = os.umask(0)
    os.umask(umask)
    assert (tmp_path / "w.nerve").stat().st_mode & 0o777 == 0o666 & ~umask


# --- bad files -------------------------------------------------------------------------------

def bad_file_error(path, fake_models=None):
    with pytest.raises(ValueError) as raised:
        saving.load_model(path)
    assert str(path) in str(raised.value)
    return str(raised.value)


def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError):
        saving.load_model(tmp_path / "nope.keras")
    with pytest.raises(FileNotFoundError):
        saving.load_weights(trained_model(), tmp_path / "nope.keras")


def test_truncated_and_corrupt_files(tmp_path, fake_models):
    path = tmp_path / "m.keras"
    saving.save_model(trained_model(), path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    assert "truncated or corrupt" in bad_file_error(path)
    offset = data.index(b"\x93NUMPY") + 128 + 5  # inside the first array's data
    path.write_bytes(data[:offset] + bytes([data[offset] ^ 0xFF]) + data[offset + 1:])
    assert "CRC" in bad_file_error(path)


def test_foreign_files(tmp_path, fake_models):
    text = tmp_path / "notes.keras"
    text.write_text("hello")
    assert "not a valid nerve file" in bad_file_error(text)
    hdf5 = tmp_path / "model.h5"
    hdf5.write_bytes(b"\x89HDF\r\n\x1a\n" + bytes(100))
    assert "HDF5" in bad_file_error(hdf5)
    keras = tmp_path / "model.keras"
    with zipfile.ZipFile(keras, "w") as archive:
        archive.writestr("config.json", "{}")
        archive.writestr("metadata.json", "{}")
        archive.writestr("model.weights.h5", "")
    assert "Keras .keras archive" in bad_file_error(keras)
    other = tmp_path / "other.zip"
    with zipfile.ZipFile(other, "w") as archive:
        archive.writestr("header.json", '{"format": "something else"}')
    assert "names no nerve format" in bad_file_error(other)


def rewrite(path, header_changes=None, entries=None):
    """Copy of the nerve file at `path` with its header or entries replaced."""
    with zipfile.ZipFile(path) as archive:
        contents = {name: archive.read(name) for name in archive.namelist()}
    header = json.loads(contents["header.json"])
    header.update(header_changes or {})
    contents["header.json"] = json.dumps(header).encode()
    contents.update(entries or {})
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in contents.items():
            archive.writestr(name, data)


def npy_bytes(array, allow_pickle=False):
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=allow_pickle)
    return buffer.getvalue()


def test_newer_format_version_asks_for_an_upgrade(tmp_path, fake_models):
    path = tmp_path / "m.keras"
    saving.save_model(trained_model(), path)
    rewrite(path, {"format_version": 2, "nerve_version": "9.0"})
    assert "upgrade nerve" in bad_file_error(path)


def test_a_pickled_array_is_refused_without_running_it(tmp_path, fake_models):
    path = tmp_path / "m.keras"
    saving.save_model(trained_model(), path)
    rewrite(path, entries={"weights/0.npy": npy_bytes(np.array([os.system], object), True)})
    assert "not numeric" in bad_file_error(path)


def test_array_sizes_are_checked(tmp_path, fake_models):
    path = tmp_path / "m.keras"
    saving.save_model(trained_model(), path)
    rewrite(path, {"arrays": {"weights": 9}})
    assert "weights/4.npy is missing" in bad_file_error(path)
    rewrite(path, entries={"weights/0.npy": npy_bytes(np.zeros((4, 3), np.float32))[:-4]})
    assert "does not match its shape" in bad_file_error(path)
    rewrite(path, entries={"weights/0.npy": b"not an array"})
    assert "not a valid .npy array" in bad_file_error(path)


def test_a_weights_file_is_not_a_model(tmp_path, fake_models):
    saving.save_weights(trained_model(), tmp_path / "w.h5")
    assert "load_weights" in bad_file_error(tmp_path / "w.h5")


@pytest.mark.parametrize("other, problem", [
    (dict(units=(3,)), "holds 4 weight arrays but the model has 2"),
    (dict(units=(3, 5)), r"weight 2 is float32\[3, 2\] in the file but float32\[3, 5\]"),
    (dict(dtype=np.float64), r"weight 0 is float32\[4, 3\] in the file but float64\[4, 3\]"),
])
def test_mismatched_weights_leave_the_model_unchanged(tmp_path, other, problem):
    saving.save_weights(trained_model(), tmp_path / "w.h5")
    target = trained_model(**other)
    before = target.get_weights()
    with pytest.raises(ValueError, match=problem) as raised:
        saving.load_weights(target, tmp_path / "w.h5")
    assert "w.h5" in str(raised.value)
    assert_same_weights(target.get_weights(), before)


def test_loading_into_an_unbuilt_model_says_so(tmp_path):
    saving.save_weights(trained_model(), tmp_path / "w.h5")
    with pytest.raises(ValueError, match="is the model built"):
        saving.load_weights(FakeSequential(), tmp_path / "w.h5")


def test_incompatible_optimizer_state_is_a_clear_error(tmp_path, fake_models):
    path = tmp_path / "m.keras"
    saving.save_model(trained_model(), path)
    rewrite(path, entries={"optimizer/0.npy": npy_bytes(np.zeros(5, np.float32))})
    assert "optimizer state does not fit" in bad_file_error(path)


# --- with nerve's own Sequential -------------------------------------------------------------

def real_model_and_data(seed=0):
    nerve.utils.set_random_seed(seed)
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((64, 8)).astype(np.float32)
    y = (x[:, 0] + x[:, 1] > 0).astype(np.float32)
    model = nerve.models.Sequential([nerve.layers.Dense(10, input_dim=8, activation="relu"),
                                     nerve.layers.Dense(1, activation="sigmoid")])
    model.compile(loss="binary_crossentropy", optimizer="adam", metrics=["accuracy"])
    model.fit(x, y, epochs=3, batch_size=10, verbose=0)
    return model, x, y


def test_a_loaded_sequential_predicts_and_trains_on_identically(tmp_path):
    model, x, y = real_model_and_data()
    model.save(tmp_path / "model.keras")
    loaded = nerve.models.load_model(tmp_path / "model.keras")
    assert np.array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
    for m in (model, loaded):
        m.fit(x, y, epochs=2, batch_size=10, shuffle=False, verbose=0)
    assert_same_weights(loaded.get_weights(), model.get_weights())


def test_sequential_weights_round_trip(tmp_path):
    model, x, _ = real_model_and_data()
    model.save_weights(tmp_path / "model.weights.h5")
    other, _, _ = real_model_and_data(seed=1)
    other.load_weights(tmp_path / "model.weights.h5")
    assert np.array_equal(other.predict(x, verbose=0), model.predict(x, verbose=0))
