"""Data-parallel training over MPI, as Horovod does: the same script in N processes.

    import nerve
    nerve.distributed.initialize()        # a no-op outside mpiexec, or without mpi4py
    model.fit(x, y, batch_size=256)       # 256 rows a step in all, split over the ranks

run as `mpiexec -n 4 python train.py` (pip install "nerve[distributed]" brings mpi4py and
Open MPI). Every rank holds the model; each step every rank takes its slice of the global
batch, and the gradients are summed by one allreduce of the flat gradient buffer, weighted by
rows, so the step equals one process's step on the whole batch (up to the rounding of the
sum). See nerve.distributed.strategy for what is shared and what is rank 0's alone.

mpi4py is imported by initialize() only, and only when a launcher started this process.
"""
from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any, Optional

from .._typing import forward_reference as _forward_reference

if TYPE_CHECKING:
    from .strategy import DataParallel
else:  # imported when first needed (it imports the trainer's pieces)
    DataParallel = _forward_reference("DataParallel", "nerve.distributed.strategy")

_LAUNCHER_VARIABLES = ("OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK", "MPI_LOCALNRANKS",
                       "MV2_COMM_WORLD_SIZE")
DATA_LAYOUTS = ("replicated", "sharded")
DEFAULT_TIMEOUT = 300.0

_communicator = None
_data = "replicated"


def _launched():
    """Whether an MPI launcher (mpiexec, srun) started this process."""
    return any(name in os.environ for name in _LAUNCHER_VARIABLES)


def initialize(data: str = "replicated", timeout: Optional[float] = None) -> None:
    """Join the other ranks when this process runs under mpiexec; else a no-op (size() 1).

    Call it once at the start of the script, on every rank; calling it again changes the
    data layout and the timeout. Afterwards fit and evaluate run data-parallel (see
    nerve.distributed.strategy), save and the progress bar are rank 0's. Under a launcher,
    an uncaught exception on one rank aborts every rank.

    Args:
        data: "replicated" (every rank is passed all the data, the default: each takes its
            slice of every global batch, in the order rank 0 shuffles) or "sharded" (each
            rank is passed only its own part of the data, for data too big for one machine:
            each rank shuffles its part and takes its share of each global batch from it).
        timeout: Seconds (finite, > 0) any collective may wait for the other ranks before
            this rank raises TimeoutError and every rank stops, default None (300, or
            $NERVE_DISTRIBUTED_TIMEOUT).

    Raises:
        ValueError: An unknown data layout, or a timeout (or $NERVE_DISTRIBUTED_TIMEOUT)
            that is not finite seconds > 0.
        RuntimeError: Under an MPI launcher without a working mpi4py.

    Example:
        >>> import nerve
        >>> nerve.distributed.initialize()  # one process: nothing to join
        >>> nerve.distributed.size(), nerve.distributed.rank()
        (1, 0)
    """
    global _communicator, _data
    if data not in DATA_LAYOUTS:
        raise ValueError(f"data: expected one of {DATA_LAYOUTS}, received {data!r}")
    timeout = _timeout(timeout)
    _data = data
    if _communicator is not None:
        _communicator.timeout = timeout
        return
    if not _launched():
        return
    try:
        from mpi4py import MPI
    except ImportError as error:
        raise RuntimeError(f"nerve.distributed.initialize: this process runs under an MPI "
                           f"launcher but mpi4py does not import ({error}); pip install "
                           f"\"nerve[distributed]\"") from None
    from .communicator import Communicator, install_abort_hook
    communicator = Communicator(MPI, timeout)
    if communicator.size > 1:
        install_abort_hook(communicator)
        _communicator = communicator


def _timeout(timeout):
    if timeout is None:
        timeout = os.environ.get("NERVE_DISTRIBUTED_TIMEOUT", DEFAULT_TIMEOUT)
        name = "$NERVE_DISTRIBUTED_TIMEOUT"
    else:
        name = "timeout"
    try:
        value = float(timeout)
    except (TypeError, ValueError):
        raise ValueError(f"{name}: expected seconds > 0, received {timeout!r}") from None
    if not value > 0 or value == float("inf"):
        raise ValueError(f"{name}: expected finite seconds > 0, received {timeout!r}")
    return value


def rank() -> int:
    """Return this process's rank, 0 .. size() - 1 (0 without MPI).

    Returns:
        The rank, an int.

    Example:
        >>> import nerve
        >>> nerve.distributed.rank()
        0
    """
    return 0 if _communicator is None else _communicator.rank


def size() -> int:
    """Return how many processes train together (1 without MPI or outside mpiexec).

    Returns:
        The number of ranks, an int >= 1.

    Example:
        >>> import nerve
        >>> nerve.distributed.size()
        1
    """
    return 1 if _communicator is None else _communicator.size


def local_rank() -> int:
    """Return this process's rank among those on its machine (to pick its cores).

    Returns:
        The local rank, an int (0 without MPI).

    Example:
        >>> import nerve
        >>> nerve.distributed.local_rank()
        0
    """
    return 0 if _communicator is None else _communicator.local_rank


def barrier() -> None:
    """Wait until every rank gets here (a no-op on one process).

    Raises:
        TimeoutError: Another rank did not arrive within initialize's timeout.

    Example:
        >>> import nerve
        >>> nerve.distributed.barrier()
    """
    if _communicator is not None:
        _communicator.barrier()


def is_root() -> bool:
    """Return whether this process writes files and prints progress: rank 0, or the only one.

    Returns:
        True on rank 0.

    Example:
        >>> import nerve
        >>> nerve.distributed.is_root()
        True
    """
    return rank() == 0


def data_parallel(model: Any) -> Optional[DataParallel]:
    """Return the DataParallel strategy fit and evaluate run `model` under, or None.

    Args:
        model: The model being trained or evaluated.

    Returns:
        A nerve.distributed.strategy.DataParallel when several ranks joined, else None.

    Example:
        >>> import nerve
        >>> nerve.distributed.data_parallel(nerve.Sequential()) is None
        True
    """
    if _communicator is None:
        return None
    from .strategy import DataParallel
    return DataParallel(model, _communicator, _data)
