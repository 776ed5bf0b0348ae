"""The MPI calls nerve.distributed makes, each bounded in time.

MPI collectives have no timeout: a rank that never joins one leaves the others blocked for
ever. So every collective here is the non-blocking form, polled until it completes or a
deadline passes; past it the rank raises TimeoutError naming the collective, and an uncaught
exception on any rank aborts every rank (install_abort_hook), which mpiexec then reports.
A rank that dies outright is noticed by mpiexec itself, which stops the others.
"""
from __future__ import annotations

import os
import pickle
import sys
import time
from typing import Any, List

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
    """COMM_WORLD with deadlines: every call returns within `timeout` seconds or raises.

    Made by nerve.distributed.initialize() under an MPI launcher; the examples here run
    under mpiexec -n 4 (they are skipped as doctests).

    Args:
        mpi: The mpi4py.MPI module.
        timeout: Seconds each collective may wait for the other ranks.

    Raises:
        ValueError: A timeout that float() refuses (TypeError for a non-number type).

    Example:
        >>> from mpi4py import MPI  # doctest: +SKIP
        >>> from nerve.distributed.communicator import Communicator
        >>> communicator = Communicator(MPI, timeout=60.0)  # doctest: +SKIP
        >>> communicator.size  # doctest: +SKIP
        4
    """

    def __init__(self, mpi: Any, timeout: float) -> None:
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

    def sum(self, array: Any, what: str = "an allreduce") -> None:
        """Replace array (contiguous) by its sum over the ranks, in place.

        Args:
            array: A contiguous, writable NumPy array of the same shape on every rank.
            what: The collective's description in a timeout's message, default
                "an allreduce".

        Raises:
            TimeoutError: The other ranks did not join within the timeout.

        Example:
            >>> # Under mpiexec -n 4, with communicator as in the class's example:
            >>> import numpy as np
            >>> ones = np.ones(2)
            >>> communicator.sum(ones), ones  # doctest: +SKIP
            (None, array([4., 4.]))
        """
        self._wait(self.comm.Iallreduce(self.mpi.IN_PLACE, array, op=self.mpi.SUM), what)

    def maximum(self, value: float, what: str = "an allreduce") -> float:
        """Return the largest of the ranks' values.

        Args:
            value: This rank's number.
            what: The collective's description in a timeout's message, default
                "an allreduce".

        Returns:
            The maximum over the ranks, a float.

        Raises:
            TimeoutError: The other ranks did not join within the timeout.

        Example:
            >>> # Under mpiexec -n 4, with communicator as in the class's example:
            >>> communicator.maximum(float(communicator.rank))  # doctest: +SKIP
            3.0
        """
        array = np.array([value], dtype=np.float64)
        self._wait(self.comm.Iallreduce(self.mpi.IN_PLACE, array, op=self.mpi.MAX), what)
        return float(array[0])

    def broadcast(self, array: Any, what: str = "a broadcast") -> None:
        """Overwrite array (contiguous) with rank 0's, in place: how every rank starts fit
        from rank 0's weights, optimizer state and shuffle.

        Args:
            array: Rank 0's values there, a contiguous writable array elsewhere, of one shape
                and dtype on every rank.
            what: Named in a timeout's message, default "a broadcast".

        Raises:
            TimeoutError: Rank 0 or another rank did not join within the timeout.

        Example:
            >>> # Under mpiexec -n 4, with communicator as in the class's example:
            >>> from nerve.distributed import rank
            >>> import numpy as np
            >>> mine = np.full(1, float(rank()))
            >>> communicator.broadcast(mine) or mine  # doctest: +SKIP
            array([0.])
        """
        self._wait(self.comm.Ibcast(array, root=0), what)

    def gather_all(self, value: Any, what: str = "an allgather") -> List[Any]:
        """Return every rank's value, on every rank.

        Args:
            value: A picklable value (the ranks' values travel pickled between nerve's own
                processes only).
            what: The collective's description in a timeout's message, default
                "an allgather".

        Returns:
            [value of rank 0, value of rank 1, ...].

        Raises:
            TimeoutError: The other ranks did not join within the timeout.

        Example:
            >>> # Under mpiexec -n 4, with communicator as in the class's example:
            >>> communicator.gather_all(communicator.rank)  # doctest: +SKIP
            [0, 1, 2, 3]
        """
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

    def barrier(self) -> None:
        """Wait until every rank gets here.

        Raises:
            TimeoutError: The other ranks did not arrive within the timeout.

        Example:
            >>> # Under mpiexec -n 4, with communicator as in the class's example:
            >>> communicator.barrier()  # doctest: +SKIP
        """
        self._wait(self.comm.Ibarrier(), "barrier()")


def install_abort_hook(communicator: Communicator) -> None:
    """Make an uncaught exception on this rank print its traceback, then abort every rank:
    the others would otherwise wait in their next collective until its deadline.

    Args:
        communicator: The Communicator whose COMM_WORLD to abort.

    Example:
        >>> from mpi4py import MPI  # doctest: +SKIP
        >>> from nerve.distributed import communicator
        >>> communicator.install_abort_hook(
        ...     communicator.Communicator(MPI, 60.0))  # doctest: +SKIP
    """
    previous = sys.excepthook

    def abort_every_rank(kind, value, traceback):
        previous(kind, value, traceback)
        sys.stderr.write(f"nerve.distributed: rank {communicator.rank} of {communicator.size} "
                         f"stopped on {kind.__name__}; aborting every rank\n")
        sys.stderr.flush()
        communicator.comm.Abort(1)

    sys.excepthook = abort_every_rank
