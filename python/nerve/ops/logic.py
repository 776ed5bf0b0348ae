"""Comparison and logical ops of nerve.ops (as keras.ops), and where, which selects by them.

Broadcasting is NumPy's. The comparisons and logical ops return booleans and pass no
gradient; where passes its gradient to x1 where the condition holds and to x2 elsewhere.
"""
import inspect
from typing import Any, Callable, Optional, Sequence, Tuple

import numpy as np

from .._typing import Tensor, TensorLike
from ._doc import REAL_TYPE_ERROR, SYMBOLIC_NO_GRADIENT, TENSOR, docstring, documented
from .core import Primitive, apply
from .math import BROADCAST_ERROR

__all__ = ["where", "equal", "not_equal", "greater", "greater_equal", "less", "less_equal",
           "logical_and", "logical_or", "logical_not", "logical_xor"]


_WHERE = Primitive("where", np.where, lambda dys, a, ys: [
    None, np.where(a[0], dys[0], 0), np.where(a[0], 0, dys[0])], roles="bdd")


def where(condition: TensorLike, x1: Optional[TensorLike] = None,
          x2: Optional[TensorLike] = None) -> Tensor:
    """x1 where condition is true, else x2, element by element (broadcasting all three).

    The gradient goes to x1 where the condition holds and to x2 elsewhere; none to the
    condition.

    Args:
        condition: Array-like, Variable or SymbolicTensor, cast to bool.
        x1: The values where condition is true, default None (required: nerve has no
            one-argument form, NumPy's nonzero).
        x2: The values elsewhere, default None (required).

    Returns:
        An array of the three arguments' broadcast shape in x1's and x2's common dtype; a
        SymbolicTensor when an argument is symbolic.

    Raises:
        ValueError: When x1 or x2 is missing, or the shapes do not broadcast.
        TypeError: When an argument is not real numbers or booleans.

    Example:
        >>> import numpy as np
        >>> from nerve import ops
        >>> x = np.array([-1.0, 2.0, -3.0], "float32")
        >>> ops.where(x > 0, x, 0.0)
        array([0., 2., 0.], dtype=float32)
    """
    if x1 is None or x2 is None:
        raise ValueError("ops.where: expected both x1 and x2 (nerve has no one-argument form)")
    return apply(_WHERE, [condition, x1, x2])


def _boolean(name: str, compute: Callable[..., Any], summary: str, example: Tuple[str, str],
             roles: str = "d", arguments: Sequence[str] = ("x1", "x2")) -> Callable[..., Tensor]:
    """A comparison or logical op: booleans, no gradient. Its docstring: `summary` and the
    example ops.<name>(example[0]) printing example[1]."""
    primitive = Primitive(name, compute, None, roles=roles)
    logical = roles == "b"
    kind = "cast to bool" if logical else "of real numbers or booleans"
    described = [(arguments[0], f"{TENSOR}, {kind}.")] + [
        (a, f"The same, broadcast against {arguments[0]} as NumPy broadcasts.")
        for a in arguments[1:]]
    shape = "x's shape" if len(arguments) == 1 else "the broadcast shape"
    raises = [REAL_TYPE_ERROR] if len(arguments) == 1 else [BROADCAST_ERROR, REAL_TYPE_ERROR]

    @documented(docstring(
        summary, described, f"A bool array of {shape}; {SYMBOLIC_NO_GRADIENT}.", raises,
        [f">>> ops.{name}({example[0]})", example[1]]))
    def op(*args: TensorLike) -> Tensor:
        return apply(primitive, list(args))
    op.__name__ = op.__qualname__ = name
    setattr(op, "__signature__", inspect.Signature([  # help() shows the arguments' names
        inspect.Parameter(a, inspect.Parameter.POSITIONAL_ONLY) for a in arguments]))
    return op


_PAIR_12 = 'np.array([1, 2, 3]), 2'
_BOOLS = 'np.array([True, True, False]), np.array([True, False, False])'
equal = _boolean("equal", np.equal, "x1 == x2, element by element.",
                 (_PAIR_12, "array([False,  True, False])"))
not_equal = _boolean("not_equal", np.not_equal, "x1 != x2, element by element.",
                     (_PAIR_12, "array([ True, False,  True])"))
greater = _boolean("greater", np.greater, "x1 > x2, element by element.",
                   (_PAIR_12, "array([False, False,  True])"))
greater_equal = _boolean("greater_equal", np.greater_equal, "x1 >= x2, element by element.",
                         (_PAIR_12, "array([False,  True,  True])"))
less = _boolean("less", np.less, "x1 < x2, element by element.",
                (_PAIR_12, "array([ True, False, False])"))
less_equal = _boolean("less_equal", np.less_equal, "x1 <= x2, element by element.",
                      (_PAIR_12, "array([ True,  True, False])"))
logical_and = _boolean("logical_and", np.logical_and, "x1 and x2, element by element.",
                       (_BOOLS, "array([ True, False, False])"), "b")
logical_or = _boolean("logical_or", np.logical_or, "x1 or x2, element by element.",
                      (_BOOLS, "array([ True,  True, False])"), "b")
logical_xor = _boolean("logical_xor", np.logical_xor, "x1 != x2 as booleans, element by "
                       "element.", (_BOOLS, "array([False,  True, False])"), "b")
logical_not = _boolean("logical_not", np.logical_not, "not x, element by element.",
                       ("np.array([0, 1, 2])", "array([ True, False, False])"), "b", ("x",))
