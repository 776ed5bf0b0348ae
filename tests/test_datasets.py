"""Local data loaders, on small files written by the tests."""
import gzip
import os

import numpy as np
import pytest

from nerve.datasets import load_csv, load_mnist

SHARED_MNIST = "/work/shared/data/mnist.npz"


def small_mnist(seed=0):
    rng = np.random.default_rng(seed)
    return {"x_train": rng.integers(0, 256, (5, 28, 28), dtype=np.uint8),
            "y_train": rng.integers(0, 10, 5, dtype=np.uint8),
            "x_test": rng.integers(0, 256, (3, 28, 28), dtype=np.uint8),
            "y_test": rng.integers(0, 10, 3, dtype=np.uint8)}


def idx_bytes(array):
    header = bytes([0, 0, 0x08, array.ndim]) + np.array(array.shape, ">u4").tobytes()
    return header + array.tobytes()


IDX_NAMES = {"x_train": "train-images-idx3-ubyte", "y_train": "train-labels-idx1-ubyte",
             "x_test": "t10k-images-idx3-ubyte", "y_test": "t10k-labels-idx1-ubyte"}


def write_idx_directory(directory, arrays, gzipped=False):
    for key, name in IDX_NAMES.items():
        data = idx_bytes(arrays[key])
        if gzipped:
            (directory / (name + ".gz")).write_bytes(gzip.compress(data))
        else:
            (directory / name).write_bytes(data)


def assert_mnist(result, arrays):
    (x_train, y_train), (x_test, y_test) = result
    for got, key in ((x_train, "x_train"), (y_train, "y_train"), (x_test, "x_test"),
                     (y_test, "y_test")):
        assert got.dtype == np.uint8 and np.array_equal(got, arrays[key])


def test_mnist_from_a_keras_npz(tmp_path):
    arrays = small_mnist()
    np.savez_compressed(tmp_path / "mnist.npz", **arrays)
    assert_mnist(load_mnist(tmp_path / "mnist.npz"), arrays)


@pytest.mark.parametrize("gzipped", [False, True])
def test_mnist_from_idx_files(tmp_path, gzipped):
    arrays = small_mnist()
    write_idx_directory(tmp_path, arrays, gzipped)
    assert_mnist(load_mnist(str(tmp_path)), arrays)


def test_mnist_idx_files_with_dotted_names(tmp_path):
    arrays = small_mnist()
    write_idx_directory(tmp_path, arrays)
    for name in IDX_NAMES.values():
        os.rename(tmp_path / name, tmp_path / name.replace("-idx", ".idx"))
    assert_mnist(load_mnist(tmp_path), arrays)


def test_mnist_idx_errors(tmp_path):
    arrays = small_mnist()
    write_idx_directory(tmp_path, arrays)
    labels = tmp_path / IDX_NAMES["y_train"]
    labels.write_bytes(idx_bytes(arrays["y_train"])[:-1])
    with pytest.raises(ValueError, match="truncated or corrupt"):
        load_mnist(tmp_path)
    labels.write_bytes(b"\x00\x00\x0d\x01" + idx_bytes(arrays["y_train"])[4:])
    with pytest.raises(ValueError, match="magic number 00000d01, expected 00000801"):
        load_mnist(tmp_path)
    labels.write_bytes(idx_bytes(arrays["y_train"][:4]))
    with pytest.raises(ValueError, match="do not match"):
        load_mnist(tmp_path)
    labels.unlink()
    with pytest.raises(FileNotFoundError, match="train-labels-idx1-ubyte"):
        load_mnist(tmp_path)


def test_mnist_npz_errors(tmp_path):
    arrays = small_mnist()
    del arrays["y_test"]
    np.savez(tmp_path / "partial.npz", **arrays)
    with pytest.raises(ValueError, match=r"lacks \['y_test'\]"):
        load_mnist(tmp_path / "partial.npz")
    (tmp_path / "text.npz").write_text("not a zip")
    with pytest.raises(ValueError, match="text.npz"):
        load_mnist(tmp_path / "text.npz")
    arrays = small_mnist()
    arrays["y_train"] = arrays["y_train"].astype(np.int64) + 10
    np.savez(tmp_path / "labels.npz", **arrays)
    with pytest.raises(ValueError, match="int64, expected uint8"):
        load_mnist(tmp_path / "labels.npz")
    np.save(tmp_path / "array.npy", np.zeros(3))
    with pytest.raises(ValueError, match="not an .npz archive"):
        load_mnist(tmp_path / "array.npy")
    with pytest.raises(FileNotFoundError):
        load_mnist(tmp_path / "missing.npz")


def test_mnist_default_path_says_nothing_is_downloaded(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    with pytest.raises(FileNotFoundError, match="does not download"):
        load_mnist()


@pytest.mark.skipif(not os.path.exists(SHARED_MNIST), reason="needs the shared MNIST file")
def test_the_real_mnist():
    (x_train, y_train), (x_test, y_test) = load_mnist(SHARED_MNIST)
    assert x_train.shape == (60000, 28, 28) and x_test.shape == (10000, 28, 28)
    assert np.bincount(y_test).tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974,
                                            1009]


PIMA_LIKE = "6,148,72,35,0,33.6,0.627,50,1\n1,85,66,29,0,26.6,0.351,31,0\n"


def test_csv_like_the_pima_tutorial(tmp_path):
    path = tmp_path / "pima.csv"
    path.write_text(PIMA_LIKE)
    x, y = load_csv(path)
    assert x.dtype == np.float32 and x.shape == (2, 8) and x[0, 5] == np.float32(33.6)
    assert y.dtype == np.float32 and y.tolist() == [1.0, 0.0]


def test_csv_header_label_column_and_delimiter(tmp_path):
    path = tmp_path / "table.csv"
    path.write_text("label;a;b\n1;2;3\n0;5;6\n")
    x, y = load_csv(path, label_column=0, delimiter=";")
    assert x.tolist() == [[2, 3], [5, 6]] and y.tolist() == [1, 0]
    x, none = load_csv(path, label_column=None, delimiter=";", dtype=np.float64)
    assert x.shape == (2, 3) and x.dtype == np.float64 and none is None


def test_csv_errors_name_the_file(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("1,2,3\n4,oops,6\n")
    with pytest.raises(ValueError, match="bad.csv.*oops"):
        load_csv(path)
    path.write_text("1,2\n")
    with pytest.raises(ValueError, match="label_column=5 is out of range"):
        load_csv(path, label_column=5)
    path.write_text("")
    with pytest.raises(ValueError, match="no data rows"):
        load_csv(path)
