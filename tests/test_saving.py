"""Model and weights files: round trips, atomic writes, and clear errors for bad files."""
import importlib.util
import io
import json
import os
import pickle
import select
import subprocess
import sys
import time
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


@pytest.mark.parametrize("name", ["model.nerve", "model.bin", "model.nerve", "model"])
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
    saving.save_model(model, tmp_path / "m.nerve")
    loaded = saving.load_model(tmp_path / "m.nerve")
    assert loaded.weights == [] and loaded.optimizer is None and loaded.units == [5]
    model = trained_model(dtype=np.float64)
    model.compile_config, model.optimizer = None, None
    saving.save_model(model, tmp_path / "m.nerve")
    loaded = saving.load_model(tmp_path / "m.nerve")
    assert loaded.optimizer is None and loaded.weights[0].dtype == np.float64


def test_a_real_model_saved_before_it_was_built_loads_unbuilt_and_trains(tmp_path):
    from nerve import layers
    model = nerve.models.Sequential([layers.Dense(3), layers.Dense(1)])
    model.compile("adam", "mse")
    saving.save_model(model, tmp_path / "m.nerve")
    loaded = saving.load_model(tmp_path / "m.nerve")
    assert not loaded.built and loaded.optimizer is not None
    loaded.fit(np.ones((4, 2), np.float32), np.ones(4, np.float32), verbose=0)
    assert loaded.built and loaded.optimizer.iterations == 1


def test_the_file_is_a_versioned_zip_of_json_and_npy(tmp_path, fake_models):
    path = tmp_path / "m.nerve"
    saving.save_model(trained_model(), path)
    with zipfile.ZipFile(path) as archive:
        header = json.loads(archive.read("header.json"))
        names = set(archive.namelist())
        first = np.load(io.BytesIO(archive.read("weights/0.npy")), allow_pickle=False)
    assert header["format"] == "nerve.model" and header["format_version"] == saving.FORMAT_VERSION == 2
    assert {"nerve_version", "model_config", "build_config", "compile_config"} <= set(header)
    assert header["build_config"] == {"input_shape": [None, 4]}
    assert names == {"header.json", "weights/0.npy", "weights/1.npy", "weights/2.npy",
                     "weights/3.npy", "optimizer/0.npy", "optimizer/1.npy"}
    assert first.shape == (4, 3)


def test_weights_round_trip_and_load_from_a_model_file(tmp_path):
    model = trained_model()
    saving.save_weights(model, tmp_path / "w.weights.nerve")
    saving.save_model(model, tmp_path / "m.nerve")
    for path in ("w.weights.nerve", "m.nerve"):
        target = trained_model()
        target.build((None, 4))
        saving.load_weights(target, tmp_path / path)
        assert_same_weights(target.get_weights(), model.get_weights())


def test_save_is_atomic_and_leaves_no_temporary_files(tmp_path):
    path = tmp_path / "m.nerve"
    saving.save_weights(trained_model(), path)
    before = path.read_bytes()
    broken = trained_model()
    broken.weights.append(np.array([object()]))
    with pytest.raises(TypeError, match="not numeric"):
        saving.save_weights(broken, path)
    assert path.read_bytes() == before and os.listdir(tmp_path) == ["m.nerve"]
    with pytest.raises(FileNotFoundError, match="does not exist"):
        saving.save_weights(trained_model(), tmp_path / "missing" / "m.nerve")


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
        saving.load_model(tmp_path / "nope.nerve")
    with pytest.raises(FileNotFoundError):
        saving.load_weights(trained_model(), tmp_path / "nope.nerve")


def test_truncated_and_corrupt_files(tmp_path, fake_models):
    path = tmp_path / "m.nerve"
    saving.save_model(trained_model(), path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    assert "truncated or corrupt" in bad_file_error(path)
    offset = data.index(b"\x93NUMPY") + 128 + 5  # inside the first array's data
    path.write_bytes(data[:offset] + bytes([data[offset] ^ 0xFF]) + data[offset + 1:])
    assert "CRC" in bad_file_error(path)


def test_foreign_files(tmp_path, fake_models):
    text = tmp_path / "notes.nerve"
    text.write_text("hello")
    assert "not a valid nerve file" in bad_file_error(text)
    hdf5 = tmp_path / "model.h5"
    hdf5.write_bytes(b"\x89HDF\r\n\x1a\n" + bytes(100))
    assert "HDF5" in bad_file_error(hdf5)
    neither = tmp_path / "model.nerve"
    with zipfile.ZipFile(neither, "w") as archive:
        archive.writestr("metadata.json", "{}")
    assert "neither header.json nor config.json" in bad_file_error(neither)
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
    path = tmp_path / "m.nerve"
    saving.save_model(trained_model(), path)
    rewrite(path, {"format_version": saving.FORMAT_VERSION + 1, "nerve_version": "9.0"})
    assert "upgrade nerve" in bad_file_error(path)


def test_a_pickled_array_is_refused_without_running_it(tmp_path, fake_models):
    path = tmp_path / "m.nerve"
    saving.save_model(trained_model(), path)
    rewrite(path, entries={"weights/0.npy": npy_bytes(np.array([os.system], object), True)})
    assert "not numeric" in bad_file_error(path)


def test_array_sizes_are_checked(tmp_path, fake_models):
    path = tmp_path / "m.nerve"
    saving.save_model(trained_model(), path)
    rewrite(path, {"arrays": {"weights": 9}})
    assert "weights/4.npy is missing" in bad_file_error(path)
    rewrite(path, entries={"weights/0.npy": npy_bytes(np.zeros((4, 3), np.float32))[:-4]})
    assert "does not match its shape" in bad_file_error(path)
    rewrite(path, entries={"weights/0.npy": b"not an array"})
    assert "not a valid .npy array" in bad_file_error(path)


def test_a_weights_file_is_not_a_model(tmp_path, fake_models):
    saving.save_weights(trained_model(), tmp_path / "w.nerve")
    assert "load_weights" in bad_file_error(tmp_path / "w.nerve")


@pytest.mark.parametrize("other, problem", [
    (dict(units=(3,)), "holds 4 weight arrays but the model has 2"),
    (dict(units=(3, 5)), r"weight 2 is float32\[3, 2\] in the file but float32\[3, 5\]"),
    (dict(dtype=np.float64), r"weight 0 is float32\[4, 3\] in the file but float64\[4, 3\]"),
])
def test_mismatched_weights_leave_the_model_unchanged(tmp_path, other, problem):
    saving.save_weights(trained_model(), tmp_path / "w.nerve")
    target = trained_model(**other)
    before = target.get_weights()
    with pytest.raises(ValueError, match=problem) as raised:
        saving.load_weights(target, tmp_path / "w.nerve")
    assert "w.nerve" in str(raised.value)
    assert_same_weights(target.get_weights(), before)


def test_loading_into_an_unbuilt_model_says_so(tmp_path):
    saving.save_weights(trained_model(), tmp_path / "w.nerve")
    with pytest.raises(ValueError, match="is the model built"):
        saving.load_weights(FakeSequential(), tmp_path / "w.nerve")


def test_incompatible_optimizer_state_is_a_clear_error(tmp_path, fake_models):
    path = tmp_path / "m.nerve"
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
    model.save(tmp_path / "model.nerve")
    loaded = nerve.models.load_model(tmp_path / "model.nerve")
    assert np.array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
    for m in (model, loaded):
        m.fit(x, y, epochs=2, batch_size=10, shuffle=False, verbose=0)
    assert_same_weights(loaded.get_weights(), model.get_weights())


def test_sequential_weights_round_trip(tmp_path):
    model, x, _ = real_model_and_data()
    model.save_weights(tmp_path / "model.weights.nerve")
    other, _, _ = real_model_and_data(seed=1)
    other.load_weights(tmp_path / "model.weights.nerve")
    assert np.array_equal(other.predict(x, verbose=0), model.predict(x, verbose=0))


# --- interrupted saves -----------------------------------------------------------------------

KILLS = 6
# The child saves model B over and over, each save slowed between entries so that the kills
# land anywhere in it: opening the temporary file, writing entries, fsync, the rename.
SAVING_CHILD = """
import sys, time
import numpy as np
import nerve

write_array = np.lib.format.write_array
def slow_write_array(*args, **kwargs):
    time.sleep(0.002)
    return write_array(*args, **kwargs)
np.lib.format.write_array = slow_write_array

nerve.utils.set_random_seed(1)
model = nerve.models.Sequential([nerve.layers.Dense(64, input_dim=128, activation="relu"),
                                 nerve.layers.Dense(8)])
model.compile(loss="mse", optimizer="adam")
start = time.perf_counter()
model.save(sys.argv[2])  # how long one save takes, for the parent's kill delays
print(time.perf_counter() - start, flush=True)
while True:
    model.save(sys.argv[1])
"""


def child_model(seed):
    """The child's model, built as it builds it: the same seed gives the same weights."""
    nerve.utils.set_random_seed(seed)
    model = nerve.models.Sequential([nerve.layers.Dense(64, input_dim=128, activation="relu"),
                                     nerve.layers.Dense(8)])
    model.compile(loss="mse", optimizer="adam")
    return model


def start_saving_child(path, scratch):
    """The child process and the seconds one of its saves takes."""
    child = subprocess.Popen([sys.executable, "-c", SAVING_CHILD, str(path), str(scratch)],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    ready, _, _ = select.select([child.stdout], [], [], 120)
    line = child.stdout.readline() if ready else ""
    if not line:
        child.kill()
        pytest.fail(f"the saving child did not start: {child.communicate()[1][-2000:]}")
    return child, float(line)


def temporary_files(directory, with_data=False):
    """The temporary files in `directory`; with_data: only those holding bytes (a save killed
    between creating its file and locking it leaves an empty one, removed once a minute old
    since a live save may be about to lock it)."""
    return sorted(name for name in os.listdir(directory) if name.endswith(".tmp")
                  and (not with_data or os.path.getsize(os.path.join(directory, name)) > 0))


@pytest.mark.skipif(os.name != "posix", reason="SIGKILL and select() on pipes are POSIX")
def test_a_save_killed_at_random_moments_leaves_a_complete_file(tmp_path):
    path = tmp_path / "model.nerve"
    old, new = child_model(0).get_weights(), child_model(1).get_weights()
    rng = np.random.default_rng(0)
    outcomes = {"old file": 0, "new file": 0, "killed mid-write": 0}
    for kill in range(KILLS):
        child_model(0).save(path)  # the good file the child saves over
        child, seconds = start_saving_child(path, tmp_path / "calibration.nerve")
        delay = rng.uniform(0, 2 * seconds)  # into the first or the second save
        try:
            time.sleep(delay)
        finally:
            child.kill()  # SIGKILL: no cleanup runs
            child.communicate()
        weights = nerve.models.load_model(path).get_weights()
        same_as = [name for name, reference in (("old file", old), ("new file", new))
                   if all(np.array_equal(a, b) for a, b in zip(weights, reference))]
        assert same_as, f"kill {kill} after {delay:.4f} s left a file with other weights"
        outcomes[same_as[0]] += 1
        leftovers = temporary_files(tmp_path, with_data=True)
        assert len(leftovers) <= 1, f"temporary files accumulate: {leftovers}"
        outcomes["killed mid-write"] += len(leftovers)
    print(f"{KILLS} kills: {outcomes}")  # shown with pytest -s
    assert outcomes["killed mid-write"] >= 1, outcomes  # else no kill tested an interruption
    child_model(2).save(path)  # the next save works and clears what the killed ones left
    assert temporary_files(tmp_path, with_data=True) == []
    assert_same_weights(nerve.models.load_model(path).get_weights(), child_model(2).get_weights())


def test_only_the_temporary_files_of_dead_saves_are_removed(tmp_path):
    fcntl = pytest.importorskip("fcntl")  # without locks (Windows) nothing is removed
    path = tmp_path / "m.nerve"
    abandoned = tmp_path / ".nrv0123abcd.tmp"  # a killed save's: data, no lock
    in_progress = tmp_path / ".nrv89abcdef.tmp"  # locked by a save still writing
    just_created = tmp_path / ".nrv4567cdef.tmp"  # empty: a save about to lock it
    others = [tmp_path / ".m.keras.0123abcd.tmp", tmp_path / "nrv0123abcd.tmp",
              tmp_path / ".nrv0123abcd.tmp.nerve"]  # not nerve's temporary names
    for file in [abandoned, in_progress, *others]:
        file.write_bytes(b"PK partial")
    just_created.touch()
    with open(in_progress, "rb") as writer:
        fcntl.flock(writer, fcntl.LOCK_EX)  # another open file: conflicts even in-process
        saving.save_weights(trained_model(), path)
    assert not abandoned.exists()
    assert in_progress.exists() and just_created.exists()
    assert all(file.exists() for file in others)


# --- every corrupt file is refused, and leaves the model unchanged ---------------------------

def assert_refused(path, model, weights_too=True):
    """Loading `path` raises ValueError or OSError naming it; `model` keeps its weights.
    weights_too=False: only load_model must refuse (load_weights reads no configuration)."""
    before = model.get_weights()
    loads = [lambda: saving.load_model(path)]
    if weights_too:
        loads.append(lambda: saving.load_weights(model, path))
    for load in loads:
        with pytest.raises((ValueError, OSError)) as raised:
            load()
        assert os.fspath(path) in str(raised.value), str(raised.value)
    assert_same_weights(model.get_weights(), before)


def refused_or_intact(path, model, reference):
    """Whether `path` is refused (as assert_refused) rather than loaded: a damaged byte that
    nothing reads (a timestamp) may load, but then exactly the saved weights."""
    before = model.get_weights()
    refused = 0
    for load in (lambda: saving.load_model(path),
                 lambda: saving.load_weights(model, path) or model):
        try:
            loaded = load()
        except (ValueError, OSError) as error:
            assert os.fspath(path) in str(error), str(error)
            refused += 1
        else:
            assert_same_weights(loaded.get_weights(), reference)
    if refused:
        assert_same_weights(model.get_weights(), before)
    return refused == 2


def test_every_truncation_and_byte_flip_is_refused_or_harmless(tmp_path):
    model, _, _ = real_model_and_data()
    good = tmp_path / "good.nerve"
    model.save(good)
    data, reference = good.read_bytes(), model.get_weights()
    target, _, _ = real_model_and_data(seed=1)
    bad = tmp_path / "bad.nerve"
    rng = np.random.default_rng(0)
    # Every 9th length, and every length near the end (the zip directory lies there).
    lengths = sorted(set(range(0, len(data), 9)) | set(range(len(data) - 64, len(data))))
    for length in lengths:
        bad.write_bytes(data[:length])
        assert refused_or_intact(bad, target, reference), f"truncated to {length} bytes"
    # Random bytes anywhere, and every byte of the end-of-directory record, each flipped.
    offsets = sorted(set(rng.integers(0, len(data), 250).tolist())
                     | set(range(len(data) - 22, len(data))))
    refused = 0
    for offset in offsets:
        for mask in (0xFF, 0x01):
            damaged = bytearray(data)
            damaged[offset] ^= mask
            bad.write_bytes(bytes(damaged))
            refused += refused_or_intact(bad, target, reference)
    cases = len(lengths) + 2 * len(offsets)
    print(f"{len(lengths)} truncations, {2 * len(offsets)} flips, {refused} flips refused")
    assert cases > 1000 and refused > 0.8 * 2 * len(offsets), (cases, refused)


class RunsCode:
    """Unpickling this calls os.system: a loader that used pickle would run it."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return os.system, (f"touch {self.marker}",)


def foreign_and_malformed_files(tmp_path, good):
    """(name, writer, weights_too) triples: each writer writes a file that load_model, and
    load_weights too if weights_too, must refuse."""
    def zip_with(**entries):
        def write(path):
            with zipfile.ZipFile(path, "w") as archive:
                for name, data in entries.items():
                    archive.writestr(name.replace("__", "/").replace("_json", ".json"), data)
        return write

    def header(**changes):
        def write(path):
            path.write_bytes(good.read_bytes())
            rewrite(path, changes)
        return write

    def npz(path):
        with open(path, "wb") as file:
            np.savez(file, *real_model_and_data()[0].get_weights())

    def pickled(path):
        path.write_bytes(pickle.dumps([RunsCode(tmp_path / "pickle-ran")]))

    return [
        ("empty", lambda path: path.write_bytes(b""), True),
        ("one byte", lambda path: path.write_bytes(b"P"), True),
        ("zip magic only", lambda path: path.write_bytes(b"PK\x03\x04"), True),
        ("text", lambda path: path.write_text("weights: 1 2 3"), True),
        ("json", lambda path: path.write_text('{"format": "nerve.model"}'), True),
        # load_weights reads HDF5 as Keras weights, through h5py (else an ImportError).
        ("hdf5", lambda path: path.write_bytes(b"\x89HDF\r\n\x1a\n" + bytes(64)),
         importlib.util.find_spec("h5py") is not None),
        ("npz", npz, True),
        ("pickle", pickled, True),
        ("npy", lambda path: path.write_bytes(npy_bytes(np.zeros(3))), True),
        ("empty zip", zip_with(), True),
        ("header not json", zip_with(header_json="{not json"), True),
        ("header not utf-8", zip_with(header_json=b"\xff\xfe{}"), True),
        ("header a list", zip_with(header_json="[1, 2]"), True),
        ("version 0", header(format_version=0), True),
        ("newer version", header(format_version=saving.FORMAT_VERSION + 1), True),
        ("version as text", header(format_version="1"), True),
        ("version missing", header(format_version=None), True),
        ("array counts missing", header(arrays=None), True),
        ("negative array count", header(arrays={"weights": -1}), True),
        ("unknown model class", header(model_class="os"), False),
        ("bad model config", header(model_config={"layers": 5}), False),
        ("model config not a dict", header(model_config="abc"), False),
        ("model class a layer", header(model_class="Layer"), False),
        ("exabyte layer", header(model_config={"layers": [{"class_name": "Dense", "config": {
            "units": 10**12, "input_dim": 10**6}}]}), False),
        ("build config not a dict", header(build_config=5), False),
        ("compile config empty", header(compile_config={}), False),
        ("compile config text", header(compile_config="adam"), False),
        ("unknown optimizer", header(compile_config={"optimizer": "nope"}), False),
        ("negative learning rate", header(compile_config={"optimizer": {
            "class_name": "SGD", "config": {"learning_rate": -1}}}), False),
        ("loss a number", header(compile_config={"optimizer": "adam", "loss": 5}), False),
        ("metrics not a list", header(compile_config={"optimizer": "adam", "loss": "mse",
                                                      "metrics": "accuracy"}), False),
    ]


def test_foreign_malformed_and_unreadable_files_are_refused(tmp_path):
    model, _, _ = real_model_and_data()
    good = tmp_path / "good.nerve"
    model.save(good)
    target, _, _ = real_model_and_data(seed=1)
    cases = foreign_and_malformed_files(tmp_path, good)
    for name, write, weights_too in cases:
        path = tmp_path / f"{name.replace(' ', '-')}.nerve"
        write(path)
        assert_refused(path, target, weights_too)
    assert not (tmp_path / "pickle-ran").exists()
    directory = tmp_path / "a-directory.nerve"
    directory.mkdir()
    assert_refused(directory, target)
