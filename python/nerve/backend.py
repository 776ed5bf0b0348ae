"""Which implementation of the kernel interface runs the models.

"cpp" is nerve._core (the default); "numpy" is nerve.reference, the pure-NumPy oracle. Both
expose the same functions with the same arguments. Choose with set_backend(), the
NERVE_BACKEND environment variable, or temporarily with `with use_backend("numpy"):`.
"""
import contextlib
import importlib
import os
import threading
from types import ModuleType
from typing import Iterator

BACKENDS = {"cpp": "nerve._core", "numpy": "nerve.reference"}
_state = threading.local()


def _check(name: str) -> str:
    if name not in BACKENDS:
        raise ValueError(f"backend: expected one of {sorted(BACKENDS)}, received {name!r}")
    return name


_default = _check(os.environ.get("NERVE_BACKEND", "cpp"))


def backend_name() -> str:
    """The name of the active backend in the calling thread.

    Returns:
        "cpp" or "numpy": the one use_backend selected in this thread, else the process-wide one
        (set_backend, or the NERVE_BACKEND environment variable, default "cpp").

    Example:
        >>> import nerve
        >>> nerve.backend_name() in ("cpp", "numpy")
        True
    """
    return getattr(_state, "name", None) or _default


def get_backend() -> ModuleType:
    """The module that implements the kernels of the active backend.

    Returns:
        nerve._core for "cpp", nerve.reference for "numpy".

    Example:
        >>> import nerve
        >>> with nerve.use_backend("numpy"):
        ...     nerve.get_backend().__name__
        'nerve.reference'
    """
    return importlib.import_module(BACKENDS[backend_name()])


def set_backend(name: str) -> None:
    """Make `name` the process-wide backend.

    It also clears a use_backend selection of the calling thread (the previous one comes back
    when that block ends).

    Args:
        name: "cpp" (nerve's compiled kernels) or "numpy" (the pure-NumPy reference).

    Raises:
        ValueError: When `name` is not a backend's name.

    Example:
        >>> import nerve
        >>> previous = nerve.backend_name()
        >>> nerve.set_backend("numpy")
        >>> nerve.backend_name()
        'numpy'
        >>> nerve.set_backend(previous)
    """
    global _default
    _default = _check(name)
    _state.name = None


@contextlib.contextmanager
def use_backend(name: str) -> Iterator[ModuleType]:
    """Run the body of a `with` block on backend `name`, in the calling thread only.

    The previous backend comes back when the block ends, also on an exception.

    Args:
        name: "cpp" or "numpy".

    Returns:
        A context manager; `as` binds the backend's module.

    Raises:
        ValueError: When `name` is not a backend's name.

    Example:
        >>> import nerve
        >>> with nerve.use_backend("numpy"):
        ...     nerve.backend_name()
        'numpy'
    """
    previous = getattr(_state, "name", None)
    _state.name = _check(name)
    try:
        yield get_backend()
    finally:
        _state.name = previous
