"""Names for the types nerve's public functions take and return (for annotations only)."""
from typing import TYPE_CHECKING, Any, Callable, ForwardRef, Optional, Sequence, Tuple, Union

import numpy as np
from numpy.typing import ArrayLike, NDArray
from numpy.typing import DTypeLike as _NumPyDTypeLike


def forward_reference(name: str, module: str) -> Any:
    """A reference to `module`.`name` that resolves from any module using the aliases below
    (typing.get_type_hints, pdoc): the classes import this module, so it cannot import them."""
    try:
        return ForwardRef(name, module=module)
    except TypeError:  # Python < 3.9.7: resolved only where `name` is in scope
        return ForwardRef(name)


if TYPE_CHECKING:
    from .graph import SymbolicTensor
    from .variables import Variable
else:
    Variable = forward_reference("Variable", "nerve.variables")
    SymbolicTensor = forward_reference("SymbolicTensor", "nerve.graph.tensor")

# What nerve.ops accepts: arrays and anything NumPy converts, Variables, symbolic tensors.
TensorLike = Union[ArrayLike, Variable, SymbolicTensor]
# What nerve.ops returns: an array on arrays, a graph node's tensor while tracing.
Tensor = Union[np.ndarray, SymbolicTensor]
# A dtype, or None for the default one: NumPy >= 2.3's DTypeLike no longer includes None.
DTypeLike = Optional[_NumPyDTypeLike]
Axis = Optional[Union[int, Sequence[int]]]
Shape = Sequence[int]
Activation = Optional[Union[str, Callable[..., Any]]]

__all__ = ["Activation", "ArrayLike", "Axis", "DTypeLike", "NDArray", "Shape", "Tensor",
           "TensorLike", "Tuple"]
