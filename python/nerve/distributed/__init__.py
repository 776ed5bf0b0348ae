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
import os

_LAUNCHER_VARIABLES = ("OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK", "MPI_LOCALNRANKS",
                       "MV2_COMM_WORLD_SIZE")
DATA_LAYOUTS = ("replicated", "sharded")
DEFAULT_TIMEOUT = 300.0

_communicator = None
_data = "replicated"


def _launched():
    """Whether an MPI launcher (mpiexec, srun) started this process."""
    return any(name in os.environ for name in _LAUNCHER_VARIABLES)


def initialize(data="replicated", timeout=None):
    """Join the other ranks when this process runs under mpiexec; else a no-op (size() 1).

    data: "replicated" (every rank is passed all the data, the default: each takes its slice
    of every global batch, in the order rank 0 shuffles) or "sharded" (each rank is passed
    only its own part of the data, for data too big for one machine: each rank shuffles its
    part and takes its share of each global batch from it; see nerve.distributed.strategy).
    timeout: seconds any collective may wait for the other ranks before this rank raises
    TimeoutError and every rank stops (default 300, or $NERVE_DISTRIBUTED_TIMEOUT)."""
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


def rank():
    """This process's rank, 0 .. size() - 1 (0 without MPI)."""
    return 0 if _communicator is None else _communicator.rank


def size():
    """How many processes train together (1 without MPI or outside mpiexec)."""
    return 1 if _communicator is None else _communicator.size


def local_rank():
    """This process's rank among those on its machine (to pick its cores or its device)."""
    return 0 if _communicator is None else _communicator.local_rank


def barrier():
    """Wait until every rank gets here (within the timeout)."""
    if _communicator is not None:
        _communicator.barrier()


def is_root():
    """Whether this process writes files and prints progress: rank 0, or the only one."""
    return rank() == 0


def data_parallel(model):
    """The DataParallel strategy fit and evaluate run under, or None on one process."""
    if _communicator is None:
        return None
    from .strategy import DataParallel
    return DataParallel(model, _communicator, _data)
