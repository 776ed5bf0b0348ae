"""Weight constraints (keras.constraints): projections applied to a weight after each
optimizer step. A constraint is any callable w -> projected w (an array of w's shape)."""
import numbers
from typing import Any, Callable, Dict, List, Optional, Union

import numpy as np

from . import utils

__all__ = ["Constraint", "NonNeg", "MaxNorm", "MinMaxNorm", "UnitNorm", "get", "serialize",
           "deserialize"]

_EPSILON = 1e-7  # keras.config.epsilon(): keeps a zero column from dividing by zero


class Constraint(utils.Configurable):
    """Base class of weight constraints: the identity projection.

    After each optimizer step, training replaces every weight that has a constraint by
    `constraint(w)`. A subclass overrides __call__; get_config and from_config come from the
    constructor arguments named in `_config_keys`. Any plain callable works as a constraint too.

    Example:
        >>> import numpy as np, nerve
        >>> nerve.constraints.Constraint()(np.array([-1.0, 2.0]))
        array([-1.,  2.])
    """
    def __call__(self, w: np.ndarray) -> np.ndarray:
        """The weights projected onto the constraint.

        Args:
            w: Array, the weights.

        Returns:
            An array of `w`'s shape.

        Example:
            >>> import numpy as np, nerve
            >>> nerve.constraints.NonNeg()(np.array([-1.0, 2.0]))
            array([0., 2.])
        """
        return w


class NonNeg(Constraint):
    """Sets the negative entries of the weights to zero (keras.constraints.NonNeg).

    Example:
        >>> import numpy as np, nerve
        >>> nerve.constraints.NonNeg()(np.array([[-1.0, 2.0]]))
        array([[0., 2.]])
    """

    def __call__(self, w: np.ndarray) -> np.ndarray:
        return np.maximum(w, 0)


def _axis(axis, owner):
    """An int or a list of ints: the axes whose slices are the columns normed."""
    axes = list(axis) if isinstance(axis, (list, tuple)) else [axis]
    if not axes or not all(isinstance(a, numbers.Integral) and not isinstance(a, bool)
                           for a in axes):
        raise ValueError(f"{owner}: axis expected an int or a list of ints, received {axis!r}")
    return [int(a) for a in axes] if isinstance(axis, (list, tuple)) else int(axis)


def _norms(w, axis):
    return np.sqrt(np.sum(np.square(w), axis=axis, keepdims=True))


class MaxNorm(Constraint):
    """Scales down to `max_value` each column whose L2 norm is above it.

    A column is a slice along `axis`: with axis=0 (a Dense kernel) each unit's incoming weights.

    Args:
        max_value: Finite number, default 2.
        axis: Int or list of ints, default 0: the axes the norms are taken over.

    Raises:
        ValueError: When `max_value` is not a finite number, or `axis` is not an int or a
            non-empty list of ints.

    Example:
        >>> import numpy as np, nerve
        >>> nerve.constraints.MaxNorm(1.0)(np.array([[3.0, 0.5], [4.0, 0.0]])).round(3)
        array([[0.6, 0.5],
               [0.8, 0. ]])
    """

    _config_keys = ("max_value", "axis")

    def __init__(self, max_value: float = 2, axis: Union[int, List[int]] = 0) -> None:
        self.max_value = utils.finite_number(max_value, "MaxNorm: max_value")
        self.axis = _axis(axis, "MaxNorm")

    def __call__(self, w: np.ndarray) -> np.ndarray:
        norms = _norms(w, self.axis)
        return w * (np.clip(norms, 0, self.max_value) / (_EPSILON + norms))


class MinMaxNorm(Constraint):
    """Moves each column's L2 norm into [min_value, max_value], by `rate` of the way.

    The new norm is rate * clip(norm, min_value, max_value) + (1 - rate) * norm.

    Args:
        min_value: Finite number, default 0.0.
        max_value: Finite number, default 1.0.
        rate: Finite number, default 1.0 (all the way).
        axis: Int or list of ints, default 0: the axes the norms are taken over.

    Raises:
        ValueError: When a value is not a finite number, or `axis` is not an int or a non-empty
            list of ints.

    Example:
        >>> import numpy as np, nerve
        >>> w = nerve.constraints.MinMaxNorm(1.0, 2.0)(np.array([[0.3], [0.4]]))
        >>> float(np.linalg.norm(w)).__round__(4)
        1.0
    """

    _config_keys = ("min_value", "max_value", "rate", "axis")

    def __init__(self, min_value: float = 0.0, max_value: float = 1.0, rate: float = 1.0,
                 axis: Union[int, List[int]] = 0) -> None:
        self.min_value = utils.finite_number(min_value, "MinMaxNorm: min_value")
        self.max_value = utils.finite_number(max_value, "MinMaxNorm: max_value")
        self.rate = utils.finite_number(rate, "MinMaxNorm: rate")
        self.axis = _axis(axis, "MinMaxNorm")

    def __call__(self, w: np.ndarray) -> np.ndarray:
        norms = _norms(w, self.axis)
        desired = (self.rate * np.clip(norms, self.min_value, self.max_value)
                   + (1 - self.rate) * norms)
        return w * (desired / (_EPSILON + norms))


class UnitNorm(Constraint):
    """Scales each column to an L2 norm of 1.

    Args:
        axis: Int or list of ints, default 0: the axes the norms are taken over.

    Raises:
        ValueError: When `axis` is not an int or a non-empty list of ints.

    Example:
        >>> import numpy as np, nerve
        >>> nerve.constraints.UnitNorm()(np.array([[3.0], [4.0]])).round(3)
        array([[0.6],
               [0.8]])
    """
    _config_keys = ("axis",)

    def __init__(self, axis: Union[int, List[int]] = 0) -> None:
        self.axis = _axis(axis, "UnitNorm")

    def __call__(self, w: np.ndarray) -> np.ndarray:
        return w / (_EPSILON + _norms(w, self.axis))


_REGISTRY = {"NonNeg": NonNeg, "MaxNorm": MaxNorm, "MinMaxNorm": MinMaxNorm,
             "UnitNorm": UnitNorm, "non_neg": NonNeg, "max_norm": MaxNorm,
             "min_max_norm": MinMaxNorm, "unit_norm": UnitNorm}
serialize = utils.serialize


def get(identifier: Union[None, str, Constraint, Dict[str, Any], type,
                        Callable[[np.ndarray], np.ndarray]]) -> Optional[Callable[..., Any]]:
    """A constraint from an identifier, as Keras's constraints.get.

    Args:
        identifier: None, a name ("non_neg", "max_norm", "MaxNorm", ...), a Constraint or any
            other callable (returned as is), a Constraint subclass (instantiated) or a
            {"class_name", "config"} dict (as serialize writes).

    Returns:
        A constraint (callable), or None for None.

    Raises:
        ValueError: When the name is unknown or the dict lacks "class_name".
        TypeError: When `identifier` is none of these.

    Example:
        >>> import nerve
        >>> nerve.constraints.get("max_norm")
        MaxNorm(max_value=2.0, axis=0)
    """
    if identifier is None:
        return None
    if callable(identifier) and not isinstance(identifier, type):
        return identifier
    return utils.lookup(identifier, _REGISTRY, "constraint", Constraint)


deserialize = get
