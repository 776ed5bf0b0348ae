"""Names for the types nerve's public functions take and return (for annotations only)."""
from typing import TYPE_CHECKING, Any, Callable, Optional, Sequence, Tuple, Union

import numpy as np
from numpy.typing import ArrayLike, DTypeLike, NDArray

if TYPE_CHECKING:
    from .graph import SymbolicTensor
    from .variables import Variable

# What nerve.ops accepts: arrays and anything NumPy converts, Variables, symbolic tensors.
TensorLike = Union[ArrayLike, "Variable", "SymbolicTensor"]
# What nerve.ops returns: an array on arrays, a graph node's tensor while tracing.
Tensor = Union[np.ndarray, "SymbolicTensor"]
Axis = Optional[Union[int, Sequence[int]]]
Shape = Sequence[int]
Activation = Optional[Union[str, Callable[..., Any]]]

__all__ = ["Activation", "ArrayLike", "Axis", "DTypeLike", "NDArray", "Shape", "Tensor",
           "TensorLike", "Tuple"]
