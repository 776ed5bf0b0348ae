"""Preprocessing layers (keras.layers): Normalization and Rescaling.

Normalization learns a mean and variance per feature with `adapt(data)` (kept as Keras keeps
them: non-trainable weights `mean`, `variance` and `count`, saved with the model), or takes them
as arguments; Rescaling multiplies by a scale and adds an offset.
"""
import itertools
import math
import numbers
from typing import Any, Dict, Optional, Sequence, Tuple, Union

import numpy as np

from .. import utils
from .._typing import ArrayLike
from .layer import Layer, Shape, ShapeLike

__all__ = ["Normalization", "Rescaling"]

_EPSILON = 1e-7  # Keras's backend.epsilon(): the smallest standard deviation divided by


def _axis_tuple(axis):
    axes = () if axis is None else (axis,) if isinstance(axis, numbers.Integral) else axis
    try:
        axes = tuple(axes)
    except TypeError:
        axes = None
    if axes is None or not all(isinstance(a, numbers.Integral) and not isinstance(a, bool)
                               for a in axes):
        raise ValueError(f"Normalization: axis expected an int, a tuple of ints or None, "
                         f"received {axis!r}")
    return tuple(int(a) for a in axes)


def _check_finite_numbers(layer, value, what):
    """`value` is a finite number or a list of them (NaN or an infinity would reach every
    output, and a saved model's configuration could not hold it)."""
    array = np.asarray(value)
    if array.dtype.kind not in "biuf" or isinstance(value, bool) or not np.isfinite(array).all():
        raise ValueError(f"{layer.name}: {what} expected a number or a list of numbers, all "
                         f"finite, received {value!r}")


def _batches(data):
    """The batches of `data` as float arrays: an array is one batch; a PyDataset, list, tuple
    or generator yields batches, each an array or an (x, y[, sample_weight]) tuple."""
    if isinstance(data, np.ndarray):
        return [data]
    if isinstance(data, utils.PyDataset):
        dataset = data
        data = (dataset[i] for i in range(dataset.num_batches))
    elif not hasattr(data, "__iter__") or isinstance(data, (str, bytes, dict)):
        raise TypeError(f"adapt: expected a NumPy array, a PyDataset or an iterable of batches, "
                        f"received {type(data).__name__}")
    return (np.asarray(b[0] if isinstance(b, tuple) else b) for b in data)


class Normalization(Layer):
    """Standardizes features: (x - mean) / max(sqrt(variance), 1e-7).

    With invert=True it undoes that: x * std + mean. The mean and variance come from
    adapt(data) (kept as non-trainable weights mean, variance and count, saved with the
    model) or from the arguments. Input shape: any, with known sizes along axis (arrays of
    ints are computed as floats; a symbolic integer tensor is a TypeError). Output shape:
    the input's.

    Args:
        axis: Int, tuple of ints or None, default -1: the axes that keep a mean and
            variance per index (the others are reduced); None: one for all values.
        mean: Number or array, default None: the mean, broadcast to the kept axes from the
            right (then variance too, and no adapt()).
        variance: Number or array of mean's shape, default None.
        invert: bool, default False.
        **kwargs: The base Layer's arguments (name, trainable, dtype, input_shape).

    Raises:
        ValueError: When axis is not an int, a tuple of ints or None; only one of mean and
            variance is given, either holds a non-finite value, their shapes differ, or mean
            has more axes than axis names; when called, before adapt() or without mean and
            variance, or on inputs whose kept sizes differ from those it was built for.

    Example:
        >>> import numpy as np, nerve
        >>> layer = nerve.layers.Normalization()
        >>> layer.adapt(np.array([[0.0, 10.0], [2.0, 30.0]], "float32"))
        >>> layer(np.array([[1.0, 20.0]], "float32"))
        array([[0., 0.]], dtype=float32)
        >>> nerve.layers.Normalization(mean=1.0, variance=4.0)(np.array([[5.0]], "float32"))
        array([[2.]], dtype=float32)
    """

    def __init__(self, axis: Optional[Union[int, Sequence[int]]] = -1,
                 mean: Optional[ArrayLike] = None, variance: Optional[ArrayLike] = None,
                 invert: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.axis = _axis_tuple(axis)
        if (mean is None) != (variance is None):
            raise ValueError(f"{self.name}: pass both mean and variance, or neither (and call "
                             f"adapt()); received mean={mean!r}, variance={variance!r}")
        if mean is not None and variance is not None:  # both or neither, as checked above
            for value, what in ((mean, "mean"), (variance, "variance")):
                _check_finite_numbers(self, value, what)
            if np.shape(mean) != np.shape(variance):
                raise ValueError(f"{self.name}: mean and variance must have the same shape, "
                                 f"received {np.shape(mean)} and {np.shape(variance)}")
            if np.ndim(mean) > len(self.axis):
                raise ValueError(f"{self.name}: mean has rank {np.ndim(mean)}, more than the "
                                 f"{len(self.axis)} axes {self.axis} it applies to")
        self.input_mean, self.input_variance = mean, variance
        self.invert = bool(invert)
        self._built_shape: Any = None  # a tuple once built
        # The adapted weights (Variables once built without mean and variance) ...
        self._mean: Any = None
        self._variance: Any = None
        self._count: Any = None
        # ... or (mean, variance) broadcast, when given as arguments.
        self._constants: Optional[Tuple[np.ndarray, np.ndarray]] = None

    # -- shapes
    def _kept_axes(self, input_shape):
        ndim = len(input_shape)
        if not all(-ndim <= a < ndim for a in self.axis):
            raise ValueError(f"{self.name}: axis {self.axis} is out of range for inputs of rank "
                             f"{ndim}, shape {tuple(input_shape)}")
        kept = tuple(sorted({a % ndim for a in self.axis}))
        if any(input_shape[a] is None for a in kept):
            raise ValueError(f"{self.name}: the axes kept by axis={self.axis} must have known "
                             f"sizes, received inputs of shape {tuple(input_shape)}")
        return kept

    def _broadcast_shape(self, input_shape):
        kept = self._kept_axes(input_shape)
        return tuple(d if i in kept else 1 for i, d in enumerate(input_shape))

    def compute_output_shape(self, input_shape: ShapeLike) -> Shape:
        self._kept_axes(input_shape)
        return tuple(input_shape)

    def _fits(self, shape):
        """Whether inputs of `shape` have the rank, and the sizes along the kept axes, that the
        layer was built for (the reduced axes may differ)."""
        built = self._built_shape
        return len(shape) == len(built) and \
            self._broadcast_shape(shape) == self._broadcast_shape(built)

    def _check_input_shapes(self, shapes):
        if self._built_shape is not None and not self._fits(tuple(shapes[0])):
            raise ValueError(f"input: layer {self.name!r} was built for inputs like "
                             f"{self._built_shape} (the sizes along axis {self.axis} fixed), "
                             f"received {tuple(shapes[0])}")

    def build(self, input_shape: ShapeLike) -> None:
        input_shape = tuple(input_shape)
        broadcast = self._broadcast_shape(input_shape)
        kept_shape = tuple(input_shape[a] for a in self._kept_axes(input_shape))
        self._built_shape = input_shape
        if self.input_mean is None:
            self._mean = self.add_weight(kept_shape, "zeros", trainable=False, name="mean")
            self._variance = self.add_weight(kept_shape, "ones", trainable=False,
                                             name="variance")
            # Keras keeps a count "for older saved models"; here it is the number of values
            # adapt() reduced per feature, and marks the layer as adapted.
            self._count = self.add_weight((), "zeros", trainable=False, name="count")
        else:
            self._constants = tuple(self._broadcast_constant(v, input_shape, broadcast)
                                    for v in (self.input_mean, self.input_variance))
        self.built = True

    def _broadcast_constant(self, value, input_shape, broadcast):
        array = np.asarray(value, dtype=self.dtype)
        expanded = [1] * len(input_shape)
        kept = self._kept_axes(input_shape)
        # The value's axes align with the kept ones from the right.
        for i in range(1, array.ndim + 1):
            expanded[kept[-i]] = array.shape[-i]
        try:
            return np.ascontiguousarray(np.broadcast_to(array.reshape(expanded), broadcast))
        except ValueError:
            raise ValueError(f"{self.name}: mean and variance of shape {array.shape} do not "
                             f"broadcast to the sizes {broadcast} of inputs of shape "
                             f"{input_shape} along axis {self.axis}") from None

    # -- the statistics
    @property
    def mean(self) -> Optional[np.ndarray]:
        """The mean, broadcastable against the inputs (None before build).

        Returns:
            An array of the inputs' rank, 1 along the reduced axes.

        Example:
            >>> import numpy as np, nerve
            >>> layer = nerve.layers.Normalization()
            >>> layer.adapt(np.array([[1.0, 2.0], [3.0, 6.0]]))
            >>> layer.mean
            array([[2., 4.]], dtype=float32)
        """
        return self._statistics()[0] if self.built else None

    @property
    def variance(self) -> Optional[np.ndarray]:
        """The variance, broadcastable against the inputs (None before build).

        Returns:
            An array of the inputs' rank, 1 along the reduced axes.

        Example:
            >>> import numpy as np, nerve
            >>> layer = nerve.layers.Normalization(mean=[0.0, 1.0], variance=[1.0, 4.0])
            >>> layer.build((None, 2))
            >>> layer.variance
            array([[1., 4.]], dtype=float32)
        """
        return self._statistics()[1] if self.built else None

    def _statistics(self):
        if self._constants is not None:
            return self._constants
        shape = self._broadcast_shape(self._built_shape)
        return self._mean.value.reshape(shape), self._variance.value.reshape(shape)

    def _ready(self):
        """Given mean and variance, adapted, or weights set (set_weights, a loaded model)."""
        if self._constants is not None:
            return True
        if not self.built:
            return False
        return bool(self._count.value > 0 or np.any(self._mean.value != 0)
                    or np.any(self._variance.value != 1))

    def adapt(self, data: Any) -> None:
        """Learn the mean and (biased) variance of `data` over every axis but `axis`.

        It builds the layer from the first batch if needed, and replaces what an earlier
        adapt() learnt.

        Args:
            data: A NumPy array, or batches: a PyDataset, a list or a generator of arrays or
                of (x, y[, sample_weight]) tuples (x is used).

        Raises:
            ValueError: When there are no batches or values, a batch's kept sizes differ
                from the first's, or mean and variance were given as arguments.
            TypeError: When data is none of those, or its values are not numbers.

        Example:
            >>> import numpy as np, nerve
            >>> layer = nerve.layers.Normalization(axis=None)
            >>> layer.adapt([np.array([[1.0], [3.0]]), np.array([[5.0], [7.0]])])
            >>> layer.mean.tolist(), layer.variance.tolist()
            ([[4.0]], [[5.0]])
        """
        batches = iter(_batches(data))
        first = next(batches, None)
        if first is None:
            raise ValueError(f"{self.name}: adapt() received no batches")
        if first.dtype.kind not in "biuf" or first.ndim == 0:
            raise TypeError(f"{self.name}: adapt() expected arrays of numbers with a batch "
                            f"dimension, received {first.dtype}{list(first.shape)}")
        if not self.built:
            self.build((None,) + first.shape[1:])
        if self._constants is not None:
            raise ValueError(f"{self.name}: adapt() learns mean and variance, but they were "
                             f"given as arguments")
        kept = self._kept_axes(self._built_shape)
        reduced = tuple(a for a in range(len(self._built_shape)) if a not in kept)
        total, mean, variance = 0, 0.0, 0.0
        for batch in itertools.chain([first], batches):
            if not self._fits((None,) + batch.shape[1:]):
                raise ValueError(f"{self.name}: adapt() expected batches like "
                                 f"{self._built_shape}, received shape {batch.shape}")
            count = math.prod(batch.shape[a] for a in reduced)
            if count == 0:
                continue
            batch_mean = batch.mean(axis=reduced, dtype=np.float64)
            batch_variance = batch.var(axis=reduced, dtype=np.float64)
            # Chan et al.'s pairwise update of the mean and the (biased) variance.
            weight = count / (total + count)
            new_mean = mean + (batch_mean - mean) * weight
            variance = ((variance + (mean - new_mean) ** 2) * (1 - weight)
                        + (batch_variance + (batch_mean - new_mean) ** 2) * weight)
            mean, total = new_mean, total + count
        if total == 0:
            raise ValueError(f"{self.name}: adapt() received no values")
        self._mean.assign(np.broadcast_to(mean, self._mean.shape))
        self._variance.assign(np.broadcast_to(variance, self._variance.shape))
        self._count.assign(total)

    # -- config
    def get_config(self) -> Dict[str, Any]:
        return {**super().get_config(), "axis": self.axis, "invert": self.invert,
                "mean": np.array(self.input_mean).tolist(),
                "variance": np.array(self.input_variance).tolist()}

    # -- lowering
    def _forward(self, lowering, x, training):
        if not self._ready():
            raise ValueError(f"{self.name}: Normalization has no mean and variance yet: call "
                             f"{self.name}.adapt(data) before using it, or pass mean= and "
                             f"variance= to the constructor")
        mean, variance = self._statistics()
        # Integer inputs (an int Input) normalize into floats, as in Keras.
        y, std = lowering.empty(x.shape, self.dtype), lowering.empty(mean.shape, self.dtype)
        invert = self.invert

        def normalize():
            np.sqrt(variance, out=std)
            np.maximum(std, _EPSILON, out=std)
            if invert:
                np.multiply(x, std, out=y)
                np.add(y, mean, out=y)
            else:
                np.subtract(x, mean, out=y)
                np.divide(y, std, out=y)
        return y, [(normalize, ())], std

    def _backward(self, lowering, std, dy, need_dx, fused):
        if not need_dx:
            return None, []
        return dy, [((np.multiply if self.invert else np.divide), (dy, std, dy))]


class Rescaling(Layer):
    """y = x * scale + offset (as keras.layers.Rescaling, e.g. 1 / 255 for pixels).

    Input shape: any that scale and offset broadcast against (arrays of ints are computed
    as floats; a symbolic integer tensor is a TypeError). Output shape: the input's.

    Args:
        scale: Finite number, or list of them per channel (broadcast against the last axes).
        offset: Finite number or list, default 0.0.
        **kwargs: The base Layer's arguments (name, trainable, dtype, input_shape).

    Raises:
        ValueError: When scale or offset is not a finite number or list of them; when
            called, if they do not broadcast against the inputs.

    Example:
        >>> import numpy as np, nerve
        >>> nerve.layers.Rescaling(1 / 255)(np.array([[0.0, 255.0]], "float32"))
        array([[0., 1.]], dtype=float32)
    """

    def __init__(self, scale: ArrayLike, offset: ArrayLike = 0.0, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        for value, what in ((scale, "scale"), (offset, "offset")):
            _check_finite_numbers(self, value, what)
        self.scale = np.asarray(scale).tolist() if np.ndim(scale) else float(np.asarray(scale))
        self.offset = (np.asarray(offset).tolist() if np.ndim(offset)
                       else float(np.asarray(offset)))

    def _constants(self):
        return (np.asarray(self.scale, self.dtype), np.asarray(self.offset, self.dtype))

    def compute_output_shape(self, input_shape: ShapeLike) -> Shape:
        input_shape = tuple(input_shape)
        known = tuple(1 if d is None else d for d in input_shape)
        try:
            fits = all(np.broadcast_shapes(known, c.shape) == known for c in self._constants())
        except ValueError:
            fits = False
        if not fits:
            raise ValueError(f"{self.name}: scale {self.scale!r} and offset {self.offset!r} do "
                             f"not broadcast against inputs of shape {input_shape}")
        return input_shape

    def get_config(self) -> Dict[str, Any]:
        return {**super().get_config(), "scale": self.scale, "offset": self.offset}

    def _forward(self, lowering, x, training):
        y = lowering.empty(x.shape, self.dtype)
        scale, offset = self._constants()

        def rescale():
            np.multiply(x, scale, out=y)
            np.add(y, offset, out=y)
        return y, [(rescale, ())], scale

    def _backward(self, lowering, scale, dy, need_dx, fused):
        if not need_dx:
            return None, []
        return dy, [(np.multiply, (dy, scale, dy))]
