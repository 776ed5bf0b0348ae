"""nerve.ops: keras.ops over NumPy arrays and nerve's kernels, traced on symbolic tensors.

    from nerve import ops
    ops.matmul(a, b)                 # on arrays: computed now (2-D floats on nerve's gemm)
    ops.softmax(logits, axis=-1)     # stable, on nerve's activation kernels
    y = ops.relu(ops.matmul(x, w) + b)   # on symbolic tensors (inside a layer's call or a
                                         # custom loss): a graph node, with its gradient

Names, arguments, broadcasting and dtypes follow keras.ops (Python scalars are weak: float32
stays float32; an int meets a float as that float; mean/exp/divide of ints give floatx). On
symbolic tensors each call records a node whose shape and dtype are checked at once, so a
mistake raises where it is written; a model then compiles the nodes, with the built-in
layers, into one plan of kernel calls over preallocated buffers.

nerve's array functions from before keep working: `dense(x, w, b, activation)` (one fused
kernel), `activation(name, x)`, `out=` on matmul, softmax and the activations (write in
place), `step(x, threshold)`. Conversion rules of those: see nerve.ops.kernels.
"""
from typing import Optional

import numpy as np

from .._typing import DTypeLike, Tensor, TensorLike
from ..graph import SymbolicTensor
from ..variables import Variable
from . import kernels
from .core import list_dtype as _list_dtype
from .indexing import getitem, one_hot, take, take_along_axis
from .joining import concatenate, split, stack
from .kernels import activation, dense, step
from .linalg import dot, einsum, matmul, tensordot
from .logic import (equal, greater, greater_equal, less, less_equal, logical_and, logical_not,
                    logical_or, logical_xor, not_equal, where)
from .math import (abs, absolute, add, cast, ceil, clip, cos, divide, exp, expm1, floor, log,
                   log1p, maximum, minimum, multiply, negative, power, reciprocal, round, sign,
                   sin, sqrt, square, stop_gradient, subtract, true_divide)
from .nn import (binary_crossentropy, categorical_crossentropy, elu, exponential, gelu,
                 hard_sigmoid, leaky_relu, log_softmax, relu, relu6, selu, sigmoid, silu,
                 softmax, softplus, softsign, sparse_categorical_crossentropy, swish, tanh)
from .reductions import (all, amax, amin, any, argmax, argmin, count_nonzero, logsumexp, max,
                         mean, min, prod, std, sum, var)
from .shaping import (broadcast_to, expand_dims, full, full_like, ndim, ones, ones_like, reshape,
                      shape, size, squeeze, transpose, zeros, zeros_like)

# Old names of the array functions: the activations nerve.ops had that keras.ops spells
# otherwise.
linear = kernels.linear
gelu_tanh = kernels.gelu_tanh


def convert_to_tensor(x: TensorLike, dtype: Optional[DTypeLike] = None, sparse: None = None) -> Tensor:
    """x as an array (a symbolic tensor stays symbolic, cast when `dtype` differs).

    Python floats (and lists of them) become floatx (float32) and Python ints int32, as in
    Keras; NumPy arrays keep their dtype; a Variable gives its value.

    Args:
        x: Array-like, Variable or SymbolicTensor.
        dtype: A NumPy dtype or its name, default None: as described above.
        sparse: Default None; accepted for keras.ops compatibility (nerve has no sparse
            tensors).

    Returns:
        A NumPy array (x itself when it is one of that dtype), or a SymbolicTensor.

    Raises:
        TypeError: When dtype is not a dtype.
        ValueError: When x does not convert to dtype.

    Example:
        >>> import numpy as np
        >>> from nerve import ops
        >>> ops.convert_to_tensor([1.5, 2.0])
        array([1.5, 2. ], dtype=float32)
        >>> ops.convert_to_tensor([1, 2]).dtype
        dtype('int32')
    """
    if isinstance(x, SymbolicTensor):
        return x if dtype is None or np.dtype(x.dtype) == np.dtype(dtype) else cast(x, dtype)
    if isinstance(x, Variable):
        x = x.value
    array = np.asarray(x)
    if dtype is None and array.dtype == np.float64 and not isinstance(x, np.ndarray):
        dtype = "float32"  # Keras: Python floats become floatx
    if dtype is None and isinstance(x, (int, list, tuple)):  # Keras: Python ints become int32
        dtype = _list_dtype(x if isinstance(x, (list, tuple)) else [x], array.dtype)
    return array if dtype is None else array.astype(dtype, copy=False)


def convert_to_numpy(x: TensorLike) -> np.ndarray:
    """x as a NumPy array (a Variable gives its value).

    Args:
        x: Array-like or Variable.

    Returns:
        A NumPy array (x itself when it is one).

    Raises:
        TypeError: When x is a SymbolicTensor, which has no value while a model is traced.

    Example:
        >>> import numpy as np
        >>> from nerve import ops
        >>> ops.convert_to_numpy([1, 2])
        array([1, 2])
    """
    if isinstance(x, SymbolicTensor):
        raise TypeError(f"convert_to_numpy: {x!r} is symbolic (it has no value while a model "
                        f"is traced); call the model on arrays")
    return np.asarray(x.value if isinstance(x, Variable) else x)


def is_tensor(x: object) -> bool:
    """Whether x is a tensor of nerve's: a NumPy array or a SymbolicTensor.

    Args:
        x: Any object.

    Returns:
        True for np.ndarray and SymbolicTensor, else False (lists, scalars, Variables).

    Example:
        >>> import numpy as np
        >>> from nerve import ops
        >>> ops.is_tensor(np.zeros(2)), ops.is_tensor([0, 0])
        (True, False)
    """
    return isinstance(x, (np.ndarray, SymbolicTensor))


__all__ = sorted(name for name in dir() if not name.startswith("_") and name not in (
    "np", "Optional", "SymbolicTensor", "Variable", "DTypeLike", "Tensor", "TensorLike", "kernels", "core", "linalg", "math", "nn",
    "reductions", "shaping", "indexing", "joining", "logic"))
