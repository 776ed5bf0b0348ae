"""nerve.distributed: data-parallel fit over MPI, run as `mpiexec -n N` child processes on this
machine (tests/distributed/train.py) and compared with one process training on the same data.

Skipped, with the reason, where mpi4py or mpiexec is missing: pip install ".[distributed]"."""
import importlib.util
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, strategies as st

import nerve
from helpers import mpi_environment, oversubscribe
from nerve.distributed import strategy

SCRIPT = os.path.join(os.path.dirname(__file__), "distributed", "train.py")
MPIEXEC = shutil.which("mpiexec")
LAUNCH_SECONDS = 240  # a guard against a hang, far above a run's few seconds: not a timing test

needs_mpi = pytest.mark.skipif(
    MPIEXEC is None or importlib.util.find_spec("mpi4py") is None,
    reason="needs mpi4py and mpiexec: pip install \".[distributed]\"")


def _run(ranks, out, *options, check=True):
    """Train with `ranks` processes (0: one process without mpiexec); the runs' outputs."""
    command = [sys.executable, SCRIPT, str(out), *options]
    if ranks:
        command = [MPIEXEC, "-n", str(ranks), *oversubscribe(MPIEXEC)] + command
    done = subprocess.run(command, env=mpi_environment(), capture_output=True, text=True,
                          timeout=LAUNCH_SECONDS, cwd=os.path.dirname(str(out)))
    if check:
        assert done.returncode == 0, done.stdout + done.stderr
    return done


def _results(out, ranks):
    return [dict(np.load(f"{out}.{rank}.npz")) for rank in range(max(ranks, 1))]


def _assert_same_training(single, ranks, bound):
    reference = single[0]
    for result in ranks:  # every rank holds the same weights, bit for bit
        assert np.array_equal(result["weights"], ranks[0]["weights"])
        assert result["size"] == len(ranks)
    assert np.abs(ranks[0]["weights"] - reference["weights"]).max() <= bound
    assert list(ranks[0]["keys"]) == list(reference["keys"])
    np.testing.assert_allclose(ranks[0]["history"], reference["history"], rtol=0, atol=bound)
    np.testing.assert_allclose(ranks[0]["evaluated"], reference["evaluated"], rtol=0,
                               atol=bound)


@needs_mpi
def test_two_ranks_train_as_one_process_in_float64(tmp_path):
    _run(0, tmp_path / "one")
    _run(2, tmp_path / "two")
    # float64: only the order of a sum of two halves differs (observed 6e-17)
    _assert_same_training(_results(tmp_path / "one", 0), _results(tmp_path / "two", 2), 1e-12)
    # CSVLogger, save and ModelCheckpoint: rank 0 writes, rank 1 does not
    for written in ("log.{}.csv", "model.{}.nerve", "checkpoint.{}.nerve"):
        assert (tmp_path / ("two." + written.format(0))).exists()
        assert not (tmp_path / ("two." + written.format(1))).exists()


@needs_mpi
def test_moving_statistics_end_equal_on_every_rank_and_train_on_batch_is_refused(tmp_path):
    _run(2, tmp_path / "norm", "norm=1", "batch=17")
    ranks = _results(tmp_path / "norm", 2)
    assert np.array_equal(ranks[0]["weights"], ranks[1]["weights"])
    assert all(result["refused"] for result in ranks)
    _run(0, tmp_path / "one", "norm=1", "epochs=1")
    assert not _results(tmp_path / "one", 0)[0]["refused"]  # one process: it trains


@needs_mpi
def test_a_rank_that_stops_training_stops_every_rank(tmp_path):
    _run(2, tmp_path / "stop", "mode=stop", "epochs=3", "timeout=10")
    for result in _results(tmp_path / "stop", 2):
        assert result["history"].shape == (4, 1)  # 4 logs, one epoch


@needs_mpi
def test_three_ranks_with_uneven_batches_weights_and_regularizer(tmp_path):
    # 162 training rows in batches of 32: slices of 11/11/10 rows, and a last batch of 2 rows
    # that leaves rank 2 with none; float32 (observed 3e-8 on weights of size ~1)
    options = ("dtype=float32", "weights=1", "regularize=1")
    _run(0, tmp_path / "one", *options)
    _run(3, tmp_path / "three", *options)
    _assert_same_training(_results(tmp_path / "one", 0), _results(tmp_path / "three", 3), 1e-6)


@needs_mpi
def test_sharded_data_trains_as_one_process_on_the_global_batches(tmp_path):
    options = ("rows=210", "batch=30", "shuffle=0", "validation=0", "weights=1")
    _run(0, tmp_path / "one", *options, "interleave=3")
    _run(3, tmp_path / "sharded", *options, "data=sharded")
    _assert_same_training(_results(tmp_path / "one", 0), _results(tmp_path / "sharded", 3),
                          1e-12)


@needs_mpi
@pytest.mark.parametrize("fault, message", [
    ("raise", "RuntimeError: injected failure on rank 1"),
    ("hang", "TimeoutError: nerve.distributed: rank 0 of 2 waited 3 s in the allreduce"),
    ("die", ""),
    ("batch", "ValueError: batch_size: differs across ranks, which must run the same fit "
              "(nerve.distributed): rank 0 has 32, rank 1 has 64"),
    ("model", "ValueError: the model's weights: differs across ranks"),
])
def test_a_failing_rank_stops_every_rank_with_its_error(tmp_path, fault, message):
    done = _run(2, tmp_path / "fault", f"mode={fault}", "timeout=3", check=False)
    assert done.returncode != 0
    assert message in done.stderr
    if fault != "die":
        assert "; aborting every rank" in done.stderr
    assert not (tmp_path / "fault.1.npz").exists()


AGENT = """#!/bin/sh
# Open MPI's ssh to a "host" that is a network namespace of this machine.
host=$1; shift
case "$host" in {first}) ns={ns}A ;; {second}) ns={ns}B ;; *) exit 1 ;; esac
exec ip netns exec "$ns" sh -c "$*"
"""


def _ip(*arguments):
    return subprocess.run(["ip", *arguments], capture_output=True, text=True)


@pytest.fixture
def two_hosts(tmp_path):
    """Two network namespaces joined by a veth pair: (their addresses, an ssh agent for
    Open MPI that starts a command in the namespace of an address)."""
    ns, subnet = f"nrv{os.getpid()}", f"10.{os.getpid() % 250 + 1}.77"
    if shutil.which("ip") is None or _ip("netns", "add", ns + "A").returncode != 0:
        pytest.skip("needs `ip` and the right to make network namespaces (root)")
    try:
        _ip("netns", "add", ns + "B")
        _ip("link", "add", ns + "a", "type", "veth", "peer", "name", ns + "b")
        for side, address in (("A", 1), ("B", 2)):
            device = ns + side.lower()
            _ip("link", "set", device, "netns", ns + side)
            _ip("-n", ns + side, "addr", "add", f"{subnet}.{address}/24", "dev", device)
            _ip("-n", ns + side, "link", "set", device, "up")
            _ip("-n", ns + side, "link", "set", "lo", "up")
        hosts = (f"{subnet}.1", f"{subnet}.2")
        agent = tmp_path / "agent.sh"
        agent.write_text(AGENT.format(first=hosts[0], second=hosts[1], ns=ns))
        agent.chmod(0o755)
        yield hosts, ns, str(agent)
    finally:
        _ip("netns", "del", ns + "A")
        _ip("netns", "del", ns + "B")


@needs_mpi
def test_the_same_script_trains_across_two_hosts_over_tcp(tmp_path, two_hosts):
    if not oversubscribe(MPIEXEC):
        pytest.skip("the namespaces' launch uses Open MPI's options")
    (first, second), ns, agent = two_hosts
    subnet = first.rsplit(".", 1)[0] + ".0/24"
    command = ["ip", "netns", "exec", ns + "A", MPIEXEC, "-n", "2", "--host",
               f"{first}:1,{second}:1", "--map-by", "node:oversubscribe", "--bind-to", "none",
               "--prtemca", "plm_ssh_agent", agent, "--prtemca", "oob_tcp_if_include", subnet,
               "--mca", "btl", "tcp,self", "--mca", "btl_tcp_if_include", subnet]
    for name in ("PATH", "PYTHONPATH", "OMP_NUM_THREADS", "OMPI_ALLOW_RUN_AS_ROOT",
                 "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM"):
        command += ["-x", name]
    command += [sys.executable, SCRIPT, str(tmp_path / "hosts")]
    done = subprocess.run(command, env=mpi_environment(), capture_output=True, text=True,
                          timeout=LAUNCH_SECONDS)
    assert done.returncode == 0, done.stdout + done.stderr
    _run(0, tmp_path / "one")
    _assert_same_training(_results(tmp_path / "one", 0), _results(tmp_path / "hosts", 2),
                          1e-12)


def test_without_a_launcher_initialize_is_a_no_op_and_nothing_imports_mpi4py():
    code = ("import sys, nerve; nerve.distributed.initialize(); "
            "print(nerve.distributed.size(), nerve.distributed.rank(), "
            "nerve.distributed.local_rank(), 'mpi4py' in sys.modules); "
            "nerve.distributed.barrier()")
    environment = {k: v for k, v in mpi_environment().items()
                   if k not in nerve.distributed._LAUNCHER_VARIABLES}
    done = subprocess.run([sys.executable, "-c", code], env=environment, capture_output=True,
                          text=True, timeout=LAUNCH_SECONDS)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["1", "0", "0", "False"]


@pytest.mark.parametrize("arguments, message", [
    ({"data": "split"}, "data: expected one of ('replicated', 'sharded'), received 'split'"),
    ({"timeout": 0}, "timeout: expected finite seconds > 0, received 0"),
    ({"timeout": "soon"}, "timeout: expected seconds > 0, received 'soon'"),
])
def test_initialize_checks_its_arguments(arguments, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        nerve.distributed.initialize(**arguments)


@given(rows=st.integers(0, 200), ranks=st.integers(1, 9))
def test_the_slices_of_a_batch_are_those_of_array_split(rows, ranks):
    slices = [strategy._share(rows, ranks, rank) for rank in range(ranks)]
    expected = np.array_split(np.arange(rows), ranks)
    assert [list(range(low, high)) for low, high in slices] == [list(e) for e in expected]
