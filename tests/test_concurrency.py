"""Threads and fork: kernels, predict and fit called from several Python threads at once give
bitwise the results of serial runs (the kernels release the GIL, so the calls really overlap),
and a process forked after nerve has started its OpenMP threads can still use nerve."""
import copy
import multiprocessing
import threading

import numpy as np
import pytest

import nerve
import nerve.ops as nops
from nerve import _core

WORKERS = 4
REPEATS = 3
SIZE = 300  # 300x300 operands: large enough for the kernels to go parallel and drop the GIL
JOIN_TIMEOUT = 120  # seconds; a worker still running by then is deadlocked
FORK_TIMEOUT = 30  # seconds for the forked child: it needs well under one when healthy


def run_in_threads(functions):
    """Call each function in its own thread, all released at once by a barrier; their results
    in order. A worker's exception is re-raised here, and a worker that hangs fails the test."""
    barrier = threading.Barrier(len(functions))
    results, errors = [None] * len(functions), []

    def run(index, function):
        try:
            barrier.wait()
            results[index] = function()
        except BaseException as error:  # handed to the main thread, re-raised there
            errors.append(error)

    threads = [threading.Thread(target=run, args=item, daemon=True)
               for item in enumerate(functions)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(JOIN_TIMEOUT)
    assert not any(thread.is_alive() for thread in threads), "a worker thread hangs"
    if errors:
        raise errors[0]
    return results


def repeated(function, repeats=REPEATS):
    """A worker that calls `function` several times and returns every result: more overlap."""
    return lambda: [function() for _ in range(repeats)]


def assert_bitwise_equal(actual, expected, what):
    assert len(actual) == len(expected), what
    for index, (got, want) in enumerate(zip(actual, expected)):
        assert got.dtype == want.dtype and np.array_equal(got, want), f"{what}: result {index}"


# --- kernels ---------------------------------------------------------------------------------

def kernel_calls(seed, dtype):
    """A function running matmul, dense and activations on this worker's own 300x300 data."""
    rng = np.random.default_rng(seed)
    a, b = (rng.standard_normal((SIZE, SIZE)).astype(dtype) for _ in range(2))
    bias = rng.standard_normal(SIZE).astype(dtype)
    return lambda: [nops.matmul(a, b), nops.dense(a, b, bias, "relu"), nops.softmax(a),
                    nops.sigmoid(a), nops.tanh(a), nops.gelu(a)]


def test_kernels_in_threads_match_serial_runs(dtype, threads):
    calls = [kernel_calls(seed, dtype) for seed in range(WORKERS)]
    expected = [call() for call in calls]
    for seed, runs in enumerate(run_in_threads([repeated(call) for call in calls])):
        for run in runs:
            assert_bitwise_equal(run, expected[seed], f"worker {seed}")


# --- models ----------------------------------------------------------------------------------

def classifier(seed=0):
    """A compiled model; the same seed gives bitwise the same initial weights."""
    nerve.utils.set_random_seed(seed)
    model = nerve.models.Sequential([nerve.layers.Dense(128, input_dim=64, activation="relu"),
                                     nerve.layers.Dense(10, activation="softmax")])
    model.compile(loss="sparse_categorical_crossentropy", optimizer="adam",
                  metrics=["accuracy"])
    return model


def dataset(seed, rows=1024):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((rows, 64)).astype(np.float32)
    return x, rng.integers(0, 10, rows)


def training_run(seed):
    """fit on a fresh model of its own: (final weights, loss history). shuffle=False because
    shuffling draws from nerve's global generator, which concurrent fits share."""
    model = classifier()
    x, y = dataset(seed)

    def run():
        history = model.fit(x, y, epochs=2, batch_size=64, shuffle=False, verbose=0)
        return model.get_weights(), history.history["loss"]
    return run


def test_fit_on_separate_models_in_threads_matches_serial_runs():
    expected = [training_run(seed)() for seed in range(WORKERS)]
    results = run_in_threads([training_run(seed) for seed in range(WORKERS)])
    for seed, ((weights, losses), (want_weights, want_losses)) in enumerate(
            zip(results, expected)):
        assert losses == want_losses, f"worker {seed}"
        assert_bitwise_equal(weights, want_weights, f"worker {seed}")


def prediction_run(seed):
    """predict on a model of its own (the shared model is the next test's case)."""
    model = classifier()
    x = dataset(seed, rows=4096)[0]
    return lambda: [model.predict(x, batch_size=512, verbose=0)]


def test_kernels_fit_and_predict_together_match_serial_runs():
    """A mixed load, every kind of call overlapping the others."""
    workers = [kernel_calls(0, np.float32), kernel_calls(1, np.float64), prediction_run(0),
               prediction_run(1)]
    expected = [worker() for worker in workers]
    trainings = [training_run(seed) for seed in range(2)]
    expected += [training_run(seed)() for seed in range(2)]  # on fresh models, as trainings
    results = run_in_threads(workers + trainings)
    for index, (got, want) in enumerate(zip(results[:4], expected[:4])):
        assert_bitwise_equal(got, want, f"worker {index}")
    for index, ((weights, losses), (want_weights, want_losses)) in enumerate(
            zip(results[4:], expected[4:])):
        assert losses == want_losses, f"training {index}"
        assert_bitwise_equal(weights, want_weights, f"training {index}")


def test_predict_on_one_shared_model_in_threads_matches_serial_runs():
    model = classifier()
    inputs = [dataset(seed, rows=4096)[0] for seed in range(WORKERS)]
    expected = [model.predict(x, batch_size=512, verbose=0) for x in inputs]
    runs = run_in_threads([repeated(lambda x=x: model.predict(x, batch_size=512, verbose=0))
                           for x in inputs])
    for seed, results in enumerate(runs):
        assert_bitwise_equal(results, [expected[seed]] * REPEATS, f"worker {seed}")


# --- fork ------------------------------------------------------------------------------------

@pytest.fixture
def two_threads():
    _core.set_num_threads(2)
    if _core.get_num_threads() < 2:
        _core.reset_num_threads()
        pytest.skip("one CPU: nerve starts no thread pool, so fork has nothing to inherit")
    yield
    _core.reset_num_threads()


def check_in_child(a, model, x, product, predictions):
    """Runs in the forked child: the same calls must give the parent's results."""
    assert np.array_equal(nops.matmul(a, a), product)
    assert np.array_equal(model.predict(x, verbose=0), predictions)


def test_a_forked_child_can_use_nerve(two_threads):
    # The parent's parallel matmul starts the OpenMP thread pool, which fork does not copy.
    a = np.random.default_rng(0).standard_normal((SIZE, SIZE)).astype(np.float32)
    product = nops.matmul(a, a)
    model = classifier()
    x = dataset(0, rows=2048)[0]
    predictions = model.predict(x, verbose=0)
    child = multiprocessing.get_context("fork").Process(
        target=check_in_child, args=(a, model, x, product, predictions), daemon=True)
    child.start()
    try:
        child.join(FORK_TIMEOUT)
        assert not child.is_alive(), f"the forked child hangs (still running after " \
                                     f"{FORK_TIMEOUT} s)"
        assert child.exitcode == 0, f"the forked child failed (exit code {child.exitcode})"
    finally:
        if child.is_alive():
            child.kill()
            child.join()


def _predict_in_child(model):
    model.predict(np.ones((2, 3)), verbose=0)


@pytest.mark.parametrize("copy_of_it", [False, True], ids=["model", "deepcopy"])
def test_a_child_forked_while_a_plan_is_being_built_can_predict(copy_of_it):
    model = nerve.Sequential([nerve.Dense(4, input_dim=3), nerve.Dense(1)])
    if copy_of_it:  # a copy's fresh lock must be reset in the child too
        model = copy.deepcopy(model)
    model._plans_lock.acquire()  # as when another thread is compiling a plan at fork time
    try:
        child = multiprocessing.get_context("fork").Process(target=_predict_in_child,
                                                            args=(model,))
        child.start()
        child.join(FORK_TIMEOUT)
        if child.is_alive():
            child.kill()
        assert not child.is_alive() and child.exitcode == 0, \
            "the child inherited the plan lock held and hung (or failed)"
    finally:
        model._plans_lock.release()
