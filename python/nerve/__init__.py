"""nerve: fast Keras-style neural networks on the CPU.

    from nerve import Sequential, Dense      # or nerve.models / nerve.layers, as in Keras
    import nerve.ops                         # NumPy-like fast kernels without the model API
"""
import operator as _operator
import os as _os
from typing import Any as _Any, Dict as _Dict

# libgomp reads its wait policy once, from the environment, when _core loads it. Its default
# spins ~300k times (milliseconds) before a waiting thread sleeps: when another process holds a
# core, the spinning threads starve the one doing the work and small parallel regions get
# 10-20x slower. ~1000 spins (tens of microseconds) still catches back-to-back regions, then
# sleeps. The variable is set for that load only, so os.environ and child processes are left
# as they were; a user's OMP_WAIT_POLICY or GOMP_SPINCOUNT wins.
_spin_for_load = "OMP_WAIT_POLICY" not in _os.environ and "GOMP_SPINCOUNT" not in _os.environ
if _spin_for_load:
    _os.environ["GOMP_SPINCOUNT"] = "1000"
try:
    from . import _core
finally:
    if _spin_for_load:
        del _os.environ["GOMP_SPINCOUNT"]
from .backend import backend_name, get_backend, set_backend, use_backend

__version__: str = _core.__version__


def set_num_threads(n: int) -> None:
    """Use up to `n` threads in nerve's kernels.

    The count is capped at the CPUs this process may use. It also sets OpenMP's count on the
    calling thread, which threadpoolctl reports.

    Args:
        n: Int >= 1, the number of threads.

    Raises:
        TypeError: When `n` is not an int.
        ValueError: When `n` is less than 1.

    Example:
        >>> import nerve
        >>> before = nerve.get_num_threads()
        >>> nerve.set_num_threads(1)
        >>> nerve.get_num_threads()
        1
        >>> nerve.set_num_threads(before)
    """
    try:
        n = _operator.index(n)
    except TypeError:
        raise TypeError(f"n: expected an int, received {type(n).__name__}") from None
    _core.set_num_threads(n)


def get_num_threads() -> int:
    """The number of threads nerve's kernels use on the calling thread.

    This is the count set by set_num_threads (by default OMP_NUM_THREADS or the CPU count),
    lowered inside threadpoolctl.threadpool_limits; it is 1 where the system does not let the
    process start threads (a RuntimeWarning says so).

    Returns:
        An int >= 1.

    Example:
        >>> import nerve
        >>> nerve.get_num_threads() >= 1
        True
    """
    return _core.get_num_threads()


def build_info() -> _Dict[str, _Any]:
    """How this copy of nerve was built, and what it runs on.

    Returns:
        A new dict: the version, the compiler, OpenMP, the instruction sets compiled, supported
        and selected, the thread count, and "backend" (the active backend's name).

    Example:
        >>> import nerve
        >>> info = nerve.build_info()
        >>> info["backend"] in ("cpp", "numpy")
        True
    """
    info = dict(_core.build_info())
    info["backend"] = backend_name()
    return info


# --- Keras-style model API (added by nerve.models & co.) ---
from . import (activations, callbacks, constraints, datasets, initializers, layers, losses,
               metrics, models, optimizers, regularizers, utils)
from . import distributed, graph, ops, registration, saving, variables  # noqa: E402
from .layers import Activation, Dense, Dropout, Flatten, Input, Layer
from .models import Functional, Model, Sequential, load_model
from .variables import Variable


def __getattr__(name):
    """nerve.wrappers on first use, as keras.wrappers: it imports scikit-learn, which
    `import nerve` must not need."""
    if name == "wrappers":
        import importlib
        return importlib.import_module(".wrappers", __name__)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
