"""Embedding gather / scatter-add kernels against nerve.reference (both dtypes, int32 and
int64 indices, 1 and 2 threads, every instruction set), repeated indices, thread-count
independence, and out-of-range or malformed indices rejected before anything is written."""
import numpy as np
import pytest

from helpers import assert_close, random_array
from nerve import _core
from nerve import reference as ref

# (n indices, table rows, dim): empty, one row, dims past the 64-column chunk, many repeats.
SHAPES = [(0, 3, 4), (5, 3, 0), (1, 1, 1), (7, 3, 5), (100, 10, 16), (33, 1000, 65),
          (5000, 7, 130), (2000, 50, 1)]


def kernel(name, scalar):
    return getattr(_core, f"_{name}_scalar" if scalar else name)


@pytest.mark.parametrize("index_dtype", [np.int32, np.int64], ids=["i32", "i64"])
@pytest.mark.parametrize("scalar", [False, True], ids=["kernel", "scalar"])
@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: "x".join(map(str, s)))
def test_embedding_matches_reference(shape, scalar, index_dtype, dtype, threads, isa):
    n, rows, dim = shape
    rng = np.random.default_rng(sum(shape))
    table = random_array(rng, (rows, dim), dtype)
    indices = rng.integers(0, rows, n).astype(index_dtype)
    expected, actual = np.empty((n, dim), dtype), np.full((n, dim), np.nan, dtype)
    ref.embedding_forward(expected, table, indices)
    kernel("embedding_forward", scalar)(actual, table, indices)
    np.testing.assert_array_equal(actual, expected)
    dy = random_array(rng, (n, dim), dtype)
    for accumulate in (False, True):
        expected = random_array(rng, (rows, dim), dtype)
        actual = expected.copy()
        ref.embedding_backward(expected, dy, indices, accumulate)
        kernel("embedding_backward", scalar)(actual, dy, indices, accumulate)
        assert_close(actual, expected, dtype, 4 * max(1, n / max(rows, 1)) ** 0.5)


def test_repeated_indices_add_their_rows():
    dy = np.arange(12, dtype=np.float64).reshape(4, 3)
    indices = np.array([2, 0, 2, 2], np.int64)
    for backend in (_core, ref):
        dtable = np.full((3, 3), 7.0)
        backend.embedding_backward(dtable, dy, indices)
        np.testing.assert_array_equal(dtable, [[3, 4, 5], [0, 0, 0], [15, 18, 21]])
        backend.embedding_backward(dtable, dy, indices, True)
        np.testing.assert_array_equal(dtable, [[6, 8, 10], [0, 0, 0], [30, 36, 42]])


def test_scatter_does_not_depend_on_thread_count(dtype):
    rng = np.random.default_rng(4)
    indices = rng.integers(0, 20, 30000).astype(np.int32)
    dy = random_array(rng, (30000, 200), dtype)
    results = []
    for n in (1, 2):
        _core.set_num_threads(n)
        try:
            dtable = np.empty((20, 200), dtype)
            _core.embedding_backward(dtable, dy, indices)
            results.append(dtable)
        finally:
            _core.reset_num_threads()
    np.testing.assert_array_equal(results[0], results[1])


@pytest.mark.parametrize("bad, position", [(5, 2), (-1, 0), (2**40, 1)])
@pytest.mark.parametrize("backend", [_core, ref], ids=["core", "reference"])
def test_out_of_range_indices_are_a_value_error(bad, position, backend):
    table = np.ones((5, 2), np.float32)
    indices = np.array([0, 1, 4], np.int64)
    indices[position] = bad
    y = np.zeros((3, 2), np.float32)
    with pytest.raises(ValueError, match=rf"indices: expected values in \[0, 5\) .*received "
                                         rf"{bad} at position {position}"):
        backend.embedding_forward(y, table, indices)
    assert (y == 0).all()  # nothing written
    dtable = np.full((5, 2), 3.0, np.float32)
    with pytest.raises(ValueError, match="indices: expected values in"):
        backend.embedding_backward(dtable, y, indices)
    assert (dtable == 3).all()


@pytest.mark.parametrize("backend", [_core, ref], ids=["core", "reference"])
def test_malformed_arguments_are_rejected(backend):
    table = np.ones((5, 2), np.float32)
    y = np.zeros((3, 2), np.float32)
    index = np.array([0, 1, 2], np.int64)
    cases = [
        ((y, table, index.astype(np.float32)), TypeError, "indices: expected dtype int32 or int64"),
        ((y, table, index.astype(np.int16)), TypeError, "indices: expected dtype int32"),
        ((y, table, index.reshape(3, 1)), ValueError, "indices: expected a 1-D array"),
        ((y, table, np.arange(6)[::2]), ValueError, "indices: expected a C-contiguous array"),
        ((y, table.astype(np.float64), index), TypeError, "table: expected dtype float32"),
        ((np.zeros((4, 2), np.float32), table, index), ValueError, "y: expected shape (3, 2)"),
        ((table[:3], table, index), ValueError, "y: expected memory separate from table"),
        ((y, table, [0, 1, 2]), TypeError, "indices: expected a numpy.ndarray"),
    ]
    for args, error, fragment in cases:
        with pytest.raises(error) as caught:
            backend.embedding_forward(*args)
        assert fragment in str(caught.value)
    with pytest.raises(ValueError, match=r"dy: expected shape \(3, 2\)"):
        backend.embedding_backward(np.zeros((5, 2), np.float32), np.zeros((2, 2), np.float32),
                                   index)
