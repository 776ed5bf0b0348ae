"""Normalization layers (keras.layers): BatchNormalization and LayerNormalization.

BatchNormalization normalizes each channel (the `axis` entry, last by default) with the batch's
mean and variance in training and with its moving statistics otherwise; after each training
step moving = moving * momentum + batch * (1 - momentum), as Keras 3. A layer with
trainable=False runs in inference mode even in fit() (Keras 3, for fine-tuning). Weights, in
Keras order: gamma, beta (trainable), moving_mean, moving_variance (not trainable).
LayerNormalization normalizes each sample over its trailing `axis` entries.
"""
import math
import numbers
from typing import Any, Dict, List, Optional, Union

import numpy as np

from .. import constraints, initializers, regularizers, utils
from ..initializers import Initializer
from ..variables import Variable
from .layer import Layer, Shape, ShapeLike

__all__ = ["BatchNormalization", "LayerNormalization"]


def _positive_number(value, name):
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not (
            math.isfinite(value) and value > 0):
        raise ValueError(f"{name}: expected a finite number > 0, received {value!r}")
    return float(value)


def _optional_config(obj):
    return None if obj is None else utils.serialize(obj)


class _Normalization(Layer):
    """What both layers share: epsilon, center/scale, and gamma/beta with their
    initializers, regularizers and constraints."""

    def __init__(self, epsilon, center, scale, beta_initializer, gamma_initializer,
                 beta_regularizer, gamma_regularizer, beta_constraint, gamma_constraint,
                 **kwargs):
        super().__init__(**kwargs)
        self.epsilon = _positive_number(epsilon, "epsilon")
        self.center, self.scale = bool(center), bool(scale)
        self.beta_initializer = initializers.get(beta_initializer)
        self.gamma_initializer = initializers.get(gamma_initializer)
        self.beta_regularizer = regularizers.get(beta_regularizer)
        self.gamma_regularizer = regularizers.get(gamma_regularizer)
        self.beta_constraint = constraints.get(beta_constraint)
        self.gamma_constraint = constraints.get(gamma_constraint)
        self._gamma = self._beta = None

    @property
    def gamma(self) -> Optional[np.ndarray]:
        """The scale's array, None before build or with scale=False.

        Returns:
            The array itself (a view into the model's parameters in a model).

        Example:
            >>> import nerve
            >>> layer = nerve.layers.LayerNormalization()
            >>> layer.build((None, 3))
            >>> layer.gamma
            array([1., 1., 1.], dtype=float32)
        """
        return None if self._gamma is None else self._gamma.value

    @property
    def beta(self) -> Optional[np.ndarray]:
        """The offset's array, None before build or with center=False.

        Returns:
            The array itself (a view into the model's parameters in a model).

        Example:
            >>> import nerve
            >>> layer = nerve.layers.LayerNormalization(center=False)
            >>> layer.build((None, 3))
            >>> layer.beta is None
            True
        """
        return None if self._beta is None else self._beta.value

    def _add_scale_and_offset(self, shape):
        if self.scale:
            self._gamma = self.add_weight(shape, self.gamma_initializer, name="gamma",
                                          regularizer=self.gamma_regularizer,
                                          constraint=self.gamma_constraint)
        if self.center:
            self._beta = self.add_weight(shape, self.beta_initializer, name="beta",
                                         regularizer=self.beta_regularizer,
                                         constraint=self.beta_constraint)

    def _flat(self, variable):
        """A weight's value as the (features,) vector the kernels take, or None."""
        return None if variable is None else variable.value.reshape(-1)

    def _weight_grads(self, lowering):
        """(dgamma, dbeta, accumulate) for the kernels; None for absent or frozen weights."""
        if not self.trainable:
            return None, None, False
        grads = [lowering.grad(v) if v is not None else (None, False)
                 for v in (self._gamma, self._beta)]
        return (None if grads[0][0] is None else grads[0][0].reshape(-1),
                None if grads[1][0] is None else grads[1][0].reshape(-1),
                grads[0][1] or grads[1][1])

    def get_config(self) -> Dict[str, Any]:
        return {**super().get_config(), "epsilon": self.epsilon, "center": self.center,
                "scale": self.scale,
                "beta_initializer": utils.serialize(self.beta_initializer),
                "gamma_initializer": utils.serialize(self.gamma_initializer),
                "beta_regularizer": _optional_config(self.beta_regularizer),
                "gamma_regularizer": _optional_config(self.gamma_regularizer),
                "beta_constraint": _optional_config(self.beta_constraint),
                "gamma_constraint": _optional_config(self.gamma_constraint)}


class BatchNormalization(_Normalization):
    """y = (x - mean) / sqrt(variance + epsilon) * gamma + beta, per channel.

    In training the mean and (biased) variance are the batch's, and afterwards moving =
    moving * momentum + batch * (1 - momentum); in inference (and always when trainable is
    False, as Keras 3) the moving ones. Input shape: any rank >= 2. Output shape: the
    input's. Weights: gamma, beta (trainable), moving_mean, moving_variance, each
    (channels,).

    Args:
        axis: Int, default -1: the channel axis (not the batch axis 0).
        momentum: Float in [0, 1], default 0.99.
        epsilon: Finite float > 0, default 1e-3.
        center: bool, default True: learn the offset beta.
        scale: bool, default True: learn the scale gamma.
        beta_initializer: Default "zeros".
        gamma_initializer: Default "ones".
        moving_mean_initializer: Default "zeros".
        moving_variance_initializer: Default "ones".
        beta_regularizer: Default None.
        gamma_regularizer: Default None.
        beta_constraint: Default None.
        gamma_constraint: Default None.
        synchronized: Must be False (the default): nerve trains on one device.
        **kwargs: The base Layer's arguments (name, trainable, dtype, input_shape).

    Raises:
        TypeError: When axis is not an int.
        ValueError: When momentum is not in [0, 1], epsilon not a finite number > 0, or
            synchronized is true; when called, if axis is not a feature axis of the inputs
            or their channels differ from those it was built for.

    Example:
        >>> import numpy as np, nerve
        >>> layer = nerve.layers.BatchNormalization(epsilon=0.0001)
        >>> x = np.array([[1.0, 2.0], [3.0, 6.0]], "float32")
        >>> layer(x, training=True).round(3)
        array([[-1., -1.],
               [ 1.,  1.]], dtype=float32)
        >>> layer.moving_mean.round(3)
        array([0.02, 0.04], dtype=float32)
    """

    def __init__(self, axis: int = -1, momentum: float = 0.99, epsilon: float = 1e-3,
                 center: bool = True, scale: bool = True, beta_initializer: Any = "zeros",
                 gamma_initializer: Any = "ones", moving_mean_initializer: Any = "zeros",
                 moving_variance_initializer: Any = "ones", beta_regularizer: Any = None,
                 gamma_regularizer: Any = None, beta_constraint: Any = None,
                 gamma_constraint: Any = None, synchronized: bool = False,
                 **kwargs: Any) -> None:
        super().__init__(epsilon, center, scale, beta_initializer, gamma_initializer,
                         beta_regularizer, gamma_regularizer, beta_constraint,
                         gamma_constraint, **kwargs)
        if isinstance(axis, bool) or not isinstance(axis, numbers.Integral):
            raise TypeError(f"axis: expected an int, received {axis!r}")
        if isinstance(momentum, bool) or not isinstance(momentum, numbers.Real) or not (
                0 <= momentum <= 1):
            raise ValueError(f"momentum: expected a number in [0, 1], received {momentum!r}")
        if synchronized:
            raise ValueError("synchronized: expected False (nerve trains on one device; Keras "
                             "accepts True only on TensorFlow)")
        self.axis: int = int(axis)
        self.momentum: float = float(momentum)
        self.moving_mean_initializer: Initializer = initializers.get(moving_mean_initializer)
        self.moving_variance_initializer: Initializer = initializers.get(
            moving_variance_initializer)
        self._moving_mean: Optional[Variable] = None
        self._moving_variance: Optional[Variable] = None

    @property
    def moving_mean(self) -> Optional[np.ndarray]:
        """The moving mean's array (channels,), None before build.

        Returns:
            The array itself, updated after each training step.

        Example:
            >>> import nerve
            >>> layer = nerve.layers.BatchNormalization()
            >>> layer.build((None, 2))
            >>> layer.moving_mean
            array([0., 0.], dtype=float32)
        """
        return None if self._moving_mean is None else self._moving_mean.value

    @property
    def moving_variance(self) -> Optional[np.ndarray]:
        """The moving variance's array (channels,), None before build.

        Returns:
            The array itself: after a training step on a batch of variance v, it is
            moving_variance * momentum + v * (1 - momentum).

        Example:
            >>> import numpy as np, nerve
            >>> layer = nerve.layers.BatchNormalization(momentum=0.5)
            >>> _ = layer(np.array([[0.0], [4.0]], "float32"), training=True)
            >>> layer.moving_variance
            array([2.5], dtype=float32)
        """
        return None if self._moving_variance is None else self._moving_variance.value

    def _channel_axis(self, rank):
        axis = self.axis + rank if self.axis < 0 else self.axis
        if not 1 <= axis < rank:
            raise ValueError(f"{self.name}: axis {self.axis} is not a feature axis of inputs of "
                             f"rank {rank} (the batch axis 0 cannot be normalized)")
        return axis

    def compute_output_shape(self, input_shape: ShapeLike) -> Shape:
        self._channel_axis(len(input_shape))
        return tuple(input_shape)

    def _check_input_shapes(self, shapes):
        shape = shapes[0]
        axis = self._channel_axis(len(shape))
        if self._moving_mean is not None and shape[axis] != self._moving_mean.shape[0]:
            raise ValueError(f"input: layer {self.name!r} normalizes "
                             f"{self._moving_mean.shape[0]} channels on axis {self.axis}, "
                             f"received {shape[axis]}")

    def build(self, input_shape: ShapeLike) -> None:
        shape = (input_shape[self._channel_axis(len(input_shape))],)
        self._add_scale_and_offset(shape)
        self._moving_mean = self.add_weight(shape, self.moving_mean_initializer,
                                            trainable=False, name="moving_mean")
        self._moving_variance = self.add_weight(shape, self.moving_variance_initializer,
                                                trainable=False, name="moving_variance")
        self.built = True

    def get_config(self) -> Dict[str, Any]:
        return {**super().get_config(), "axis": self.axis, "momentum": self.momentum,
                "moving_mean_initializer": utils.serialize(self.moving_mean_initializer),
                "moving_variance_initializer": utils.serialize(
                    self.moving_variance_initializer),
                "synchronized": False}

    def _forward(self, lowering, x, training):
        axis = self._channel_axis(x.ndim)
        x3 = x.reshape(math.prod(x.shape[:axis]), x.shape[axis], math.prod(x.shape[axis + 1:]))
        y = lowering.empty_like(x)
        gamma, beta = self._flat(self._gamma), self._flat(self._beta)
        backend = lowering.backend
        if not (training and self.trainable):  # a frozen layer normalizes as in inference
            call = (backend.batch_norm_inference, (y.reshape(x3.shape), x3, self.moving_mean,
                                                   self.moving_variance, gamma, beta,
                                                   self.epsilon))
            return y, [call], (x3, None, None)
        mean, variance = (lowering.empty((x3.shape[1],), x.dtype) for _ in range(2))
        calls = [(backend.batch_norm_forward, (y.reshape(x3.shape), mean, variance, x3, gamma,
                                               beta, self.epsilon))]
        update = (self._update_moving_statistics(mean, variance), ())
        # In a training plan the update waits for the backward pass (lowering.effects), which
        # reads the batch statistics; elsewhere it follows the forward call.
        (calls if lowering.effects is None else lowering.effects).append(update)
        return y, calls, (x3, mean, variance)

    def _update_moving_statistics(self, mean, variance):
        momentum = self.momentum
        pairs = ((self.moving_mean, mean), (self.moving_variance, variance))

        def update():
            for moving, batch in pairs:  # Keras 3: moving * momentum + batch * (1 - momentum)
                moving[...] = moving * momentum + batch * (1.0 - momentum)
        return update

    def _backward(self, lowering, context, dy, need_dx, fused):
        x3, mean, variance = context
        dgamma, dbeta, accumulate = self._weight_grads(lowering)
        if not need_dx and dgamma is None and dbeta is None:
            return None, []
        dx = lowering.empty_like(dy) if need_dx else None
        gamma = self._flat(self._gamma)
        if mean is None:
            function, mean, variance = (lowering.backend.batch_norm_inference_backward,
                                        self.moving_mean, self.moving_variance)
        else:
            function = lowering.backend.batch_norm_backward
        call = (function, (None if dx is None else dx.reshape(x3.shape), dgamma, dbeta,
                           dy.reshape(x3.shape), x3, mean, variance, gamma, self.epsilon,
                           accumulate))
        return dx, [call]


class LayerNormalization(_Normalization):
    """y = (x - mean) / sqrt(variance + epsilon) * gamma + beta, per sample.

    The mean and variance are each sample's over `axis`; gamma and beta have those axes'
    shape. Input shape: any rank >= 2. Output shape: the input's.

    Args:
        axis: Int or list of ints, default -1: the normalized axes, which must be the last
            ones (nerve normalizes trailing axes only).
        epsilon: Finite float > 0, default 1e-3.
        center: bool, default True: learn the offset beta.
        scale: bool, default True: learn the scale gamma.
        rms_scaling: Must be False (the default): Keras's RMS scaling is not implemented.
        beta_initializer: Default "zeros".
        gamma_initializer: Default "ones".
        beta_regularizer: Default None.
        gamma_regularizer: Default None.
        beta_constraint: Default None.
        gamma_constraint: Default None.
        **kwargs: The base Layer's arguments (name, trainable, dtype, input_shape).

    Raises:
        TypeError: When axis is not an int or a non-empty list of ints.
        ValueError: When epsilon is not a finite number > 0 or rms_scaling is true; when
            called, if axis does not name trailing feature axes or their sizes differ from
            those it was built for.

    Example:
        >>> import numpy as np, nerve
        >>> layer = nerve.layers.LayerNormalization(epsilon=0.0001)
        >>> layer(np.array([[1.0, 3.0], [5.0, 5.0]], "float32")).round(3)
        array([[-1.,  1.],
               [ 0.,  0.]], dtype=float32)
    """

    def __init__(self, axis: Union[int, List[int]] = -1, epsilon: float = 1e-3,
                 center: bool = True, scale: bool = True, rms_scaling: bool = False,
                 beta_initializer: Any = "zeros", gamma_initializer: Any = "ones",
                 beta_regularizer: Any = None, gamma_regularizer: Any = None,
                 beta_constraint: Any = None, gamma_constraint: Any = None,
                 **kwargs: Any) -> None:
        super().__init__(epsilon, center, scale, beta_initializer, gamma_initializer,
                         beta_regularizer, gamma_regularizer, beta_constraint,
                         gamma_constraint, **kwargs)
        axes = list(axis) if isinstance(axis, (list, tuple)) else [axis]
        if not axes or any(isinstance(a, bool) or not isinstance(a, numbers.Integral)
                           for a in axes):
            raise TypeError(f"axis: expected an int or a list of ints, received {axis!r}")
        if rms_scaling:
            raise ValueError("rms_scaling: expected False (nerve does not implement Keras's "
                             "RMS scaling)")
        self.axis = int(axis) if not isinstance(axis, (list, tuple)) else [int(a) for a in axes]
        self._axes = [int(a) for a in axes]

    def _feature_count(self, shape):
        """How many trailing axes are normalized; ValueError unless they are trailing ones."""
        rank = len(shape)
        axes = sorted(a + rank if a < 0 else a for a in self._axes)
        if axes != list(range(rank - len(axes), rank)) or axes[0] < 1:
            raise ValueError(f"{self.name}: axis {self.axis} must name the last axes of inputs "
                             f"of rank {rank} (not the batch axis); nerve normalizes trailing "
                             f"axes only")
        return len(axes)

    def compute_output_shape(self, input_shape: ShapeLike) -> Shape:
        self._feature_count(input_shape)
        return tuple(input_shape)

    def _check_input_shapes(self, shapes):
        count = self._feature_count(shapes[0])
        weight = self._gamma or self._beta
        if weight is not None and tuple(shapes[0][-count:]) != weight.shape:
            raise ValueError(f"input: layer {self.name!r} normalizes axes of shape "
                             f"{weight.shape}, received {tuple(shapes[0][-count:])}")

    def build(self, input_shape: ShapeLike) -> None:
        count = self._feature_count(input_shape)
        self._add_scale_and_offset(tuple(input_shape[-count:]))
        self.built = True

    def get_config(self) -> Dict[str, Any]:
        return {**super().get_config(), "axis": self.axis, "rms_scaling": False}

    def _forward(self, lowering, x, training):
        count = self._feature_count(x.shape)
        split = x.ndim - count
        x2 = x.reshape(math.prod(x.shape[:split]), math.prod(x.shape[split:]))
        y = lowering.empty_like(x)
        mean, inv_std = (lowering.empty((x2.shape[0],), x.dtype) for _ in range(2))
        call = (lowering.backend.layer_norm_forward,
                (y.reshape(x2.shape), mean, inv_std, x2, self._flat(self._gamma),
                 self._flat(self._beta), self.epsilon))
        return y, [call], (x2, mean, inv_std)

    def _backward(self, lowering, context, dy, need_dx, fused):
        x2, mean, inv_std = context
        dgamma, dbeta, accumulate = self._weight_grads(lowering)
        if not need_dx and dgamma is None and dbeta is None:
            return None, []
        dx = lowering.empty_like(dy) if need_dx else None
        call = (lowering.backend.layer_norm_backward,
                (None if dx is None else dx.reshape(x2.shape), dgamma, dbeta,
                 dy.reshape(x2.shape), x2, mean, inv_std, self._flat(self._gamma), accumulate))
        return dx, [call]
