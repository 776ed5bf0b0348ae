"""Weight penalties (keras.regularizers): L1, L2 and L1L2, added to the training loss."""
import numpy as np

from . import utils

__all__ = ["Regularizer", "L1", "L2", "L1L2", "l1", "l2", "l1_l2", "get", "serialize",
           "deserialize"]


def _factor(value, name):
    value = float(value)
    if not (np.isfinite(value) and value >= 0):
        raise ValueError(f"{name}: expected a finite number >= 0, received {value!r}")
    return value


class Regularizer(utils.Configurable):
    pass


class L1L2(Regularizer):
    """penalty = l1 * sum|w| + l2 * sum w^2."""

    _config_keys = ("l1", "l2")

    def __init__(self, l1=0.0, l2=0.0):
        self.l1, self.l2 = _factor(l1, "l1"), _factor(l2, "l2")

    def __call__(self, x):
        x = np.asarray(x, dtype=np.float64)
        return self.penalty(x, np.empty_like(x))

    def penalty(self, x, scratch):
        """The penalty of contiguous x, using scratch (shaped like x) instead of allocating."""
        total = 0.0
        if self.l1:
            total += self.l1 * float(np.abs(x, out=scratch).sum())
        if self.l2:
            flat = x.reshape(-1)
            total += self.l2 * float(np.dot(flat, flat))
        return total

    def add_gradient(self, grad, x, scratch):
        """grad += d penalty / d x, in place; scratch is a buffer shaped like x."""
        if self.l1:
            np.sign(x, out=scratch)
            scratch *= self.l1
            grad += scratch
        if self.l2:
            np.multiply(x, 2.0 * self.l2, out=scratch)
            grad += scratch


class L1(L1L2):
    _config_keys = ("l1",)

    def __init__(self, l1=0.01):
        super().__init__(l1=l1)


class L2(L1L2):
    _config_keys = ("l2",)

    def __init__(self, l2=0.01):
        super().__init__(l2=l2)


l1, l2, l1_l2 = L1, L2, L1L2  # Keras's function-style aliases: regularizers.l2(1e-4)
_REGISTRY = {"L1": L1, "L2": L2, "L1L2": L1L2, "l1": L1, "l2": L2, "l1_l2": L1L2}
serialize = utils.serialize


def get(identifier):
    """A Regularizer from None, a name ("l2"), an instance or a config dict."""
    if identifier is None:
        return None
    return utils.lookup(identifier, _REGISTRY, "regularizer", Regularizer)


deserialize = get
