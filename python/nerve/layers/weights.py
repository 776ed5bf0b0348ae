"""The weights part of Layer: creating them, listing them in Keras order (the layer's own,
then its sublayers'), counting, reading and setting them; and add_loss."""
from typing import Any, Callable, List, Optional, Sequence

import numpy as np

from .. import _interrupts, initializers, utils
from ..graph import SymbolicTensor
from .._typing import DTypeLike
from ..variables import Variable, checked_weights, spend_weight_budget
from .shapes import _weight_shape


class LayerWeights:
    """Layer's weight methods (a mixin: Layer is the only class that uses it)."""

    # Layer's, declared here for the type checker: set by Layer.__init__, and its method.
    name: str
    dtype: str
    trainable: bool
    _weights_list: List[Variable]
    _sublayers: Callable[[], List[Any]]

    def add_weight(self, shape: Optional[Sequence[int]] = None, initializer: Any = None,
                   dtype: Optional[DTypeLike] = None, trainable: bool = True,
                   autocast: bool = True, regularizer: Any = None, constraint: Any = None,
                   aggregation: str = "none", overwrite_with_gradient: bool = False,
                   name: Optional[str] = None) -> Variable:
        """Create a weight of the layer, initialised now (call it in build()).

        Args:
            shape: Tuple of ints >= 0, default None (a scalar, as ()).
            initializer: Name, nerve.initializers object or callable(shape, dtype), default
                None ("glorot_uniform", or "zeros" for a scalar).
            dtype: Default None (the layer's dtype).
            trainable: bool, default True; False makes state (as BatchNormalization's moving
                mean) that call() may update with `variable.assign`.
            autocast: Accepted for Keras compatibility and ignored, default True.
            regularizer: Name or nerve.regularizers object, default None; its penalty is
                added to the model's loss.
            constraint: Name or nerve.constraints object, default None; it projects the
                weight after each optimizer step.
            aggregation: Accepted for Keras compatibility and ignored, default "none".
            overwrite_with_gradient: Accepted for Keras compatibility and ignored, default
                False.
            name: str, default None ("variable_0", "variable_1", ... in creation order).

        Returns:
            The new nerve Variable (append order is the order of `weights`).

        Raises:
            ValueError: When `shape` is not a tuple of ints >= 0, or an initializer,
                regularizer or constraint name is unknown.

        Example:
            >>> import nerve
            >>> layer = nerve.layers.Layer()
            >>> layer.add_weight((2, 3), "zeros", name="table").shape
            (2, 3)
        """
        from .. import constraints, regularizers

        shape = _weight_shape(shape)
        dtype = utils.standardize_dtype(dtype or self.dtype)
        if initializer is None:
            initializer = "zeros" if not shape else "glorot_uniform"
        spend_weight_budget(self.name, shape, dtype)
        value = initializers.get(initializer)(shape, dtype)
        variable = Variable(np.array(value, dtype=dtype), name or
                            f"variable_{len(self._weights_list)}", self, trainable,
                            regularizers.get(regularizer), constraints.get(constraint))
        self._weights_list.append(variable)
        return variable

    def add_loss(self, loss: Any) -> None:
        """Add a penalty computed in call() to the model's loss (as an activity regularizer).

        Args:
            loss: A symbolic tensor computed from call()'s inputs; summed if not a scalar.

        Raises:
            ValueError: When called outside call(), or on something other than a tensor
                computed there (for a penalty on weights pass a regularizer to add_weight).

        Example:
            >>> import numpy as np, nerve
            >>> class ActivityPenalty(nerve.layers.Layer):
            ...     def call(self, inputs):
            ...         self.add_loss(nerve.ops.multiply(nerve.ops.sum(inputs), 0.01))
            ...         return inputs
            >>> inputs = nerve.layers.Input(shape=(2,))
            >>> model = nerve.models.Model(inputs, ActivityPenalty()(inputs))
            >>> model.predict(np.ones((1, 2), "float32"), verbose=0).shape
            (1, 2)
        """
        from ..ops import sum as reduce_sum
        from ..ops.core import current_trace

        trace = current_trace()
        if trace is None or not isinstance(loss, SymbolicTensor):
            raise ValueError(f"{self.name}: add_loss() takes a tensor computed from the inputs "
                             f"inside call(); for a penalty on weights pass a regularizer to "
                             f"add_weight")
        trace.losses.append(reduce_sum(loss) if loss.ndim else loss)

    @property
    def _own_weights(self):
        return self._weights_list

    @property
    def weights(self) -> List[Variable]:
        """The layer's Variables, in Keras order: its own, then its sublayers' (each once).

        Returns:
            A list of nerve Variables (empty before the layer is built).

        Example:
            >>> import nerve
            >>> layer = nerve.layers.Dense(3)
            >>> layer.build((None, 4))
            >>> [(w.name, w.shape) for w in layer.weights]
            [('kernel', (4, 3)), ('bias', (3,))]
        """
        seen, found = set(), []
        for variable in self._own_weights + [w for l in self._sublayers() for w in l.weights]:
            if id(variable) not in seen:
                seen.add(id(variable))
                found.append(variable)
        return found

    @property
    def trainable_weights(self) -> List[Variable]:
        """The weights the optimizer updates: none when the layer is not trainable.

        Returns:
            A list of the trainable Variables of `weights`, in its order.

        Example:
            >>> import nerve
            >>> layer = nerve.layers.BatchNormalization()
            >>> layer.build((None, 4))
            >>> [w.name for w in layer.trainable_weights]
            ['gamma', 'beta']
        """
        return [w for w in self.weights if w.trainable] if self.trainable else []

    @property
    def non_trainable_weights(self) -> List[Variable]:
        """The weights the optimizer leaves alone (all of them when trainable is False).

        Returns:
            A list of the Variables of `weights` not in `trainable_weights`, in order.

        Example:
            >>> import nerve
            >>> layer = nerve.layers.BatchNormalization()
            >>> layer.build((None, 4))
            >>> [w.name for w in layer.non_trainable_weights]
            ['moving_mean', 'moving_variance']
        """
        trainable = {id(w) for w in self.trainable_weights}
        return [w for w in self.weights if id(w) not in trainable]

    @property
    def variables(self) -> List[Variable]:
        """The same list as `weights` (Keras 3's other name for it).

        Returns:
            A list of nerve Variables.

        Example:
            >>> import nerve
            >>> layer = nerve.layers.Dense(2)
            >>> layer.build((None, 3))
            >>> len(layer.variables)
            2
        """
        return self.weights

    @property
    def trainable_variables(self) -> List[Variable]:
        """The same list as `trainable_weights` (Keras 3's other name for it).

        Returns:
            A list of nerve Variables.

        Example:
            >>> import nerve
            >>> layer = nerve.layers.Dense(2, trainable=False)
            >>> layer.build((None, 3))
            >>> layer.trainable_variables
            []
        """
        return self.trainable_weights

    def count_params(self) -> int:
        """The number of values in the layer's weights (trainable or not).

        Returns:
            An int.

        Example:
            >>> import nerve
            >>> layer = nerve.layers.Dense(3)
            >>> layer.build((None, 4))
            >>> layer.count_params()
            15
        """
        return sum(w.size for w in self.weights)

    def get_weights(self) -> List[np.ndarray]:
        """Copies of the weights' values, in the order of `weights`.

        Returns:
            A list of NumPy arrays, copies (changing them leaves the layer alone).

        Example:
            >>> import nerve
            >>> layer = nerve.layers.Dense(3)
            >>> layer.build((None, 4))
            >>> [w.shape for w in layer.get_weights()]
            [(4, 3), (3,)]
        """
        return [w.numpy() for w in self.weights]

    def set_weights(self, weights: Sequence[Any]) -> None:
        """Copy values into the layer's weights; on any error nothing changes.

        Args:
            weights: A list of arrays, one per weight, in the order and shapes of `weights`
                (as get_weights() returns them).

        Raises:
            ValueError: When the number of arrays or a shape differs from the weights'.
            TypeError: When an array is not of real numbers (floats or ints).

        Example:
            >>> import numpy as np, nerve
            >>> layer = nerve.layers.Dense(2)
            >>> layer.build((None, 1))
            >>> layer.set_weights([np.array([[1.0, 2.0]]), np.zeros(2)])
            >>> layer(np.array([[3.0]], "float32"))
            array([[3., 6.]], dtype=float32)
        """
        targets = self.weights
        arrays = checked_weights(weights, [w.shape for w in targets], self.name)
        with _interrupts.deferred():  # nor does Ctrl-C set some weights and not others
            for target, value in zip(targets, arrays):
                target.value[...] = value
