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
    """Name of the active backend ("cpp" or "numpy")."""
    return getattr(_state, "name", None) or _default


def get_backend() -> ModuleType:
    """The active backend module."""
    return importlib.import_module(BACKENDS[backend_name()])


def set_backend(name: str) -> None:
    """Make `name` the process-wide backend ("cpp" or "numpy")."""
    global _default
    _default = _check(name)
    _state.name = None


@contextlib.contextmanager
def use_backend(name: str) -> Iterator[ModuleType]:
    """Run the body on backend `name` (in this thread), then restore the previous one."""
    previous = getattr(_state, "name", None)
    _state.name = _check(name)
    try:
        yield get_backend()
    finally:
        _state.name = previous
