"""Weight penalties (keras.regularizers): L1, L2 and L1L2, added to the training loss."""
from typing import Any, Dict, Optional, Tuple, Union

import numpy as np

from . import utils
from ._typing import ArrayLike

__all__ = ["Regularizer", "L1", "L2", "L1L2", "l1", "l2", "l1_l2", "get", "serialize",
           "deserialize"]


def _factor(value, name):
    value = utils.finite_number(0.0 if value is None else value, name)  # None: 0, as Keras
    if value < 0:
        raise ValueError(f"{name}: expected a finite number >= 0, received {value!r}")
    return value


class Regularizer(utils.Configurable):
    """Base class of weight penalties.

    Training calls `penalty(x, scratch)` (the penalty's value) and
    `add_gradient(grad, x, scratch)` (its gradient, added in place) on every trainable weight
    that has a regularizer, so a subclass defines both, as L1L2 does; get_config and from_config
    come from the constructor arguments named in `_config_keys`.

    Example:
        >>> import nerve
        >>> isinstance(nerve.regularizers.get("l2"), nerve.regularizers.Regularizer)
        True
    """


class L1L2(Regularizer):
    """The penalty l1 * sum(|w|) + l2 * sum(w ** 2), added to the training loss.

    Args:
        l1: Finite float >= 0, default 0.0 (None means 0.0, as in Keras).
        l2: Finite float >= 0, default 0.0 (None means 0.0).

    Raises:
        ValueError: When `l1` or `l2` is not a number, or is negative, NaN or infinite.

    Example:
        >>> import numpy as np, nerve
        >>> penalty = nerve.regularizers.L1L2(l1=0.5, l2=0.25)
        >>> penalty(np.array([1.0, -2.0]))
        2.75
        >>> penalty.get_config()
        {'l1': 0.5, 'l2': 0.25}
    """

    _config_keys: Tuple[str, ...] = ("l1", "l2")

    def __init__(self, l1: float = 0.0, l2: float = 0.0) -> None:
        self.l1, self.l2 = _factor(l1, "l1"), _factor(l2, "l2")

    def __call__(self, x: ArrayLike) -> float:
        """The penalty of the weights `x`.

        Args:
            x: Array-like, the weights (computed in float64).

        Returns:
            The penalty, a Python float.

        Example:
            >>> import numpy as np, nerve
            >>> nerve.regularizers.L2(0.5)(np.array([1.0, 2.0]))
            2.5
        """
        x = np.asarray(x, dtype=np.float64)
        return self.penalty(x, np.empty_like(x))

    def penalty(self, x: np.ndarray, scratch: np.ndarray) -> float:
        """The penalty of contiguous `x`, using `scratch` instead of allocating.

        Args:
            x: Contiguous float array, the weights.
            scratch: Array shaped like `x`, overwritten.

        Returns:
            The penalty, a Python float.

        Example:
            >>> import numpy as np, nerve
            >>> x = np.array([1.0, -3.0])
            >>> nerve.regularizers.L1(0.5).penalty(x, np.empty_like(x))
            2.0
        """
        total = 0.0
        if self.l1:
            total += self.l1 * float(np.abs(x, out=scratch).sum())
        if self.l2:
            flat = x.reshape(-1)
            total += self.l2 * float(np.dot(flat, flat))
        return total

    def add_gradient(self, grad: np.ndarray, x: np.ndarray, scratch: np.ndarray) -> None:
        """Add the gradient of the penalty with respect to `x` to `grad`, in place.

        Args:
            grad: Float array shaped like `x`, updated in place.
            x: Float array, the weights.
            scratch: Array shaped like `x`, overwritten.

        Example:
            >>> import numpy as np, nerve
            >>> x, grad = np.array([1.0, -3.0]), np.zeros(2)
            >>> nerve.regularizers.L1L2(l1=0.5, l2=1.0).add_gradient(grad, x, np.empty_like(x))
            >>> grad
            array([ 2.5, -6.5])
        """
        if self.l1:
            np.sign(x, out=scratch)
            scratch *= self.l1
            grad += scratch
        if self.l2:
            np.multiply(x, 2.0 * self.l2, out=scratch)
            grad += scratch


class L1(L1L2):
    """The penalty l1 * sum(|w|) (keras.regularizers.L1; also nerve.regularizers.l1).

    Args:
        l1: Finite float >= 0, default 0.01.

    Raises:
        ValueError: When `l1` is negative, NaN or infinite.

    Example:
        >>> import numpy as np, nerve
        >>> nerve.regularizers.L1(0.1)(np.array([1.0, -2.0]))
        0.30000000000000004
    """
    _config_keys = ("l1",)

    def __init__(self, l1: float = 0.01) -> None:
        super().__init__(l1=l1)


class L2(L1L2):
    """The penalty l2 * sum(w ** 2) (keras.regularizers.L2; also nerve.regularizers.l2).

    Args:
        l2: Finite float >= 0, default 0.01.

    Raises:
        ValueError: When `l2` is negative, NaN or infinite.

    Example:
        >>> import numpy as np, nerve
        >>> layer = nerve.layers.Dense(2, kernel_regularizer=nerve.regularizers.L2(1e-4))
        >>> nerve.regularizers.L2(0.5)(np.array([1.0, 2.0]))
        2.5
    """
    _config_keys = ("l2",)

    def __init__(self, l2: float = 0.01) -> None:
        super().__init__(l2=l2)


l1, l2, l1_l2 = L1, L2, L1L2  # Keras's function-style aliases: regularizers.l2(1e-4)
_REGISTRY = {"L1": L1, "L2": L2, "L1L2": L1L2, "l1": L1, "l2": L2, "l1_l2": L1L2}
serialize = utils.serialize


def get(identifier: Union[None, str, Regularizer, Dict[str, Any], type]
        ) -> Optional[Regularizer]:
    """A Regularizer from an identifier, as Keras's regularizers.get.

    Args:
        identifier: None, a name ("l1", "l2", "l1_l2", "L2", ...), a Regularizer (returned as
            is), a Regularizer subclass (instantiated) or a {"class_name", "config"} dict (as
            serialize writes).

    Returns:
        A Regularizer, or None for None.

    Raises:
        ValueError: When the name is unknown or the dict lacks "class_name".
        TypeError: When `identifier` is none of these.

    Example:
        >>> import nerve
        >>> nerve.regularizers.get("l2")
        L2(l2=0.01)
        >>> nerve.regularizers.get({"class_name": "L1", "config": {"l1": 0.5}})
        L1(l1=0.5)
    """
    if identifier is None:
        return None
    return utils.lookup(identifier, _REGISTRY, "regularizer", Regularizer)


deserialize = get
