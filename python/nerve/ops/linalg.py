"""Products of nerve.ops (as keras.ops): matmul (batched, broadcasting), dot, einsum.

A 2-D float matmul runs on the backend's gemm, forward and backward (dA = dY B^T,
dB = A^T dY, written by gemm with transposed operands, no copies); other shapes use NumPy's
matmul and the same formulas over the batch dimensions, summed back where they broadcast.
"""
import string
import warnings
from typing import Any, Optional, Sequence, Union

import numpy as np

from .. import _core
from .._typing import Tensor, TensorLike
from . import kernels
from .core import Primitive, _store_grads, apply, unbroadcast
from .math import multiply

__all__ = ["matmul", "dot", "einsum", "tensordot"]

_ndarray, _product = np.ndarray, _core.matmul
_UNSET = object()  # an argument not given


def _gemm_ready(*arrays):
    return (all(a.ndim == 2 and a.flags.c_contiguous for a in arrays)
            and len({a.dtype for a in arrays}) == 1 and arrays[0].dtype.kind == "f")


def _check_matmul_shapes(a_shape, b_shape):
    """ValueError naming x2 unless the shapes multiply, before NumPy sizes (and may try to
    allocate) a result: a mismatch is the caller's mistake, not a lack of memory."""
    if not a_shape or not b_shape:
        return  # a scalar: NumPy's own error says so
    inner = b_shape[0] if len(b_shape) == 1 else b_shape[-2]
    if a_shape[-1] != inner:
        axis = "its only axis" if len(b_shape) == 1 else "its second-to-last axis"
        raise ValueError(f"x2: expected {a_shape[-1]} (the last axis of x1) on {axis}, received "
                         f"shape {tuple(b_shape)}")
    try:
        np.broadcast_shapes(a_shape[:-2], b_shape[:-2])
    except ValueError:
        raise ValueError(f"x2: expected batch dimensions that broadcast with x1's "
                         f"{tuple(a_shape[:-2])}, received shape {tuple(b_shape)}") from None


def _matmul_compute(a, b):
    _check_matmul_shapes(a.shape, b.shape)
    if a.ndim == 2 and b.ndim == 2 and a.dtype == b.dtype and a.dtype.kind == "f":
        return kernels.matmul(a, b)
    return np.matmul(a, b)


def _matmul_grad(dys, args, ys):
    a, b = args
    a2 = a[None, :] if a.ndim == 1 else a
    b2 = b[:, None] if b.ndim == 1 else b
    dy = dys[0]
    if b.ndim == 1:  # first: for 1-D @ 1-D, dy () becomes (1, 1)
        dy = np.expand_dims(dy, -1)
    if a.ndim == 1:
        dy = np.expand_dims(dy, -2)
    da = np.matmul(dy, np.swapaxes(b2, -1, -2))
    db = np.matmul(np.swapaxes(a2, -1, -2), dy)
    return [unbroadcast(da, a2.shape).reshape(a.shape), unbroadcast(db, b2.shape).reshape(b.shape)]


def _lower_matmul(lowering, ys, args):
    a, b = args
    if _gemm_ready(a, b, ys[0]):
        return [(lowering.backend.gemm, (ys[0], a, b))]
    return [(np.matmul, (a, b, ys[0]))]


def _lower_matmul_grad(lowering, dys, args, ys, wanted):
    a, b = args
    dy = dys[0]
    if not _gemm_ready(a, b, dy):
        grads = [lowering.empty(x.shape, x.dtype) if w else None for x, w in zip(args, wanted)]
        return grads, [(_store_grads, (_matmul_grad, dys, args, ys, {}, grads))]
    gemm, grads, calls = lowering.backend.gemm, [None, None], []
    if wanted[0]:
        grads[0] = lowering.empty(a.shape, a.dtype)
        calls.append((gemm, (grads[0], dy, b, False, True)))
    if wanted[1]:
        grads[1] = lowering.empty(b.shape, b.dtype)
        calls.append((gemm, (grads[1], a, dy, True, False)))
    return grads, calls


def _matmul_empty_sums(a, b):
    _check_matmul_shapes(np.shape(a), np.shape(b))
    return (a[..., :0] if np.ndim(a) else a,
            b[:0] if np.ndim(b) == 1 else b[..., :0, :] if np.ndim(b) else b)


_MATMUL = Primitive("matmul", _matmul_compute, _matmul_grad, empty_sums=_matmul_empty_sums)
_MATMUL.lower, _MATMUL.lower_grad = _lower_matmul, _lower_matmul_grad


def matmul(x1: TensorLike, x2: TensorLike, out: Optional[np.ndarray] = None, *, a: Any = _UNSET,
           b: Any = _UNSET) -> Tensor:
    """The matrix product x1 @ x2, as np.matmul (batched; batch dimensions broadcast).

    2-D float arrays of one dtype run on nerve's gemm kernel (forward and backward); other
    shapes and dtypes on NumPy's matmul. A 1-D x1 is a row, a 1-D x2 a column (dropped from
    the result).

    Args:
        x1: Array-like, Variable or SymbolicTensor of real numbers or booleans, at least 1-D.
        x2: The same; its second-to-last axis (its only one when 1-D) matches x1's last.
        out: A 2-D NumPy array to write the result into, default None (2-D arrays only:
            float32 when both are float32 else float64, C-contiguous, writable).
        a: Deprecated keyword name of x1 (warns DeprecationWarning); not given by default.
        b: Deprecated keyword name of x2 (warns DeprecationWarning); not given by default.

    Returns:
        An array of the batch dimensions' broadcast shape followed by (x1 rows, x2 columns),
        in the inputs' common dtype (Keras's rules), or `out` when given; a SymbolicTensor
        when an argument is symbolic (a graph node, with its gradient).

    Raises:
        ValueError: When x2's inner axis differs from x1's last, the batch dimensions do not
            broadcast, an argument is a scalar, or out has another shape or layout.
        TypeError: When an argument is not real numbers or booleans, or out is not an array
            of the result's dtype.

    Example:
        >>> import numpy as np
        >>> from nerve import ops
        >>> x1 = np.arange(6, dtype="float32").reshape(2, 3)
        >>> ops.matmul(x1, np.ones((3, 2), "float32"))
        array([[ 3.,  3.],
               [12., 12.]], dtype=float32)
    """
    if out is None and type(x1) is _ndarray and type(x2) is _ndarray and a is b is _UNSET:
        # The common case in one call, no dearer than np.matmul's: two 2-D arrays of one
        # float dtype the kernel reads as they are (or as x.T views).
        try:
            return _product(x1, x2)
        except (TypeError, ValueError):
            pass  # the general path converts, promotes or explains
    if a is not _UNSET or b is not _UNSET:
        x1, x2 = _renamed(x1, x2, a, b)
    if out is not None:
        return kernels.matmul(x1, x2, out=out)
    return apply(_MATMUL, [x1, x2])


def _renamed(x1, x2, a, b):
    """matmul(a=..., b=...): the names nerve.ops used before it followed keras.ops, kept with
    a warning."""
    warnings.warn("ops.matmul(a=, b=) is deprecated: use matmul(x1, x2) as keras.ops does",
                  DeprecationWarning, stacklevel=3)
    return (x1 if a is _UNSET else a), (x2 if b is _UNSET else b)


def dot(x1: TensorLike, x2: TensorLike) -> Tensor:
    """The dot product, as np.dot.

    A sum over the last axis of x1 and the second-to-last of x2 (the last when x2 is 1-D); a
    scalar multiplies. Up to 2-D it is matmul; beyond, einsum (the result has x1's other
    axes, then x2's).

    Args:
        x1: Array-like, Variable or SymbolicTensor of real numbers or booleans.
        x2: The same.

    Returns:
        An array of x1's shape without its last axis followed by x2's without the summed
        one, in the inputs' common dtype; a SymbolicTensor when an argument is symbolic (a
        graph node, with its gradient).

    Raises:
        ValueError: When the summed axes differ in length.
        TypeError: When an argument is not real numbers or booleans.

    Example:
        >>> import numpy as np
        >>> from nerve import ops
        >>> ops.dot(np.array([1, 2], "float32"), np.array([3, 4], "float32"))
        np.float32(11.0)
    """
    n1, n2 = len(np.shape(x1)), len(np.shape(x2))
    if n1 == 0 or n2 == 0:
        return multiply(x1, x2)
    if n1 <= 2 and n2 <= 2:
        return matmul(x1, x2)
    letters = iter(string.ascii_letters)
    left = [next(letters) for _ in range(n1)]
    right = [next(letters) for _ in range(n2)]
    contracted = -2 if n2 >= 2 else -1
    right[contracted] = left[-1]
    out = left[:-1] + [r for i, r in enumerate(right) if i != n2 + contracted]
    return einsum(f"{''.join(left)},{''.join(right)}->{''.join(out)}", x1, x2)


def tensordot(x1: TensorLike, x2: TensorLike,
              axes: Union[int, Sequence[Sequence[int]]] = 2) -> Tensor:
    """The sum of products over the given axes of x1 and x2, as np.tensordot.

    Args:
        x1: Array-like, Variable or SymbolicTensor of real numbers or booleans.
        x2: The same.
        axes: Int, default 2: x1's last `axes` axes against x2's first `axes`; or a pair
            (x1's axes, x2's axes), each an int or a sequence of ints, paired in order.

    Returns:
        An array of x1's remaining axes followed by x2's, in the inputs' common dtype; a
        SymbolicTensor when an argument is symbolic (a graph node, with its gradient).

    Raises:
        ValueError: When paired axes differ in length.
        TypeError: When an argument is not real numbers or booleans.

    Example:
        >>> import numpy as np
        >>> from nerve import ops
        >>> x = np.arange(6, dtype="float32").reshape(2, 3)
        >>> ops.tensordot(x, x, axes=([1], [1]))
        array([[ 5., 14.],
               [14., 50.]], dtype=float32)
    """
    if isinstance(axes, (int, np.integer)):
        n1 = len(np.shape(x1))
        axes = (list(range(n1 - int(axes), n1)), list(range(int(axes))))
    first, second = ([a] if isinstance(a, (int, np.integer)) else list(a) for a in axes)
    n1, n2 = len(np.shape(x1)), len(np.shape(x2))
    letters = iter(string.ascii_letters)
    left = [next(letters) for _ in range(n1)]
    right = [next(letters) for _ in range(n2)]
    for i, j in zip(first, second):
        right[j % n2] = left[i % n1]
    out = [c for i, c in enumerate(left) if i not in {a % n1 for a in first}]
    out += [c for j, c in enumerate(right) if j not in {a % n2 for a in second}]
    return einsum(f"{''.join(left)},{''.join(right)}->{''.join(out)}", x1, x2)


def _explicit(subscripts, ndims):
    """Subscripts with the ellipsis spelled out and an explicit output (NumPy's implicit
    output: the letters used once, in order, after the ellipsis dimensions)."""
    subscripts = subscripts.replace(" ", "")
    inputs, arrow, output = subscripts.partition("->")
    terms = inputs.split(",")
    if len(terms) != len(ndims):
        raise ValueError(f"{subscripts!r} names {len(terms)} operands, received {len(ndims)}")
    spare = [c for c in string.ascii_letters if c not in subscripts]
    width = max((n - len(t.replace("...", "")) for t, n in zip(terms, ndims) if "..." in t),
                default=0)
    ellipsis = "".join(spare[:width])
    spelled = []
    for term, ndim in zip(terms, ndims):
        if "..." in term:
            count = ndim - len(term.replace("...", ""))
            term = term.replace("...", ellipsis[width - count:] if count else "")
        if len(set(term)) != len(term):
            raise ValueError(f"repeated indices within one operand ({term!r}) are not supported")
        spelled.append(term)
    if arrow:
        output = output.replace("...", ellipsis)
    else:
        joined = "".join(spelled)
        output = ellipsis + "".join(sorted(c for c in set(joined) if joined.count(c) == 1
                                           and c not in ellipsis))
    return spelled, output


def _einsum_grad(dys, args, ys, terms, output):
    grads = []
    for k, (term, arg) in enumerate(zip(terms, args)):
        others = [t for i, t in enumerate(terms) if i != k]
        available = set(output).union(*others)
        reduced = "".join(c for c in term if c in available)
        spec = ",".join([output] + others) + "->" + reduced
        grad = np.einsum(spec, dys[0], *[a for i, a in enumerate(args) if i != k])
        for position, c in enumerate(term):  # letters summed within this operand only
            if c not in available:
                grad = np.expand_dims(grad, position)
        grads.append(unbroadcast(grad, arg.shape))  # sums where arg broadcast (size 1)
    return grads


def _einsum_empty_sums(*xs, terms, output):
    sizes = {}
    for x, term in zip(xs, terms):
        for c, n in zip(term, np.shape(x)):
            if sizes.setdefault(c, n) != n and 1 not in (n, sizes[c]):
                raise ValueError(f"index {c!r} has sizes {sizes[c]} and {n}")
    summed = set("".join(terms)) - set(output)
    return [x[tuple(slice(0, 0) if c in summed else slice(None) for c in term)]
            for x, term in zip(xs, terms)]


_EINSUM = Primitive("einsum", lambda *xs, terms, output: np.einsum(
    ",".join(terms) + "->" + output, *xs), _einsum_grad, empty_sums=_einsum_empty_sums)


def einsum(subscripts: str, *operands: TensorLike) -> Tensor:
    """Einstein summation, as np.einsum, for operands without a repeated index in one.

    Args:
        subscripts: Str such as "ij,jk->ik": one term per operand (letters, "..." for
            leading axes), then optionally "->" and the output's letters (implicit: the
            letters used once, in alphabetical order, after the "..." axes).
        *operands: Array-likes, Variables or SymbolicTensors of real numbers or booleans,
            one per term.

    Returns:
        An array of the output term's axes, in the operands' common dtype; a SymbolicTensor
        when an operand is symbolic (a graph node, with its gradient).

    Raises:
        ValueError: When the number of terms is not the number of operands, a term repeats
            a letter (a trace or diagonal: not supported), or one letter has two lengths.
        TypeError: When an operand is not real numbers or booleans.

    Example:
        >>> import numpy as np
        >>> from nerve import ops
        >>> x = np.arange(6, dtype="float32").reshape(2, 3)
        >>> ops.einsum("ij,ij->i", x, x)
        array([ 5., 50.], dtype=float32)
    """
    try:
        terms, output = _explicit(subscripts, [len(np.shape(x)) for x in operands])
    except ValueError as error:
        raise ValueError(f"ops.einsum: {error}") from None
    return apply(_EINSUM, list(operands), terms=tuple(terms), output=output)
