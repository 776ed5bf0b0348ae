"""Merge layers (keras.layers): Add, Subtract, Multiply, Average, Maximum, Minimum,
Concatenate, Dot, and their functional forms add(...), subtract(...), ...

Each takes a list of tensors. The element-wise ones broadcast as NumPy does (dimensions equal
or 1, batch first); their gradients sum over the broadcast dimensions. They are memory-bound
NumPy ufunc calls with out=, the same calls on both backends, so both give identical numbers.
"""
import functools
from typing import Any, Dict, Sequence, Union

import numpy as np

from .base_merge import _chain, _functional, _input_shapes, _Merge, _with_shared_doc
from .layer import Layer, Shape, ShapeLike

__all__ = ["Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum", "Concatenate", "Dot",
           "add", "subtract", "multiply", "average", "maximum", "minimum", "concatenate", "dot"]


@_with_shared_doc
class Add(_Merge):
    """The element-wise sum of its inputs (keras.layers.Add).

    {shared}

    Example:
        >>> import numpy as np, nerve
        >>> a, b = np.array([[1.0, 2.0]], "float32"), np.array([[3.0, 4.0]], "float32")
        >>> nerve.layers.Add()([a, b])
        array([[4., 6.]], dtype=float32)
    """

    def _merge_calls(self, lowering, y, xs):
        return _chain(np.add, y, xs)

    def _input_gradient(self, lowering, calls, index, xs, y, dy, shared):
        return dy  # the plan copies it where two consumers would share one buffer


@_with_shared_doc
class Subtract(_Merge):
    """The first input minus the second, element-wise.

    {shared}

    Example:
        >>> import numpy as np, nerve
        >>> a, b = np.array([[1.0, 2.0]], "float32"), np.array([[3.0, 4.0]], "float32")
        >>> nerve.layers.Subtract()([a, b])
        array([[-2., -2.]], dtype=float32)
    """

    arity = 2

    def _merge_calls(self, lowering, y, xs):
        return [(np.subtract, (xs[0], xs[1], y))]

    def _input_gradient(self, lowering, calls, index, xs, y, dy, shared):
        if index == 0:
            return dy
        negated = lowering.empty_like(dy)
        calls.append((np.negative, (dy, negated)))
        return negated


@_with_shared_doc
class Multiply(_Merge):
    """The element-wise product of its inputs.

    {shared}

    Example:
        >>> import numpy as np, nerve
        >>> a, b = np.array([[1.0, 2.0]], "float32"), np.array([[3.0, 4.0]], "float32")
        >>> nerve.layers.Multiply()([a, b])
        array([[3., 8.]], dtype=float32)
    """

    def _merge_calls(self, lowering, y, xs):
        return _chain(np.multiply, y, xs)

    def _input_gradient(self, lowering, calls, index, xs, y, dy, shared):
        term = lowering.empty_like(dy)
        others = [x for i, x in enumerate(xs) if i != index]
        calls.append((np.multiply, (dy, others[0], term)))
        calls += [(np.multiply, (term, x, term)) for x in others[1:]]
        return term


@_with_shared_doc
class Average(_Merge):
    """The element-wise mean of its inputs.

    {shared}

    Example:
        >>> import numpy as np, nerve
        >>> a, b = np.array([[1.0, 2.0]], "float32"), np.array([[3.0, 4.0]], "float32")
        >>> nerve.layers.Average()([a, b])
        array([[2., 3.]], dtype=float32)
    """

    def _merge_calls(self, lowering, y, xs):
        return _chain(np.add, y, xs) + [(np.multiply, (y, 1.0 / len(xs), y))]

    def _input_gradient(self, lowering, calls, index, xs, y, dy, shared):
        term = lowering.empty_like(dy)
        calls.append((np.multiply, (dy, 1.0 / len(xs), term)))
        return term


class _Extremum(_Merge):
    """The gradient goes to the inputs equal to the result, split evenly between ties."""

    ufunc: Any = None  # set by each subclass

    def _merge_calls(self, lowering, y, xs):
        # out= by keyword: NumPy deprecates a positional out for maximum and minimum.
        into = functools.partial(self.ufunc, out=y)
        return [(into, (xs[0], xs[1]))] + [(into, (y, x)) for x in xs[2:]]

    def _input_gradient(self, lowering, calls, index, xs, y, dy, shared):
        if "ties" not in shared:  # how many inputs reach the result, once per pass
            shared["ties"] = lowering.empty_like(dy)
            calls.append((_count_ties, (shared["ties"], xs, y)))
        term = lowering.empty_like(dy)
        calls.append((_tied_share, (term, dy, xs[index], y, shared["ties"])))
        return term


def _count_ties(count, xs, y):
    count.fill(0)
    for x in xs:
        count += x == y


def _tied_share(out, dy, x, y, count):
    np.equal(x, y, out=out)
    np.multiply(out, dy, out=out)
    np.divide(out, count, out=out)


@_with_shared_doc
class Maximum(_Extremum):
    """The element-wise maximum of its inputs (ties share the gradient).

    {shared}

    Example:
        >>> import numpy as np, nerve
        >>> a, b = np.array([[1.0, 2.0]], "float32"), np.array([[3.0, 4.0]], "float32")
        >>> nerve.layers.Maximum()([a, b])
        array([[3., 4.]], dtype=float32)
    """

    ufunc = np.maximum


@_with_shared_doc
class Minimum(_Extremum):
    """The element-wise minimum of its inputs (ties share the gradient).

    {shared}

    Example:
        >>> import numpy as np, nerve
        >>> a, b = np.array([[1.0, 2.0]], "float32"), np.array([[3.0, 4.0]], "float32")
        >>> nerve.layers.Minimum()([a, b])
        array([[1., 2.]], dtype=float32)
    """

    ufunc = np.minimum


class Concatenate(Layer):
    """Joins a list of tensors along `axis`.

    Input: a list of two or more tensors of the same rank and sizes but along axis. Output
    shape: theirs, with the sum of their sizes along axis.

    Args:
        axis: Int, default -1; not the batch axis 0.
        **kwargs: The base Layer's arguments (name, trainable, dtype).

    Raises:
        ValueError: When axis is not an int; when called, on fewer than two tensors, if
            axis is not a feature axis, or the other sizes differ.

    Example:
        >>> import numpy as np, nerve
        >>> a, b = np.ones((2, 3), "float32"), np.zeros((2, 1), "float32")
        >>> nerve.layers.Concatenate()([a, b]).shape
        (2, 4)
    """

    def __init__(self, axis: int = -1, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if not isinstance(axis, (int, np.integer)):
            raise ValueError(f"axis: expected an int, received {axis!r}")
        self.axis = int(axis)

    def _axis(self, rank):
        axis = self.axis + rank if self.axis < 0 else self.axis
        if not 1 <= axis < rank:
            raise ValueError(f"{self.name}: axis {self.axis} is not a feature axis of inputs "
                             f"of rank {rank}")
        return axis

    def compute_output_shape(self, input_shape: ShapeLike) -> Shape:
        shapes = _input_shapes(self, input_shape)
        rank = len(shapes[0])
        axis = self._axis(rank)
        if any(len(s) != rank or s[:axis] + s[axis + 1:] != shapes[0][:axis] + shapes[0][axis + 1:]
               for s in shapes):
            raise ValueError(f"{self.name}: inputs must match in every dimension but axis "
                             f"{self.axis}, received shapes {' and '.join(map(str, shapes))}")
        return shapes[0][:axis] + (sum(s[axis] for s in shapes),) + shapes[0][axis + 1:]

    def _forward(self, lowering, xs, training):
        axis = self._axis(xs[0].ndim)
        shape = list(xs[0].shape)
        shape[axis] = sum(x.shape[axis] for x in xs)
        y = lowering.empty(shape, xs[0].dtype)
        return y, [(_concatenate, (xs, axis, y))], (xs, axis)

    def _backward(self, lowering, context, dy, need_dx, fused):
        xs, axis = context
        calls, dxs, start = [], [], 0
        for x, wanted in zip(xs, need_dx):
            stop = start + x.shape[axis]
            if wanted:
                dx = lowering.empty_like(x)
                part = dy[(slice(None),) * axis + (slice(start, stop),)]
                calls.append((np.copyto, (dx, part)))
            dxs.append(dx if wanted else None)
            start = stop
        return dxs, calls

    def get_config(self) -> Dict[str, Any]:
        return {**super().get_config(), "axis": self.axis}


def _concatenate(xs, axis, out):
    np.concatenate(xs, axis=axis, out=out)


class Dot(Layer):
    """The dot product of two tensors over an axis of each, per sample.

    With normalize=True the inputs are first L2-normalised along those axes (the cosine
    similarity). Input: a list of two tensors with equal sizes along the axes. Output shape:
    (batch,) + the first's other axes + the second's other axes; (batch, n) . (batch, n)
    gives (batch, 1), as in Keras.

    Args:
        axes: Int, or a pair of ints (one per input); not the batch axis 0.
        normalize: bool, default False.
        **kwargs: The base Layer's arguments (name, trainable, dtype).

    Raises:
        ValueError: When axes is not an int or a pair of ints; when called, on other than
            two tensors, if an axis is not a feature axis, or their sizes differ.

    Example:
        >>> import numpy as np, nerve
        >>> a = np.array([[1.0, 2.0]], "float32")
        >>> nerve.layers.Dot(axes=1)([a, a])
        array([[5.]], dtype=float32)
    """

    def __init__(self, axes: Union[int, Sequence[int]], normalize: bool = False,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        pair = (axes, axes) if isinstance(axes, (int, np.integer)) else tuple(axes)
        if len(pair) != 2 or not all(isinstance(a, (int, np.integer)) for a in pair):
            raise ValueError(f"axes: expected an int or a pair of ints, received {axes!r}")
        self.axes, self.normalize = (int(pair[0]), int(pair[1])), bool(normalize)

    def _plan(self, shapes):
        """(einsum spec, contracted axes, output shape without the batch)."""
        shapes = _input_shapes(self, shapes, 2)
        axes = [a + len(s) if a < 0 else a for a, s in zip(self.axes, shapes)]
        for axis, shape in zip(axes, shapes):
            if not 1 <= axis < len(shape):
                raise ValueError(f"{self.name}: axes {self.axes} do not name feature axes of "
                                 f"inputs of shapes {shapes[0]} and {shapes[1]}")
        if shapes[0][axes[0]] != shapes[1][axes[1]]:
            raise ValueError(f"{self.name}: the dot product needs equal sizes on axes "
                             f"{self.axes}, received shapes {shapes[0]} and {shapes[1]}")
        letters = iter("abcdefghijklmnopqrstuvwxy")
        x = ["z"] + [next(letters) for _ in shapes[0][1:]]
        y = ["z"] + [next(letters) for _ in shapes[1][1:]]
        y[axes[1]] = x[axes[0]]
        out = [c for c in x if c != x[axes[0]]] + [c for c in y[1:] if c != y[axes[1]]]
        sizes = dict(zip(x, shapes[0])) | dict(zip(y, shapes[1]))
        spec = ("".join(x), "".join(y), "".join(out))
        return spec, axes, tuple(sizes[c] for c in out[1:]) or (1,)

    def compute_output_shape(self, input_shape: ShapeLike) -> Shape:
        return (None,) + self._plan(input_shape)[2]

    def _forward(self, lowering, xs, training):
        (sx, sy, so), axes, shape = self._plan([(None,) + x.shape[1:] for x in xs])
        batch, dtype = xs[0].shape[0], xs[0].dtype
        y = lowering.empty((batch,) + shape, dtype)
        calls, operands = [], list(xs)
        if self.normalize:
            operands = [lowering.empty_like(x) for x in xs]
            norms = [lowering.empty(_keep(x.shape, a), dtype) for x, a in zip(xs, axes)]
            calls += [(_l2_normalize, (n, x, a, o)) for n, x, a, o in zip(norms, xs, axes, operands)]
        result = y.reshape(batch) if len(so) == 1 else y
        calls.append((_einsum, (f"{sx},{sy}->{so}", operands[0], operands[1], result)))
        context = (xs, operands, norms if self.normalize else None, axes, (sx, sy, so))
        return y, calls, context

    def _backward(self, lowering, context, dy, need_dx, fused):
        xs, operands, norms, axes, (sx, sy, so) = context
        flat_dy = dy.reshape(dy.shape[0]) if len(so) == 1 else dy
        calls, dxs = [], []
        for index, wanted in enumerate(need_dx):
            if not wanted:
                dxs.append(None)
                continue
            dx = lowering.empty_like(xs[index])
            other, own = (operands[1], sx) if index == 0 else (operands[0], sy)
            spec = f"{so},{sy if index == 0 else sx}->{own}"
            calls.append((_einsum, (spec, flat_dy, other, dx)))
            if norms is not None:
                calls.append((_l2_normalize_backward, (dx, operands[index], norms[index],
                                                       axes[index])))
            dxs.append(dx)
        return dxs, calls

    def get_config(self) -> Dict[str, Any]:
        return {**super().get_config(), "axes": list(self.axes), "normalize": self.normalize}


def _keep(shape, axis):
    return shape[:axis] + (1,) + shape[axis + 1:]


def _einsum(spec, a, b, out):
    np.einsum(spec, a, b, out=out)


def _l2_normalize(norm, x, axis, out):
    """out = x / max(|x|, 1e-6) along axis (Keras: x / sqrt(max(sum(x^2), 1e-12)))."""
    np.sum(np.square(x), axis=axis, keepdims=True, out=norm)
    np.maximum(norm, 1e-12, out=norm)
    np.sqrt(norm, out=norm)
    np.divide(x, norm, out=out)


def _l2_normalize_backward(grad, normalized, norm, axis):
    """grad (of the normalised x) becomes the gradient of x, in place."""
    projection = np.sum(grad * normalized, axis=axis, keepdims=True)
    grad -= normalized * projection
    grad /= norm


add, subtract, multiply, average = map(_functional, (Add, Subtract, Multiply, Average))
maximum, minimum, concatenate = map(_functional, (Maximum, Minimum, Concatenate))


def dot(inputs: Sequence[Any], axes: Union[int, Sequence[int]] = -1, **kwargs: Any) -> Any:
    """The functional form of Dot: Dot(axes, **kwargs)(inputs).

    Args:
        inputs: A list of two tensors (symbolic, or arrays to compute at once).
        axes: Int or pair of ints, default -1.
        **kwargs: Dot's other arguments (normalize, name, ...).

    Returns:
        The dot product (an array for arrays).

    Raises:
        ValueError: As Dot, for bad axes or inputs.

    Example:
        >>> import nerve
        >>> x = nerve.layers.Input(shape=(3,))
        >>> nerve.layers.dot([x, x], axes=1).shape
        (None, 1)
    """
    return Dot(axes=axes, **kwargs)(inputs)
