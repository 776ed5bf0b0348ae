"""Loaders for local data files (nerve never downloads anything).

    (x_train, y_train), (x_test, y_test) = nerve.datasets.load_mnist("mnist.npz")
    X, y = nerve.datasets.load_csv("pima-indians-diabetes.csv")
"""
import gzip
import os
import warnings
from typing import Optional, Tuple, Union

import numpy as np

from ._typing import DTypeLike

__all__ = ["load_mnist", "load_csv"]

_Split = Tuple[np.ndarray, np.ndarray]

_KERAS_MNIST = os.path.join("~", ".keras", "datasets", "mnist.npz")
_MNIST_KEYS = ("x_train", "y_train", "x_test", "y_test")
# The original files: train-images-idx3-ubyte etc., also spelled train-images.idx3-ubyte.
_IDX_STEMS = {"x_train": ("train-images", 3), "y_train": ("train-labels", 1),
              "x_test": ("t10k-images", 3), "y_test": ("t10k-labels", 1)}
_IDX_UBYTE = 0x08


def load_mnist(path: Optional[Union[str, os.PathLike]] = None) -> Tuple[_Split, _Split]:
    """MNIST as ((x_train, y_train), (x_test, y_test)), uint8 like keras.datasets.mnist.

    Images are (n, 28, 28) with pixels 0-255, labels (n,) in 0-9. nerve never downloads
    anything: the data must be on disk.

    Args:
        path: Str, path-like or None, default None: Keras's mnist.npz, or a directory with the
            four original IDX files (train-images-idx3-ubyte, ..., optionally gzipped). None
            reads the file Keras downloads to ~/.keras/datasets/mnist.npz.

    Returns:
        ((x_train, y_train), (x_test, y_test)), new uint8 arrays.

    Raises:
        FileNotFoundError: When the file, or one of the four IDX files, does not exist.
        ValueError: When a file is not a readable MNIST file (not an .npz, missing arrays, a
            wrong IDX header or size, images and labels that do not match, not uint8, or
            labels above 9).

    Example:
        >>> import os, tempfile, numpy as np, nerve
        >>> with tempfile.TemporaryDirectory() as directory:
        ...     path = os.path.join(directory, "mnist.npz")
        ...     np.savez(path, x_train=np.zeros((2, 28, 28), np.uint8), y_train=np.uint8([3, 4]),
        ...              x_test=np.zeros((1, 28, 28), np.uint8), y_test=np.uint8([7]))
        ...     (x_train, y_train), (x_test, y_test) = nerve.datasets.load_mnist(path)
        >>> x_train.shape, y_test
        ((2, 28, 28), array([7], dtype=uint8))
    """
    if path is None:
        path = os.path.expanduser(_KERAS_MNIST)
        if not os.path.exists(path):
            raise FileNotFoundError(
                f"no MNIST file at {path!r} (nerve does not download data): pass the path to "
                "Keras's mnist.npz or to a directory with the four IDX files")
    path = os.fspath(path)
    if os.path.isdir(path):
        arrays = {key: _read_idx(_find_idx(path, stem), ndim)
                  for key, (stem, ndim) in _IDX_STEMS.items()}
    else:
        arrays = _read_mnist_npz(path)
    for split in ("train", "test"):
        _check_mnist_split(path, arrays[f"x_{split}"], arrays[f"y_{split}"], split)
    return (arrays["x_train"], arrays["y_train"]), (arrays["x_test"], arrays["y_test"])


def _read_mnist_npz(path):
    try:
        archive = np.load(path, allow_pickle=False)
    except FileNotFoundError:
        raise
    except (OSError, ValueError, EOFError) as error:
        raise ValueError(f"{path!r}: not a readable .npz file: {error}") from None
    if not isinstance(archive, np.lib.npyio.NpzFile):
        raise ValueError(f"{path!r}: not an .npz archive (a single .npy array?)")
    with archive:
        missing = [key for key in _MNIST_KEYS if key not in archive.files]
        if missing:
            raise ValueError(f"{path!r}: not an MNIST .npz file: it lacks {missing}")
        return {key: archive[key] for key in _MNIST_KEYS}


def _check_mnist_split(path, images, labels, split):
    if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
        raise ValueError(f"{path!r}: {split} images {images.shape} and labels {labels.shape} "
                         "do not match: expected (n, rows, columns) images and (n,) labels")
    for name, array in (("images", images), ("labels", labels)):
        if array.dtype != np.uint8:
            raise ValueError(f"{path!r}: {split} {name} are {array.dtype}, expected uint8")
    if labels.size and labels.max() > 9:
        raise ValueError(f"{path!r}: {split} labels go up to {labels.max()}, expected 0-9")


def _find_idx(directory, stem):
    kind = "idx3" if "images" in stem else "idx1"
    candidates = [f"{stem}{sep}{kind}-ubyte{gz}" for sep in ("-", ".") for gz in ("", ".gz")]
    for name in candidates:
        path = os.path.join(directory, name)
        if os.path.exists(path):
            return path
    raise FileNotFoundError(f"{directory!r}: no MNIST file {candidates[0]} (nor "
                            f"{', '.join(candidates[1:])})")


def _read_idx(path, ndim):
    """An IDX file of unsigned bytes (the original MNIST format), gzipped or not."""
    with open(path, "rb") as file:
        gzipped = file.read(2) == b"\x1f\x8b"
    try:
        with (gzip.open if gzipped else open)(path, "rb") as file:
            data = file.read()
    except (OSError, EOFError) as error:
        raise ValueError(f"{path!r}: cannot decompress: {error}") from None
    if len(data) < 4 or data[:2] != b"\0\0" or data[2] != _IDX_UBYTE or data[3] != ndim:
        raise ValueError(f"{path!r}: not an IDX file of {ndim}-D unsigned bytes (magic number "
                         f"{data[:4].hex()}, expected 0000080{ndim})")
    header_size = 4 + 4 * ndim
    shape = tuple(int(d) for d in np.frombuffer(data[4:header_size], ">u4")) \
        if len(data) >= header_size else ()
    if len(shape) != ndim or len(data) - header_size != int(np.prod(shape)):
        raise ValueError(f"{path!r}: truncated or corrupt: {len(data)} bytes do not hold the "
                         f"header and data of shape {shape}")
    return np.frombuffer(data, np.uint8, offset=header_size).reshape(shape).copy()


def load_csv(path: Union[str, os.PathLike], label_column: Optional[int] = -1,
             delimiter: str = ",", skip_header: Union[str, bool, int] = "auto",
             dtype: DTypeLike = np.float32) -> Tuple[np.ndarray, Optional[np.ndarray]]:
    """A numeric table as (X, y): the features, and the `label_column` column.

    Both are `dtype` (cast y with y.astype(int) for class indices).

    Args:
        path: Str or path-like, the CSV file (UTF-8).
        label_column: Int or None, default -1 (the last column): the column returned as y;
            None returns (table, None).
        delimiter: Str, default ",".
        skip_header: "auto", a bool or an int, default "auto": "auto" skips a first line that
            is not numeric (column names); True/False or a number of lines force it.
        dtype: The arrays' dtype, default np.float32.

    Returns:
        (X, y): new arrays, X of shape (rows, columns - 1) and y of shape (rows,); or
        (table, None).

    Raises:
        FileNotFoundError: When the file does not exist.
        ValueError: When the file is not a numeric table, has no data rows, or label_column is
            out of range (or the table has a single column).

    Example:
        >>> import os, tempfile, nerve
        >>> with tempfile.TemporaryDirectory() as directory:
        ...     path = os.path.join(directory, "data.csv")
        ...     with open(path, "w") as file:
        ...         _ = file.write("a,b,label\\n1,2,0\\n3,4,1\\n")
        ...     X, y = nerve.datasets.load_csv(path)
        >>> X
        array([[1., 2.],
               [3., 4.]], dtype=float32)
        >>> y
        array([0., 1.], dtype=float32)
    """
    path = os.fspath(path)
    if skip_header == "auto":
        skip_header = _has_header(path, delimiter)
    try:
        with warnings.catch_warnings():  # an empty file: reported below as an error
            warnings.simplefilter("ignore", UserWarning)
            table = np.loadtxt(path, delimiter=delimiter, skiprows=int(skip_header),
                               dtype=dtype, ndmin=2, encoding="utf-8")
    except ValueError as error:
        raise ValueError(f"{path!r}: cannot read as a numeric table: {error}") from None
    if table.size == 0:
        raise ValueError(f"{path!r}: no data rows")
    if label_column is None:
        return table, None
    columns = table.shape[1]
    if not -columns <= label_column < columns or columns < 2:
        raise ValueError(f"label_column={label_column} is out of range for {path!r}, which "
                         f"has {columns} columns")
    return np.delete(table, label_column, axis=1), table[:, label_column].copy()


def _has_header(path, delimiter):
    with open(path, encoding="utf-8") as file:
        first = file.readline()
    try:
        [float(field) for field in first.split(delimiter) if field.strip()]
    except ValueError:
        return True
    return False
