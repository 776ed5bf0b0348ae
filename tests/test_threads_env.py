"""nerve's threads among other libraries: threadpoolctl's limits, the environment importing
nerve leaves, a process that may not start threads, and small OpenMP worker stacks. Each
scenario runs in a fresh interpreter: threads, the environment and libgomp's settings are
per process, and the failures these tests guard against end the process."""
import os
import subprocess
import sys
import textwrap

import pytest

from nerve import _core

NEEDS_TWO_CPUS = pytest.mark.skipif(
    not _core.build_info()["openmp"] or _core.build_info()["available_cpus"] < 2,
    reason="nerve starts no thread with one CPU or without OpenMP")

# Shared by the child programs: threads in this process, OpenMP counts threadpoolctl reports.
HELPERS = """
import os, threading, time, warnings
import numpy as np
import nerve
from nerve import layers, ops

def tasks(settled_at=None):
    # Threads in this process; with settled_at, first waits (up to 2 s) for threads that were
    # joined but have not left /proc yet, until at most that many remain.
    for _ in range(200):
        count = len(os.listdir("/proc/self/task"))
        if settled_at is None or count <= settled_at:
            return count
        time.sleep(0.01)
    return count

def openmp_counts():
    import threadpoolctl
    return {lib["num_threads"] for lib in threadpoolctl.threadpool_info()
            if lib["user_api"] == "openmp"}

def dense_fit(rows=1024, batch=512):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((rows, 64)).astype(np.float32)
    y = rng.integers(0, 10, rows)
    model = nerve.Sequential([nerve.Input((64,)), layers.Dense(256, activation="relu"),
                              layers.BatchNormalization(), layers.Dropout(0.1),
                              layers.LayerNormalization(), layers.Dense(10, activation="softmax")])
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(x, y, batch_size=batch, epochs=2, verbose=0)
    return model.predict(x, verbose=0)

def conv_fit(rows=256, batch=128):
    rng = np.random.default_rng(1)
    x = rng.standard_normal((rows, 16, 16, 3)).astype(np.float32)
    y = rng.integers(0, 10, rows)
    model = nerve.Sequential([nerve.Input((16, 16, 3)),
                              layers.Conv2D(16, 3, padding="same", activation="relu"),
                              layers.BatchNormalization(), layers.MaxPooling2D(),
                              layers.Conv2D(32, 3, activation="relu"),
                              layers.AveragePooling2D(), layers.Flatten(),
                              layers.Dense(10, activation="softmax")])
    model.compile("sgd", "sparse_categorical_crossentropy")
    model.fit(x, y, batch_size=batch, epochs=2, verbose=0)
    return model.predict(x, verbose=0)

SQUARE = np.ones((512, 512), np.float32)  # a product well above the parallel threshold
"""


def run_child(body, env=None, check=True, preamble=HELPERS, **kwargs):
    """Runs preamble + body in a fresh interpreter; returns the CompletedProcess."""
    child_env = {k: v for k, v in os.environ.items()
                 if k not in ("OMP_NUM_THREADS", "OMP_WAIT_POLICY", "GOMP_SPINCOUNT")}
    child_env.update(env or {})
    result = subprocess.run([sys.executable, "-c", preamble + textwrap.dedent(body)],
                            capture_output=True, text=True, env=child_env, timeout=300, **kwargs)
    if check:
        assert result.returncode == 0, result.stdout + result.stderr
    return result


# --- threadpoolctl ------------------------------------------------------------------------

@NEEDS_TWO_CPUS
def test_threadpool_limits_lowers_nerve_and_threadpoolctl_sees_nerves_count():
    run_child("""
        import threadpoolctl
        nerve.set_num_threads(1)
        assert openmp_counts() == {1}, openmp_counts()
        nerve.set_num_threads(2)
        assert openmp_counts() == {2}, openmp_counts()
        with threadpoolctl.threadpool_limits(1):
            before = tasks()  # counted here: setting the limit may start OpenBLAS's threads
            assert nerve.get_num_threads() == 1
            ops.matmul(SQUARE, SQUARE)
            assert tasks(settled_at=before) == before, "a limited product started a worker"
        assert nerve.get_num_threads() == 2 and openmp_counts() == {2}
        ops.matmul(SQUARE, SQUARE)
        assert tasks(settled_at=before + 1) == before + 1, (before, tasks())
    """)


@NEEDS_TWO_CPUS
def test_another_python_thread_gets_nerves_count_and_its_own_limits():
    # OMP_NUM_THREADS=1 makes libgomp's default for new threads 1; nerve was set to 2, and
    # OpenMP's setting is per thread: a worker thread must still get 2, and 1 under its limit.
    run_child("""
        import threadpoolctl
        nerve.set_num_threads(2)
        seen = {}
        def worker():
            seen["count"] = nerve.get_num_threads()
            seen["reported"] = openmp_counts()
            with threadpoolctl.threadpool_limits(1):
                seen["limited"] = nerve.get_num_threads()
            seen["after"] = nerve.get_num_threads()
            seen["predictions"] = dense_fit()
        thread = threading.Thread(target=worker)
        thread.start()
        thread.join()
        assert (seen["count"], seen["reported"], seen["limited"], seen["after"]) == \\
            (2, {2}, 1, 2), seen
        assert np.isfinite(seen["predictions"]).all()
    """, env={"OMP_NUM_THREADS": "1"})


# --- the environment ------------------------------------------------------------------------

def test_import_leaves_the_environment_as_it_was():
    result = run_child("""
        import ctypes, os, subprocess, sys
        before = dict(os.environ)
        import nerve
        assert dict(os.environ) == before
        child = subprocess.run([sys.executable, "-c",
                                "import os; print(os.environ.get('GOMP_SPINCOUNT'))"],
                               capture_output=True, text=True, check=True)
        print("child:", child.stdout.strip())
        libc = ctypes.CDLL(None)
        libc.getenv.restype = ctypes.c_char_p
        print("getenv:", libc.getenv(b"GOMP_SPINCOUNT"))
    """, preamble="")
    assert "child: None" in result.stdout and "getenv: None" in result.stdout, result.stdout


def libgomp_settings(env):
    """libgomp's own report of its settings (omp_display_env) in a child that imported nerve."""
    return run_child("""
        import ctypes
        paths = {line.split()[-1] for line in open("/proc/self/maps") if "libgomp" in line}
        assert len(paths) == 1, paths
        ctypes.CDLL(paths.pop()).omp_display_env(1)
    """, env=env).stderr


@pytest.mark.skipif(not _core.build_info()["openmp"], reason="built without OpenMP")
def test_libgomp_still_gets_the_short_spin_and_a_users_setting_wins():
    assert "GOMP_SPINCOUNT = '1000'" in libgomp_settings({})
    assert "GOMP_SPINCOUNT = '77'" in libgomp_settings({"GOMP_SPINCOUNT": "77"})
    assert "OMP_WAIT_POLICY = 'ACTIVE'" in libgomp_settings({"OMP_WAIT_POLICY": "active"})
    result = run_child("print(os.environ['GOMP_SPINCOUNT'])", env={"GOMP_SPINCOUNT": "77"})
    assert result.stdout.strip() == "77"


# --- a process that may not start threads ---------------------------------------------------

@NEEDS_TWO_CPUS
@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0,
                    reason="needs root to switch to an unprivileged uid (RLIMIT_NPROC does not "
                           "apply to root)")
def test_a_process_that_cannot_start_threads_runs_on_one_thread_with_a_warning():
    # Everything is imported, and serial fits have run, while still root (an unprivileged uid
    # may not read the test's files); then the uid changes and the process may start no thread.
    result = run_child("""
        import resource
        nerve.set_num_threads(1)
        dense_fit(rows=64, batch=32)
        conv_fit(rows=16, batch=8)
        os.setgid(65534)
        os.setuid(65534)
        resource.setrlimit(resource.RLIMIT_NPROC, (1, 1))
        warnings.simplefilter("always")
        nerve.set_num_threads(2)
        product = ops.matmul(SQUARE, SQUARE)
        assert (product == 512).all() and nerve.get_num_threads() == 1
        assert np.isfinite(dense_fit()).all()
        nerve.set_num_threads(2)  # asked again: probed again, warned again
        assert np.isfinite(conv_fit()).all() and nerve.get_num_threads() == 1
        print("done")
    """, cwd="/")
    assert result.stdout.strip() == "done"
    assert result.stderr.count("RuntimeWarning: could not start 2 threads") == 2, result.stderr


# --- small OpenMP stacks ----------------------------------------------------------------------

@NEEDS_TWO_CPUS
def test_training_on_two_threads_fits_in_a_small_openmp_stack():
    # libgomp's smallest OMP_STACKSIZE: no kernel may keep a large array on a worker's stack.
    result = run_child("""
        nerve.set_num_threads(2)
        before = tasks()
        assert np.isfinite(dense_fit()).all() and np.isfinite(conv_fit()).all()
        print("done", tasks() > before)  # OpenMP workers ran the fits
    """, env={"OMP_STACKSIZE": "16K"}, check=False)
    assert result.returncode == 0 and result.stdout.strip() == "done True", \
        (result.returncode, result.stdout, result.stderr[-2000:])
