"""Hostile files and paths: what loading refuses before it reads or allocates much, and what a
save does to the file already at its path (permissions, symlinks, hard links, long names)."""
import math
import os
import subprocess
import sys
import zipfile

import numpy as np
import pytest

import nerve
from nerve import saving
from test_saving import (FakeSequential, assert_same_weights, bad_file_error,  # noqa: F401
                         fake_models, real_model_and_data, rewrite, trained_model)

posix_only = pytest.mark.skipif(os.name != "posix", reason="FIFOs, devices, links are POSIX")


# --- only regular files, and no more memory than the file's size ----------------------------

@posix_only
def test_a_fifo_is_refused_without_blocking(tmp_path):
    fifo = tmp_path / "model.nerve"
    os.mkfifo(fifo)
    # A writer holding the FIFO open, with bytes in it: a loader that opened and read it would
    # not block here but read a pipe. Then no writer: opening it alone would block.
    writer = os.open(fifo, os.O_RDWR | os.O_NONBLOCK)
    try:
        os.write(writer, b"PK\x03\x04" + bytes(60))
        assert "not a regular file" in bad_file_error(fifo)
    finally:
        os.close(writer)
    for load in (saving.load_model, lambda path: saving.load_weights(trained_model(), path)):
        with pytest.raises(ValueError, match="not a regular file") as raised:
            load(fifo)
        assert str(fifo) in str(raised.value)


# Loads, in a child whose address space is capped at 1.5 GiB: a load that allocated what a
# file declares rather than what it holds would fail there with MemoryError (or be killed).
BOUNDED_CHILD = """
import resource, sys
resource.setrlimit(resource.RLIMIT_AS, (3 << 29, 3 << 29))
import nerve
for path in sys.argv[1:]:
    try:
        nerve.models.load_model(path)
        print("loaded", path)
    except BaseException as error:
        print(type(error).__name__, str(error).replace("\\n", " "))
"""


def declaring_more_than_it_holds(path):
    """A model file whose first weight's .npy header, and its zip entry, declare 4 GB."""
    model, _, _ = real_model_and_data()
    model.save(path)
    huge = npy_header("{'descr': '<f4', 'fortran_order': False, 'shape': (1000000000,), }")
    rewrite(path, entries={"weights/0.npy": huge})
    data = bytearray(path.read_bytes())
    entry = data.rindex(b"PK\x01\x02", 0, data.index(b"weights/0.npy", data.index(b"PK\x01\x02")))
    data[entry + 20:entry + 28] = (len(huge) + 4 * 10**9).to_bytes(4, "little") * 2
    path.write_bytes(bytes(data))


def dense_config(path, units, input_dim):
    """A model file of two weights' bytes whose configuration asks for Dense(units)."""
    rewrite(path, {"model_config": {"layers": [{"class_name": "Dense", "config": {
        "units": units, "input_dim": input_dim}}]}})


@posix_only
def test_loading_allocates_no_more_than_the_file_holds(tmp_path):
    declares_4gb = tmp_path / "declares-4gb.nerve"
    declaring_more_than_it_holds(declares_4gb)
    big_dense = tmp_path / "big-dense.nerve"
    real_model_and_data()[0].save(big_dense)
    dense_config(big_dense, 20000, 20000)
    paths = ["/dev/zero", declares_4gb, big_dense]
    child = subprocess.run([sys.executable, "-c", BOUNDED_CHILD, *map(str, paths)],
                           capture_output=True, text=True, timeout=600)
    assert child.returncode == 0, child.stderr[-2000:]
    lines = child.stdout.splitlines()
    assert len(lines) == 3, child.stdout + child.stderr[-2000:]
    for path, line, problem in zip(paths, lines, ["not a regular file", "more than the file holds",
                                                  "past the bytes the file holds"]):
        assert line.startswith("ValueError") and str(path) in line and problem in line, line


def test_a_configuration_asking_for_more_weights_than_the_file_holds(tmp_path):
    path = tmp_path / "m.nerve"
    real_model_and_data()[0].save(path)
    dense_config(path, 3000, 3000)  # 36 MB of kernel from a file of a few KB
    assert "past the bytes the file holds" in bad_file_error(path)


def test_compressed_members_are_refused(tmp_path):
    path = tmp_path / "m.nerve"
    model, x, _ = real_model_and_data()
    model.save(path)
    with zipfile.ZipFile(path) as archive:
        contents = {name: archive.read(name) for name in archive.namelist()}
    for compressed in ("header.json", "weights/0.npy"):
        with zipfile.ZipFile(path, "w") as archive:
            for name, data in contents.items():
                archive.writestr(name, data, zipfile.ZIP_DEFLATED if name == compressed
                                 else zipfile.ZIP_STORED)
        assert f"{compressed} is compressed" in bad_file_error(path)


# --- crafted headers -------------------------------------------------------------------------

def npy_header(text, data=b""):
    """A version 1.0 .npy entry with the header dictionary `text`, padded as NumPy pads it."""
    header = text.encode("latin1")
    header += b" " * (-(len(header) + 11) % 64) + b"\n"
    return b"\x93NUMPY\x01\x00" + len(header).to_bytes(2, "little") + header + data


@pytest.mark.parametrize("shape, data", [
    ("(100000000000000000000000000000,)", b""),  # beyond int64
    ("(4294967296, 4294967296)", b""),  # its int64 product wraps to 0
    ("(-2, -3)", bytes(24)),  # the product matches the data
])
def test_npy_headers_with_impossible_shapes_are_refused(tmp_path, fake_models, shape, data):
    path = tmp_path / "m.nerve"
    saving.save_model(trained_model(), path)
    header = "{'descr': '<f4', 'fortran_order': False, 'shape': %s, }" % shape
    rewrite(path, entries={"weights/0.npy": npy_header(header, data)})
    message = bad_file_error(path)
    assert "weights/0.npy" in message


def test_a_5000_digit_integer_in_the_header_is_refused_naming_the_file(tmp_path, fake_models):
    path = tmp_path / "m.nerve"
    saving.save_model(trained_model(), path)
    with zipfile.ZipFile(path) as archive:
        contents = {name: archive.read(name) for name in archive.namelist()}
    contents["header.json"] = contents["header.json"].replace(
        b'"format_version": 2', b'"format_version": ' + b"9" * 5000)
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in contents.items():
            archive.writestr(name, data)
    assert "header.json is not valid JSON" in bad_file_error(path)


# --- what a save does to the file at its path ------------------------------------------------

@posix_only
def test_a_save_keeps_the_permissions_of_the_file_it_replaces(tmp_path):
    path = tmp_path / "private.nerve"
    saving.save_weights(trained_model(), path)
    os.chmod(path, 0o600)
    saving.save_weights(trained_model(), path)
    assert path.stat().st_mode & 0o777 == 0o600


@posix_only
def test_a_save_through_a_symlink_writes_the_file_it_points_to(tmp_path):
    target = tmp_path / "store" / "model.nerve"
    target.parent.mkdir()
    link = tmp_path / "latest.nerve"
    link.symlink_to(target)  # dangling: the save creates the file, as open() would
    model = trained_model()
    saving.save_weights(model, link)
    assert link.is_symlink() and target.is_file()
    model.weights[0] += 1
    saving.save_weights(model, link)
    assert link.is_symlink() and os.listdir(target.parent) == ["model.nerve"]
    loaded = trained_model()
    saving.load_weights(loaded, target)
    assert_same_weights(loaded.get_weights(), model.get_weights())


@posix_only
def test_a_save_to_a_hard_linked_file_reaches_every_name(tmp_path):
    path, other = tmp_path / "m.nerve", tmp_path / "other-name.nerve"
    saving.save_weights(trained_model(), path)
    os.link(path, other)
    model = trained_model()
    model.weights[0] += 1
    saving.save_weights(model, path)
    assert os.path.samefile(path, other) and sorted(os.listdir(tmp_path)) == [
        "m.nerve", "other-name.nerve"]
    loaded = trained_model()
    saving.load_weights(loaded, other)
    assert_same_weights(loaded.get_weights(), model.get_weights())


@pytest.mark.parametrize("length", [242, 255])
def test_names_up_to_the_file_system_limit_save(tmp_path, length):
    path = tmp_path / ("m" * (length - 6) + ".nerve")
    model = trained_model()
    saving.save_weights(model, path)
    saving.save_weights(model, path)
    loaded = trained_model()
    saving.load_weights(loaded, path)
    assert_same_weights(loaded.get_weights(), model.get_weights())
    assert os.listdir(tmp_path) == [path.name]


def test_saving_over_a_directory_is_refused(tmp_path):
    directory = tmp_path / "m.nerve"
    directory.mkdir()
    with pytest.raises(ValueError, match="not a regular file") as raised:
        saving.save_weights(trained_model(), directory)
    assert str(directory) in str(raised.value) and os.listdir(directory) == []


# --- paths -----------------------------------------------------------------------------------

def test_bytes_paths_work_as_open_takes_them(tmp_path, fake_models):
    model = trained_model()
    path = os.fsencode(tmp_path / "m.nerve")
    saving.save_model(model, path)
    assert_same_weights(saving.load_model(path).get_weights(), model.get_weights())
    saving.save_weights(model, path + b".weights")
    loaded = trained_model()
    saving.load_weights(loaded, path + b".weights")
    assert_same_weights(loaded.get_weights(), model.get_weights())


@pytest.mark.parametrize("call", [
    lambda path: saving.save_model(trained_model(), path),
    lambda path: saving.save_weights(trained_model(), path),
    lambda path: saving.load_model(path),
    lambda path: saving.load_weights(trained_model(), path),
], ids=["save_model", "save_weights", "load_model", "load_weights"])
@pytest.mark.parametrize("path", [None, 3, ["m.nerve"]])
def test_a_path_that_is_no_path_is_a_clear_error(call, path):
    with pytest.raises(TypeError, match="filepath: expected a path"):
        call(path)


# --- NaN and infinities in configurations ----------------------------------------------------

NAN, INF = math.nan, math.inf
L, I, C, M, CB = (nerve.layers, nerve.initializers, nerve.constraints, nerve.metrics,
                  nerve.callbacks)
# Constructors that took NaN or an infinity (which their configuration then held, so that a
# model holding them could not be saved), and the values each must now refuse.
NON_FINITE_ARGUMENTS = {
    "ELU alpha": (lambda v: L.ELU(alpha=v), (NAN, INF, -INF)),
    "LeakyReLU negative_slope": (lambda v: L.LeakyReLU(negative_slope=v), (NAN, INF)),
    "ReLU negative_slope": (lambda v: L.ReLU(negative_slope=v), (NAN, INF)),
    "ReLU threshold": (lambda v: L.ReLU(threshold=v), (NAN, INF)),
    "Rescaling scale": (lambda v: L.Rescaling(v), (NAN, INF, -INF)),
    "Rescaling offset list": (lambda v: L.Rescaling(1.0, [0.0, v]), (NAN, INF, -INF)),
    "Normalization mean": (lambda v: L.Normalization(mean=v, variance=1.0), (NAN, INF)),
    "Normalization variance": (lambda v: L.Normalization(mean=0.0, variance=v), (NAN, INF)),
    "Constant value": (lambda v: I.Constant(v), (NAN, INF, -INF)),
    "RandomNormal mean": (lambda v: I.RandomNormal(mean=v), (NAN, INF)),
    "RandomNormal stddev": (lambda v: I.RandomNormal(stddev=v), (NAN, INF)),
    "RandomNormal seed": (lambda v: I.RandomNormal(seed=v), (NAN, INF)),
    "RandomUniform minval": (lambda v: I.RandomUniform(minval=v), (NAN, -INF)),
    "RandomUniform maxval": (lambda v: I.RandomUniform(maxval=v), (NAN, INF)),
    "TruncatedNormal stddev": (lambda v: I.TruncatedNormal(stddev=v), (NAN, INF)),
    "VarianceScaling scale": (lambda v: I.VarianceScaling(scale=v), (NAN, INF)),
    "GlorotUniform seed": (lambda v: I.GlorotUniform(seed=v), (NAN,)),
    "MaxNorm max_value": (lambda v: C.MaxNorm(max_value=v), (NAN, INF)),
    "MaxNorm axis": (lambda v: C.MaxNorm(axis=v), (NAN, INF)),
    "MinMaxNorm min_value": (lambda v: C.MinMaxNorm(min_value=v), (NAN, -INF)),
    "MinMaxNorm max_value": (lambda v: C.MinMaxNorm(max_value=v), (NAN, INF)),
    "MinMaxNorm rate": (lambda v: C.MinMaxNorm(rate=v), (NAN, INF)),
    "UnitNorm axis": (lambda v: C.UnitNorm(axis=v), (NAN,)),
    "BinaryAccuracy threshold": (lambda v: M.BinaryAccuracy(threshold=v), (NAN, INF, -INF)),
    "Precision thresholds": (lambda v: M.Precision(thresholds=v), (NAN, INF)),
    # Callbacks are not saved, but NaN fails every comparison they make: they never act.
    "EarlyStopping min_delta": (lambda v: CB.EarlyStopping(min_delta=v), (NAN, INF)),
    "EarlyStopping patience": (lambda v: CB.EarlyStopping(patience=v), (NAN,)),
    "EarlyStopping baseline": (lambda v: CB.EarlyStopping(baseline=v), (NAN, INF)),
    "ReduceLROnPlateau factor": (lambda v: CB.ReduceLROnPlateau(factor=v), (NAN,)),
    "ReduceLROnPlateau min_lr": (lambda v: CB.ReduceLROnPlateau(min_lr=v), (NAN, INF)),
    "ReduceLROnPlateau cooldown": (lambda v: CB.ReduceLROnPlateau(cooldown=v), (NAN,)),
}


@pytest.mark.parametrize("make, values", NON_FINITE_ARGUMENTS.values(),
                         ids=NON_FINITE_ARGUMENTS.keys())
def test_constructors_refuse_nan_and_meaningless_infinities(make, values):
    for value in values:
        with pytest.raises(ValueError, match="expected|Received"):
            make(value)


def test_an_infinite_relu_cap_is_no_cap_and_saves(tmp_path):
    model = nerve.models.Sequential([nerve.layers.Dense(3, input_dim=4),
                                     nerve.layers.ReLU(max_value=INF)])
    assert model.layers[1].get_config()["max_value"] is None
    model.save(tmp_path / "m.nerve")
    x = np.random.default_rng(0).standard_normal((5, 4)).astype(np.float32)
    loaded = nerve.models.load_model(tmp_path / "m.nerve")
    assert np.array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))


def test_saving_a_non_finite_configuration_names_the_value_and_the_file(tmp_path):
    path = tmp_path / "m.nerve"
    with pytest.raises(ValueError) as raised:
        saving.save_model(FakeSequential(units=(3, NAN)), path)
    assert str(path) in str(raised.value) and "['units'][1] is nan" in str(raised.value)
    assert not path.exists() and os.listdir(tmp_path) == []


def test_rebuilding_a_sequential_takes_work_linear_in_its_layers(tmp_path, monkeypatch):
    """Adding layers one at a time rechecked and rebuilt the whole chain at each: a crafted
    2 MB file of 50 000 layers took minutes to load."""
    layers = 200
    path = tmp_path / "deep.nerve"
    nerve.models.Sequential([nerve.layers.ReLU(input_dim=4)]
                            + [nerve.layers.ReLU() for _ in range(layers - 1)]).save(path)
    calls = []
    shape_of = nerve.layers.ReLU.compute_output_shape
    monkeypatch.setattr(nerve.layers.ReLU, "compute_output_shape",
                        lambda self, shape: calls.append(1) or shape_of(self, shape))
    loaded = nerve.models.load_model(path)
    assert len(loaded.layers) == layers and loaded.output_shape == (None, 4)
    assert len(calls) <= 10 * layers, len(calls)  # a few passes over the chain, not one per layer
