"""Memory: repeating fit / evaluate / predict, and the kernels, does not grow the process.

Resident memory is read from /proc/self/statm (Linux) after a warm-up (first calls allocate
caches, plans and the kernels' workspaces for good). Each iteration allocates well over
BOUND / ITERATIONS bytes of results, so leaking any of them would show far above the bound,
while allocator noise stays well below it."""
import ctypes
import ctypes.util
import gc
import os

import numpy as np
import pytest

import nerve
import nerve.ops as nops
from nerve import _core

BOUND = 4 << 20  # bytes of growth allowed over the measured iterations
ITERATIONS = 60
WARM_UP = 10
# Batch sizes cycled through: with the partial last batches and three modes they need more
# plans than a model caches, so evicted plans must be freed too.
BATCH_SIZES = (64, 100, 128, 200, 256)

pytestmark = pytest.mark.skipif(not os.path.exists("/proc/self/statm"),
                                reason="resident memory is read from /proc/self/statm")


def _malloc_trim():
    """glibc's malloc_trim, or a no-op: returns freed heap pages to the system, so that the
    resident size counts live memory rather than free memory the allocator kept."""
    try:
        return ctypes.CDLL(ctypes.util.find_library("c")).malloc_trim
    except (OSError, AttributeError, TypeError):
        return lambda pad: 0


MALLOC_TRIM = _malloc_trim()


def resident_bytes():
    gc.collect()  # fit leaves model <-> History cycles for the collector
    MALLOC_TRIM(0)
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def growth(step, iterations=ITERATIONS, warm_up=WARM_UP):
    """Bytes the process grew while `step(i)` ran `iterations` times after the warm-up."""
    for i in range(warm_up):
        step(i)
    before = resident_bytes()
    for i in range(iterations):
        step(i)
    return resident_bytes() - before


@pytest.fixture
def one_thread():
    # On a loaded, shared machine a parallel region can wait milliseconds for a descheduled
    # thread; the model loop is about allocations, so it runs serially to stay fast. The
    # kernel loop below covers the threaded path.
    _core.set_num_threads(1)
    yield
    _core.reset_num_threads()


def training_setup():
    nerve.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((4096, 32)).astype(np.float32)
    y = rng.integers(0, 10, len(x))
    model = nerve.models.Sequential([nerve.layers.Dense(64, input_dim=32, activation="relu"),
                                     nerve.layers.Dropout(0.1),
                                     nerve.layers.Dense(10, activation="softmax")])
    model.compile(loss="sparse_categorical_crossentropy", optimizer="adam",
                  metrics=["accuracy"])
    return model, x, y


def test_fit_evaluate_predict_in_a_loop_do_not_grow_memory(one_thread):
    model, x, y = training_setup()
    results = []  # nothing kept from one iteration to the next but this count

    def step(i):
        batch_size = BATCH_SIZES[i % len(BATCH_SIZES)]
        model.fit(x, y, epochs=1, batch_size=batch_size, validation_split=0.25, verbose=0)
        model.evaluate(x, y, batch_size=batch_size, verbose=0)
        predictions = model.predict(x, batch_size=batch_size, verbose=0)  # 160 KB
        model.train_on_batch(x[:batch_size], y[:batch_size])
        model.predict_on_batch(x[:batch_size])
        results[:] = [len(predictions)]

    grown = growth(step)
    assert grown < BOUND, f"resident memory grew by {grown / 2**20:.1f} MiB"


def test_kernels_in_a_loop_do_not_grow_memory():
    rng = np.random.default_rng(0)
    a = rng.standard_normal((300, 300)).astype(np.float32)  # parallel-sized: the pool runs
    bias = rng.standard_normal(300).astype(np.float32)
    grad = np.empty((300, 300), np.float32)
    labels = rng.integers(0, 300, 300)

    def step(i):
        nops.matmul(a, a)  # each result 350 KB: 30 of them leaked would be 10 MiB
        nops.dense(a, a.T, bias, "gelu")
        nops.softmax(a)
        _core.loss(grad, a, labels, "sparse_categorical_crossentropy_logits")

    grown = growth(step, iterations=30, warm_up=3)
    assert grown < BOUND, f"resident memory grew by {grown / 2**20:.1f} MiB"
