"""Activation layers (keras.layers): ReLU, LeakyReLU, ELU, Softmax and PReLU.

Where the backend's activation kernels compute the function (relu, leaky_relu, elu, softmax
over the last axis) the layer runs them; the other cases (ReLU with a cap or a threshold,
softmax over other axes, PReLU's learnt slopes) are NumPy operations writing into the plan's
buffers.
"""
import numbers
import warnings
from typing import Any, Dict, List, Optional, Tuple, Union

import numpy as np

from .. import constraints, initializers, regularizers, utils
from .core import KernelActivation
from ..variables import Variable
from .layer import Layer, Shape, ShapeLike

__all__ = ["ReLU", "LeakyReLU", "ELU", "Softmax", "PReLU"]


def _non_negative(value, name, layer, allow_none=False):
    """A finite float >= 0; with allow_none (a cap), None or an infinity cap nothing: None."""
    if allow_none and (value is None or value == float("inf")):
        return None
    if not isinstance(value, numbers.Real) or isinstance(value, bool) \
            or not 0 <= value < float("inf"):
        expected = "None or a number >= 0" if allow_none else "a number >= 0 and finite"
        raise ValueError(f"{layer}: {name} expected {expected}, received {value!r}")
    return float(value)


class ReLU(KernelActivation):
    """Rectified linear unit, with Keras's cap, slope and threshold.

    y = max_value where x >= max_value, x where threshold < x < max_value, and
    negative_slope * (x - threshold) elsewhere. Input shape: any. Output shape: the input's.

    Args:
        max_value: Number >= 0 or None, default None (no cap; an infinity is None too).
        negative_slope: Finite number >= 0, default 0.0.
        threshold: Finite number >= 0, default 0.0.
        **kwargs: The base Layer's arguments (name, trainable, dtype, input_shape).

    Raises:
        ValueError: When an argument is negative, not a number, or (but max_value)
            infinite.

    Example:
        >>> import numpy as np, nerve
        >>> nerve.layers.ReLU(max_value=2.0)(np.array([[0.5, 1.0, 5.0]], "float32"))
        array([[0.5, 1. , 2. ]], dtype=float32)
    """

    def __init__(self, max_value: Optional[float] = None, negative_slope: float = 0.0,
                 threshold: float = 0.0, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.max_value = _non_negative(max_value, "max_value", "ReLU", allow_none=True)
        self.negative_slope = _non_negative(negative_slope, "negative_slope", "ReLU")
        self.threshold = _non_negative(threshold, "threshold", "ReLU")
        if self.max_value is None and self.threshold == 0:
            self._activation_name = "leaky_relu" if self.negative_slope else "relu"
            self._alpha = self.negative_slope
        else:
            self._activation_name = None  # no kernel: NumPy below

    def get_config(self) -> Dict[str, Any]:
        return {**super().get_config(), "max_value": self.max_value,
                "negative_slope": self.negative_slope, "threshold": self.threshold}

    def _forward(self, lowering, x, training):
        if self._activation_name is not None:
            return super()._forward(lowering, x, training)
        y, below = lowering.empty_like(x), lowering.empty(x.shape, np.bool_)
        cap, slope, threshold = self.max_value, self.negative_slope, self.threshold

        def relu():
            np.less_equal(x, threshold, out=below)
            np.copyto(y, x)
            if cap is not None:
                np.minimum(y, cap, out=y)
            np.subtract(x, threshold, out=y, where=below)
            np.multiply(y, slope, out=y, where=below)
        return y, [(relu, ())], (x, below)

    def _backward(self, lowering, context, dy, need_dx, fused):
        if self._activation_name is not None or not need_dx:
            return super()._backward(lowering, context, dy, need_dx, fused)
        x, below = context
        factor = lowering.empty_like(x)
        cap, slope = self.max_value, self.negative_slope

        def relu_grad():
            # 1 between the threshold and the cap, 0 above the cap, the slope below.
            if cap is None:
                factor.fill(1.0)
            else:
                np.less(x, cap, out=factor)
            np.copyto(factor, slope, where=below)
            np.multiply(dy, factor, out=dy)
        return dy, [(relu_grad, ())]


class LeakyReLU(KernelActivation):
    """x where x >= 0, negative_slope * x elsewhere.

    Input shape: any. Output shape: the input's.

    Args:
        negative_slope: Finite number >= 0, default 0.3.
        **kwargs: The base Layer's arguments (name, trainable, dtype, input_shape);
            alpha= is the deprecated name of negative_slope (a DeprecationWarning).

    Raises:
        ValueError: When negative_slope is negative, infinite or not a number.

    Example:
        >>> import numpy as np, nerve
        >>> nerve.layers.LeakyReLU(0.5)(np.array([[-2.0, 3.0]], "float32"))
        array([[-1.,  3.]], dtype=float32)
    """

    def __init__(self, negative_slope: float = 0.3, **kwargs: Any) -> None:
        if "alpha" in kwargs:
            negative_slope = kwargs.pop("alpha")
            warnings.warn("LeakyReLU: the argument `alpha` is deprecated; use `negative_slope`",
                          DeprecationWarning, stacklevel=2)
        super().__init__(**kwargs)
        self.negative_slope = _non_negative(negative_slope, "negative_slope", "LeakyReLU")
        self._activation_name, self._alpha = "leaky_relu", self.negative_slope

    def get_config(self) -> Dict[str, Any]:
        return {**super().get_config(), "negative_slope": self.negative_slope}


class ELU(KernelActivation):
    """Exponential linear unit: x where x > 0, alpha * (exp(x) - 1) elsewhere.

    Input shape: any. Output shape: the input's.

    Args:
        alpha: Finite number, default 1.0.
        **kwargs: The base Layer's arguments (name, trainable, dtype, input_shape).

    Raises:
        ValueError: When alpha is not a finite number.

    Example:
        >>> import numpy as np, nerve
        >>> nerve.layers.ELU()(np.array([[-1.0, 2.0]], "float32")).round(3)
        array([[-0.632,  2.   ]], dtype=float32)
    """

    def __init__(self, alpha: float = 1.0, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if not isinstance(alpha, numbers.Real) or isinstance(alpha, bool):
            raise ValueError(f"ELU: alpha expected a number, received {alpha!r}")
        self.alpha: float = utils.finite_number(alpha, "ELU: alpha")
        self._activation_name, self._alpha = "elu", self.alpha

    def get_config(self) -> Dict[str, Any]:
        # Keras's ELU leaves alpha out of its config (so it reloads as 1.0): nerve keeps it.
        return {**super().get_config(), "alpha": self.alpha}


class Softmax(KernelActivation):
    """exp(x) / sum(exp(x)) over `axis`.

    Over the last axis alone it runs the softmax kernel, and a loss may fuse with it.
    Input shape: any. Output shape: the input's. Keras's mask argument of the call is not
    taken.

    Args:
        axis: Int or tuple of ints, default -1 (the batch axis is 0).
        **kwargs: The base Layer's arguments (name, trainable, dtype, input_shape).

    Raises:
        ValueError: When axis is not an int or a non-empty tuple of ints; when called, if
            it is out of range for the inputs.

    Example:
        >>> import numpy as np, nerve
        >>> nerve.layers.Softmax()(np.array([[0.0, 0.0]], "float32"))
        array([[0.5, 0.5]], dtype=float32)
    """

    def __init__(self, axis: Union[int, List[int], Tuple[int, ...]] = -1,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        axes = axis if isinstance(axis, (list, tuple)) else (axis,)
        if not axes or not all(isinstance(a, numbers.Integral) and not isinstance(a, bool)
                               for a in axes):
            raise ValueError(f"Softmax: axis expected an int or a tuple of ints, received "
                             f"{axis!r}")
        self.axis = [int(a) for a in axis] if isinstance(axis, (list, tuple)) else int(axis)
        self._axes = tuple(int(a) for a in axes)
        # Fused with a loss only when it is surely the last axis, whatever the rank.
        self._activation_name = "softmax" if self._axes == (-1,) else None

    def get_config(self) -> Dict[str, Any]:
        return {**super().get_config(), "axis": self.axis}

    def _resolved_axes(self, ndim):
        if not all(-ndim <= a < ndim for a in self._axes):
            raise ValueError(f"{self.name}: axis {self.axis} is out of range for inputs of "
                             f"rank {ndim}")
        return tuple(sorted({a % ndim for a in self._axes}))

    def compute_output_shape(self, input_shape: ShapeLike) -> Shape:
        self._resolved_axes(len(input_shape))
        return tuple(input_shape)

    def _forward(self, lowering, x, training):
        axes, y = self._resolved_axes(x.ndim), lowering.empty_like(x)
        if axes == (x.ndim - 1,):
            return y, [(lowering.backend.activation_forward, (y, x, "softmax", 0.0))], (x, y)
        reduced = lowering.empty(_reduced_shape(x.shape, axes), x.dtype)

        def softmax():
            np.max(x, axis=axes, keepdims=True, out=reduced)
            np.subtract(x, reduced, out=y)
            np.exp(y, out=y)
            np.sum(y, axis=axes, keepdims=True, out=reduced)
            np.divide(y, reduced, out=y)
        return y, [(softmax, ())], (x, y)

    def _backward(self, lowering, context, dy, need_dx, fused):
        if not need_dx or fused:
            return (dy if need_dx else None), []
        x, y = context
        axes = self._resolved_axes(x.ndim)
        if axes == (x.ndim - 1,):
            return dy, [(lowering.backend.activation_backward, (dy, dy, x, y, "softmax", 0.0))]
        product = lowering.empty_like(y)
        reduced = lowering.empty(_reduced_shape(x.shape, axes), x.dtype)

        def softmax_grad():
            # dx = y * (dy - sum(dy * y)) over the softmax axes
            np.multiply(dy, y, out=product)
            np.sum(product, axis=axes, keepdims=True, out=reduced)
            np.subtract(dy, reduced, out=dy)
            np.multiply(dy, y, out=dy)
        return dy, [(softmax_grad, ())]


def _reduced_shape(shape, axes):
    return tuple(1 if i in axes else d for i, d in enumerate(shape))


class PReLU(Layer):
    """Parametric ReLU: x where x >= 0, alpha * x elsewhere, with learnt slopes alpha.

    Input shape: (batch, ...). Output shape: the input's. Weights: alpha, of the input's
    shape without the batch, with 1 along shared_axes.

    Args:
        alpha_initializer: Default "Zeros".
        alpha_regularizer: Default None.
        alpha_constraint: Default None.
        shared_axes: Int or list of ints >= 1 (input axes, the batch axis is 0), default
            None: axes along which one slope is shared (as (1, 2) for images).
        **kwargs: The base Layer's arguments (name, trainable, dtype, input_shape).

    Raises:
        ValueError: When shared_axes holds something other than ints >= 1; when called,
            if it names axes beyond the inputs or the inputs differ from those it was
            built for.

    Example:
        >>> import numpy as np, nerve
        >>> layer = nerve.layers.PReLU(shared_axes=[1])
        >>> layer(np.array([[[-1.0, 2.0], [3.0, -4.0]]], "float32")).shape
        (1, 2, 2)
        >>> layer.alpha.shape
        (1, 2)
    """

    def __init__(self, alpha_initializer: Any = "Zeros", alpha_regularizer: Any = None,
                 alpha_constraint: Any = None,
                 shared_axes: Optional[Union[int, List[int]]] = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.alpha_initializer = initializers.get(alpha_initializer)
        self.alpha_regularizer = regularizers.get(alpha_regularizer)
        self.alpha_constraint = constraints.get(alpha_constraint)
        if shared_axes is not None:
            shared_axes = list(shared_axes) if isinstance(shared_axes, (list, tuple)) \
                else [shared_axes]
            if not all(isinstance(a, numbers.Integral) and not isinstance(a, bool) and a >= 1
                       for a in shared_axes):
                raise ValueError(f"PReLU: shared_axes expected ints >= 1 (input axes, the "
                                 f"batch axis is 0), received {shared_axes!r}")
            shared_axes = [int(a) for a in shared_axes]
        self.shared_axes = shared_axes
        self._alpha_variable: Optional[Variable] = None

    @property
    def alpha(self) -> Optional[np.ndarray]:
        """The slopes' array, None before build.

        Returns:
            The array itself (as Dense.kernel: a view into the model's parameters).

        Example:
            >>> import nerve
            >>> layer = nerve.layers.PReLU()
            >>> layer.build((None, 3))
            >>> layer.alpha
            array([0., 0., 0.], dtype=float32)
        """
        return None if self._alpha_variable is None else self._alpha_variable.value

    def _param_shape(self, input_shape):
        if len(input_shape) < 2:
            raise ValueError(f"{self.name}: PReLU takes inputs of shape (batch, ...), received "
                             f"{tuple(input_shape)}")
        shape = list(input_shape[1:])
        for axis in self.shared_axes or ():
            if axis >= len(input_shape):
                raise ValueError(f"{self.name}: shared_axes {self.shared_axes} name axes "
                                 f"beyond inputs of shape {tuple(input_shape)}")
            shape[axis - 1] = 1
        return tuple(shape)

    def compute_output_shape(self, input_shape: ShapeLike) -> Shape:
        self._param_shape(input_shape)
        return tuple(input_shape)

    def _check_input_shapes(self, shapes):
        alpha = self._alpha_variable
        if alpha is not None and self._param_shape(shapes[0]) != alpha.shape:
            raise ValueError(f"input: layer {self.name!r} was built for alpha of shape "
                             f"{alpha.shape}, received inputs of shape {shapes[0]}")

    def build(self, input_shape: ShapeLike) -> None:
        self._alpha_variable = self.add_weight(
            self._param_shape(input_shape), self.alpha_initializer,
            regularizer=self.alpha_regularizer, constraint=self.alpha_constraint, name="alpha")
        self.built = True

    def get_config(self) -> Dict[str, Any]:
        serialize = utils.serialize
        return {**super().get_config(),
                "alpha_initializer": serialize(self.alpha_initializer),
                "alpha_regularizer": self.alpha_regularizer and serialize(self.alpha_regularizer),
                "alpha_constraint": self.alpha_constraint and serialize(self.alpha_constraint),
                "shared_axes": self.shared_axes}

    def _forward(self, lowering, x, training):
        y, negative = lowering.empty_like(x), lowering.empty_like(x)
        alpha = self._alpha_variable.value

        def prelu():
            # y = x + (alpha - 1) * min(x, 0)
            np.minimum(x, 0, out=negative)
            np.multiply(negative, alpha, out=y)
            np.subtract(y, negative, out=y)
            np.add(y, x, out=y)
        return y, [(prelu, ())], (x, negative)

    def _backward(self, lowering, context, dy, need_dx, fused):
        x, negative = context
        alpha = self._alpha_variable.value
        calls = []
        if self._alpha_variable.trainable:
            dalpha, accumulate = lowering.grad(self._alpha_variable)
            product = lowering.empty_like(x)
            # d alpha = sum of dy * min(x, 0) over the batch and the shared axes
            axes = (0,) + tuple(self.shared_axes or ())
            summed = dalpha.reshape((1,) + dalpha.shape)
            total = lowering.empty(summed.shape, x.dtype) if accumulate else summed

            def alpha_grad():
                np.multiply(dy, negative, out=product)
                np.sum(product, axis=axes, keepdims=True, out=total)
                if accumulate:
                    np.add(summed, total, out=summed)
            calls.append((alpha_grad, ()))
        if not need_dx:
            return None, calls
        below = lowering.empty(x.shape, np.bool_)

        def prelu_grad():
            np.less(x, 0, out=below)
            np.multiply(dy, alpha, out=dy, where=below)
        calls.append((prelu_grad, ()))
        return dy, calls
