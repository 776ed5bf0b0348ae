"""The base of the element-wise merge layers, the helpers the merge layers share, and the
functional form (add(...), ...) made from a merge layer's class."""
from typing import Any, List, Optional, Sequence

import numpy as np

from .layer import Layer, Shape, ShapeLike

# The shapes, arguments and errors of the element-wise merge layers, for their docstrings.
_ELEMENTWISE = """Input: a list of {count} tensors of the same rank whose shapes are equal or 1
    (broadcast, as NumPy) in each dimension. Output shape: the broadcast shape.

    Args:
        **kwargs: The base Layer's arguments (name, trainable, dtype).

    Raises:
        ValueError: When called on something other than a list of {count} tensors, or on
            shapes that do not broadcast.
"""


def _with_shared_doc(cls):
    """`cls` with its docstring's {shared} filled from the element-wise template."""
    count = "two" if cls.arity == 2 else "two or more"
    cls.__doc__ = cls.__doc__.format(shared=_ELEMENTWISE.format(count=count).strip())
    return cls


class _Merge(Layer):
    """Element-wise merge of two or more tensors of broadcastable shapes."""

    arity: Optional[int] = None  # exact number of inputs, when fixed

    def _shapes(self, input_shape):
        return _input_shapes(self, input_shape, self.arity)

    def compute_output_shape(self, input_shape: ShapeLike) -> Shape:
        shapes = self._shapes(input_shape)
        if len({len(s) for s in shapes}) != 1:
            raise ValueError(f"{self.name}: inputs must have the same rank, received shapes "
                             f"{' and '.join(map(str, shapes))}")
        output: List[Optional[int]] = [None]
        for dims in list(zip(*shapes))[1:]:
            sizes = {d for d in dims if d != 1}
            if len(sizes) > 1:
                raise ValueError(f"{self.name}: inputs must have the same shape (or 1 where "
                                 f"they broadcast), received shapes "
                                 f"{' and '.join(map(str, shapes))}")
            output.append(sizes.pop() if sizes else 1)
        return tuple(output)

    def _forward(self, lowering, xs, training):
        shape = (xs[0].shape[0],) + self.compute_output_shape(
            [(None,) + x.shape[1:] for x in xs])[1:]
        y = lowering.empty(shape, xs[0].dtype)
        return y, self._merge_calls(lowering, y, xs), (xs, y)

    def _backward(self, lowering, context, dy, need_dx, fused):
        xs, y = context
        calls, dxs, shared = [], [], {}  # shared: scratch common to the inputs' gradients
        for index, (x, wanted) in enumerate(zip(xs, need_dx)):
            if not wanted:
                dxs.append(None)
                continue
            term = self._input_gradient(lowering, calls, index, xs, y, dy, shared)
            dxs.append(_reduce_to(lowering, calls, term, x.shape))
        return dxs, calls


def _input_shapes(layer, input_shape, arity=None):
    """The shapes of a merge layer's list of inputs, checked for their number."""
    if not isinstance(input_shape, list) or len(input_shape) < 2:
        raise ValueError(f"{layer.name}: {type(layer).__name__} takes a list of at least two "
                         f"tensors, received {input_shape!r}")
    if arity is not None and len(input_shape) != arity:
        raise ValueError(f"{layer.name}: {type(layer).__name__} takes exactly {arity} "
                         f"tensors, received {len(input_shape)}")
    return [tuple(s) for s in input_shape]


def _reduce_to(lowering, calls, term, shape):
    """`term` summed over the dimensions where an input of `shape` was broadcast."""
    if term.shape == shape:
        return term
    axes = tuple(i for i, (a, b) in enumerate(zip(shape, term.shape)) if a == 1 and b != 1)
    out = lowering.empty(shape, term.dtype)
    calls.append((_sum_into, (term, axes, out)))
    return out


def _sum_into(term, axes, out):
    np.sum(term, axis=axes, keepdims=True, out=out)


def _chain(ufunc, y, xs):
    calls = [(ufunc, (xs[0], xs[1], y))]
    return calls + [(ufunc, (y, x, y)) for x in xs[2:]]


def _functional(cls):
    def merge(inputs: Sequence[Any], **kwargs: Any) -> Any:
        return cls(**kwargs)(inputs)
    merge.__name__ = merge.__qualname__ = cls.__name__.lower()
    merge.__module__ = cls.__module__  # where it is bound (and its doctest found)
    merge.__doc__ = f"""The functional form of {cls.__name__}: {cls.__name__}(**kwargs)(inputs).

    Args:
        inputs: A list of tensors (symbolic, or arrays to compute at once).
        **kwargs: {cls.__name__}'s arguments (name, ...).

    Returns:
        The merged tensor (an array for arrays).

    Raises:
        ValueError: As {cls.__name__}, for inputs it cannot merge.

    Example:
        >>> import nerve
        >>> x = nerve.layers.Input(shape=(3,))
        >>> nerve.layers.{merge.__name__}([x, x]).shape
        (None, {6 if cls.__name__ == "Concatenate" else 3})
    """
    return merge
