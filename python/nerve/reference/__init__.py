"""The NumPy reference backend: the same functions, arguments and in-place semantics as
nerve._core, written to be obviously right rather than fast. Every test checks the C++
kernels against it; selecting it with nerve.set_backend('numpy') runs models on it."""
from .activations import *  # noqa: F401,F403
from .conv import *  # noqa: F401,F403
from .embedding import *  # noqa: F401,F403
from .loss import *  # noqa: F401,F403
from .matmul import *  # noqa: F401,F403
from .normalization import *  # noqa: F401,F403
from .optim import *  # noqa: F401,F403
from .pooling import *  # noqa: F401,F403
