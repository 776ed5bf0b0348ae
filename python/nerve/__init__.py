"""nerve: fast Keras-style dense networks on the CPU."""
from . import _core

__version__ = _core.build_info()["version"]
