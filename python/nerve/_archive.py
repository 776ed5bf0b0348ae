"""nerve's archive: one zip of header.json and .npy arrays, written whole and read validated.

nerve.saving chooses what goes in (the header's configs, the groups of arrays) and calls
_write and _read; reading checks every member before it allocates for it (sizes within the
file, stored not compressed, numeric dtypes, no pickle), so a hostile file raises ValueError.
"""
from __future__ import annotations

import errno
import io
import json
import math
import os
import stat
import zipfile

import numpy as np

from . import _atomic_files

# Version 2 (graph models) adds functional and subclassed model configurations; version 1
# files (Sequential) read unchanged.
MODEL_FORMAT, WEIGHTS_FORMAT, FORMAT_VERSION = "nerve.model", "nerve.weights", 2
_READABLE_VERSIONS = (1, 2)
_HEADER = "header.json"
_MAX_HEADER_BYTES = 64 << 20
_NUMERIC_KINDS = "biuf"  # bool, int, uint, float: every array a model or optimizer holds


def _error(filepath, problem):
    return ValueError(f"{filepath!r}: {problem}")

# --- writing -------------------------------------------------------------------------------

def _write(filepath, format_name, header, groups):
    from . import __version__

    arrays = {f"{group}/{index}.npy": _numeric_array(array, f"{group} {index}")
              for group, values in groups.items() for index, array in enumerate(values)}
    header = {"format": format_name, "format_version": FORMAT_VERSION,
              "nerve_version": __version__, **header,
              "arrays": {group: len(values) for group, values in groups.items()}}
    try:
        header_bytes = json.dumps(header, indent=1, allow_nan=False).encode("utf-8")
    except ValueError:
        where = _non_finite(header)
        if where is None:
            raise
        raise ValueError(f"cannot save to {filepath!r}: {where}, and a nerve file (strict "
                         f"JSON) holds only finite numbers") from None
    _atomic_files.write(filepath, lambda file: _write_zip(file, header_bytes, arrays))


def _non_finite(value, where="the header"):
    """Where in `value` (dicts and lists) a NaN or an infinity lies, or None."""
    if isinstance(value, float) and not math.isfinite(value):
        return f"{where} is {value}"
    items = value.items() if isinstance(value, dict) \
        else enumerate(value) if isinstance(value, (list, tuple)) else ()
    for key, item in items:
        found = _non_finite(item, f"{where}[{key!r}]")
        if found is not None:
            return found
    return None


def _numeric_array(array, what):
    array = np.asarray(array, order="C")  # (ascontiguousarray would make 0-d arrays 1-d)
    if array.dtype.kind not in _NUMERIC_KINDS:
        raise TypeError(f"cannot save {what}: dtype {array.dtype} is not numeric")
    return array


def _write_zip(file, header_bytes, arrays):
    # Stored, not deflated: float weights barely compress, and the CRCs still catch corruption.
    with zipfile.ZipFile(file, "w", zipfile.ZIP_STORED, allowZip64=True) as archive:
        archive.writestr(_HEADER, header_bytes)
        for name, array in arrays.items():
            with archive.open(name, "w", force_zip64=array.nbytes > (1 << 30)) as entry:
                np.lib.format.write_array(entry, array, allow_pickle=False)


# --- reading -------------------------------------------------------------------------------

def _read(filepath, accepted_formats, keras_weights=None):
    """("nerve", header, arrays {group: [arrays]}) of a nerve file, all validated; told by
    content, not by name, ("keras", config, weights file) of a Keras archive, or, given
    `keras_weights` (a model), None once the weights of a Keras file are loaded into it."""
    from .interop import keras_format
    with _open_regular_file(filepath) as file:
        start = file.read(8)
        file.seek(0)
        if start.startswith(b"\x89HDF"):
            if keras_weights is not None:
                return keras_format.load_weights(filepath, keras_weights, file)
            raise _error(filepath, "this is an HDF5 file: Keras weights (load them with "
                                   "model.load_weights()) or a Keras 2 .h5 model, which nerve "
                                   "does not read: open it in Keras and save it as .keras")
        try:
            with zipfile.ZipFile(file) as archive:
                if keras_format.is_keras_archive(archive):
                    config, weights = keras_format.read_archive(filepath, archive)
                    if keras_weights is None:
                        return "keras", config, weights
                    return keras_format.load_weights(filepath, keras_weights,
                                                     io.BytesIO(weights))
                header = _read_header(filepath, archive, accepted_formats)
                arrays = {group: [_read_array(filepath, archive, f"{group}/{index}.npy")
                                  for index in range(count)]
                          for group, count in header["arrays"].items()}
        except (zipfile.BadZipFile, EOFError, NotImplementedError, RuntimeError) as error:
            if filepath.lower().endswith(".onnx"):
                raise _error(filepath, "an ONNX file (or not a model file at all): nerve "
                                       "exports ONNX but does not load it") from None
            raise _error(filepath, f"not a valid nerve file (truncated or corrupt?): "
                                   f"{error}") from None
        except OSError as error:
            if error.errno == errno.EINVAL:  # a seek to a corrupt offset
                raise _error(filepath, f"not a valid nerve file (truncated or corrupt?): "
                                       f"{error}") from None
            if error.filename is None:  # name the file, as open() does
                raise type(error)(error.errno, error.strerror, filepath) from None
            raise
    return "nerve", header, arrays


def _open_regular_file(filepath):
    """`filepath` opened for reading, if it is a regular file (FileNotFoundError as usual when
    missing). A FIFO would block the open or the reads, a device like /dev/zero never ends:
    the check is on the file opened, so nothing can swap the file in between, and O_NONBLOCK
    lets the open of a FIFO return at once."""
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0) \
        | getattr(os, "O_BINARY", 0)
    descriptor = os.open(filepath, flags)
    try:
        if not stat.S_ISREG(os.fstat(descriptor).st_mode):
            raise _error(filepath, "not a regular file (a directory, pipe or device?): nerve "
                                   "loads only regular files")
        return os.fdopen(descriptor, "rb")
    except BaseException:
        os.close(descriptor)
        raise


def _member(filepath, archive, name):
    """The ZipInfo of the member `name`, checked to be stored (nerve compresses nothing, and a
    compressed member could inflate to far more than the file) and to lie within the file, so
    that reading it allocates no more than the file's size."""
    try:
        info = archive.getinfo(name)
    except KeyError:
        raise _error(filepath, f"the entry {name} is missing") from None
    if info.compress_type != zipfile.ZIP_STORED:
        raise _error(filepath, f"{name} is compressed; nerve reads archives whose members are "
                               f"stored uncompressed")
    file_size = os.fstat(archive.fp.fileno()).st_size
    if info.file_size != info.compress_size or info.header_offset + info.file_size > file_size:
        raise _error(filepath, f"{name} declares {info.file_size} bytes, more than the file "
                               f"holds (truncated or corrupt?)")
    return info


def _read_header(filepath, archive, accepted_formats):
    names = set(archive.namelist())
    if _HEADER not in names:
        raise _error(filepath, f"not a nerve or Keras file: it has neither {_HEADER} nor "
                               f"config.json")
    info = _member(filepath, archive, _HEADER)
    if info.file_size > _MAX_HEADER_BYTES:
        raise _error(filepath, f"not a nerve file: {_HEADER} is too large")
    try:  # ValueError: not UTF-8, not JSON, or an integer beyond Python's digit limit
        header = json.loads(archive.read(info).decode("utf-8"))
    except ValueError as error:
        raise _error(filepath, f"{_HEADER} is not valid JSON: {error}") from None
    if not isinstance(header, dict) or header.get("format") not in (MODEL_FORMAT, WEIGHTS_FORMAT):
        raise _error(filepath, f"not a nerve file: its {_HEADER} names no nerve format")
    if header["format"] not in accepted_formats:
        hint = "use model.load_weights() for a weights file" \
            if header["format"] == WEIGHTS_FORMAT else ""
        raise _error(filepath, f"this is a {header['format']!r} file, expected "
                               f"{' or '.join(map(repr, accepted_formats))}; {hint}".rstrip("; "))
    version = header.get("format_version")
    if version not in _READABLE_VERSIONS:
        raise _error(filepath, f"format version {version!r} (written by nerve "
                               f"{header.get('nerve_version')}); this nerve reads versions up to "
                               f"{FORMAT_VERSION}: upgrade nerve to load it")
    counts = header.get("arrays")
    if not (isinstance(counts, dict) and "weights" in counts and all(
            isinstance(n, int) and n >= 0 for n in counts.values())):
        raise _error(filepath, f"{_HEADER} has no valid list of arrays")
    counts.setdefault("optimizer", 0)
    return header


def _read_array(filepath, archive, name):
    """One .npy entry, read without pickle and checked against the entry's size."""
    info = _member(filepath, archive, name)
    with archive.open(info) as entry:
        try:
            version = np.lib.format.read_magic(entry)
            read_header = {(1, 0): np.lib.format.read_array_header_1_0,
                           (2, 0): np.lib.format.read_array_header_2_0}.get(version)
            if read_header is None:
                raise ValueError(f"unsupported .npy version {version}")
            shape, fortran_order, dtype = read_header(entry)
        except ValueError as error:
            raise _error(filepath, f"{name} is not a valid .npy array: {error}") from None
        if dtype.kind not in _NUMERIC_KINDS or dtype.hasobject:
            raise _error(filepath, f"{name}: dtype {dtype} is not numeric")
        if any(n < 0 for n in shape):  # (NumPy's reader checks that they are ints)
            raise _error(filepath, f"{name}: the shape {shape} has a size < 0")
        size = math.prod(shape) * dtype.itemsize  # Python ints: no overflow
        if info.file_size - entry.tell() != size:
            raise _error(filepath, f"{name}: the data does not match its shape {list(shape)}")
        data = np.frombuffer(entry.read(size), dtype=dtype)
    return data.reshape(shape, order="F" if fortran_order else "C").copy()
