"""The MPI calls nerve.distributed makes, each bounded in time.

MPI collectives have no timeout: a rank that never joins one leaves the others blocked for
ever. So every collective here is the non-blocking form, polled until it completes or a
deadline passes; past it the rank raises TimeoutError naming the collective, and an uncaught
exception on any rank aborts every rank (install_abort_hook), which mpiexec then reports.
A rank that dies outright is noticed by mpiexec itself, which stops the others.
"""
import os
import pickle
import sys
import time

import numpy as np

# Poll, yielding the core between polls (to a rank or a process sharing it) for this long: a
# step's collective takes microseconds once every rank is in; then nap between polls (a rank
# saving a checkpoint, or one stopped).
_YIELDING_SECONDS = 0.05
_NAP_SECONDS = 1e-3
_LOCAL_RANK_VARIABLES = ("OMPI_COMM_WORLD_LOCAL_RANK", "MPI_LOCALRANKID", "PMI_LOCAL_RANK",
                         "MV2_COMM_WORLD_LOCAL_RANK")
_yield = getattr(os, "sched_yield", lambda: time.sleep(0))


class Communicator:
    """COMM_WORLD with deadlines: every call returns within `timeout` seconds or raises."""

    def __init__(self, mpi, timeout):
        self.mpi, self.comm, self.timeout = mpi, mpi.COMM_WORLD, float(timeout)
        self.rank, self.size = self.comm.Get_rank(), self.comm.Get_size()
        self.local_rank = self._local_rank()

    def _local_rank(self):
        """This rank's place among the ranks on its machine: as the launcher numbered them,
        else from the ranks that share memory with it."""
        for name in _LOCAL_RANK_VARIABLES:
            if os.environ.get(name, "").isdigit():
                return int(os.environ[name])
        shared = self.comm.Split_type(self.mpi.COMM_TYPE_SHARED, key=self.rank)
        local_rank = shared.Get_rank()
        shared.Free()
        return local_rank

    def _wait(self, request, what):
        if request.Test():
            return
        start = time.monotonic()
        deadline = start + self.timeout
        while not request.Test():
            now = time.monotonic()
            if now > deadline:
                raise TimeoutError(
                    f"nerve.distributed: rank {self.rank} of {self.size} waited {self.timeout:g} "
                    f"s in {what} for the other ranks; one of them stopped, hangs, or runs "
                    f"different code (initialize(timeout=...) sets this limit)")
            if now - start > _YIELDING_SECONDS:
                time.sleep(_NAP_SECONDS)
            else:
                _yield()

    def sum(self, array, what="an allreduce"):
        """Replace array (contiguous) by its sum over the ranks, in place."""
        self._wait(self.comm.Iallreduce(self.mpi.IN_PLACE, array, op=self.mpi.SUM), what)

    def maximum(self, value, what="an allreduce"):
        array = np.array([value], dtype=np.float64)
        self._wait(self.comm.Iallreduce(self.mpi.IN_PLACE, array, op=self.mpi.MAX), what)
        return float(array[0])

    def broadcast(self, array, what="a broadcast"):
        """Overwrite array (contiguous) with rank 0's, in place."""
        self._wait(self.comm.Ibcast(array, root=0), what)

    def gather_all(self, value, what="an allgather"):
        """[value of rank 0, value of rank 1, ...] for a picklable value, on every rank."""
        payload = np.frombuffer(pickle.dumps(value), dtype=np.uint8)
        sizes = np.zeros(self.size, dtype=np.int64)
        sizes[self.rank] = payload.size
        self.sum(sizes, what)
        gathered = np.empty(int(sizes.sum()), dtype=np.uint8)
        counts = [int(s) for s in sizes]
        self._wait(self.comm.Iallgatherv(payload, [gathered, counts]), what)
        offsets = np.concatenate([[0], np.cumsum(sizes)])
        return [pickle.loads(gathered[offsets[r]:offsets[r + 1]].tobytes())
                for r in range(self.size)]

    def barrier(self):
        self._wait(self.comm.Ibarrier(), "barrier()")


def install_abort_hook(communicator):
    """An uncaught exception on this rank prints its traceback, then aborts every rank: the
    others would otherwise wait in their next collective until its deadline."""
    previous = sys.excepthook

    def abort_every_rank(kind, value, traceback):
        previous(kind, value, traceback)
        sys.stderr.write(f"nerve.distributed: rank {communicator.rank} of {communicator.size} "
                         f"stopped on {kind.__name__}; aborting every rank\n")
        sys.stderr.flush()
        communicator.comm.Abort(1)

    sys.excepthook = abort_every_rank
