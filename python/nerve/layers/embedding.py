"""Embedding (keras.layers.Embedding): integer indices to rows of a learnt table.

Inputs are integer tensors of any rank (batch, ...): `Input(shape=(10,), dtype="int32")`, or a
Sequential whose first layer is an Embedding (it gets an int32 input). Arrays of whole-number
floats given to fit / predict / the layer are converted (token ids are often loaded as floats);
a symbolic float tensor is a TypeError (Keras would truncate 2.7 to 2 silently). An index
outside [0, input_dim) is a ValueError before the step writes anything.
"""
import warnings
from typing import Any, Dict, Optional, Sequence

import numpy as np

from .. import constraints, initializers, regularizers, utils
from ..variables import Variable
from .layer import Layer, Shape, ShapeLike

__all__ = ["Embedding"]


class Embedding(Layer):
    """Turns integer indices into rows of a learnt table: y[..., :] = embeddings[x[...]].

    Input shape: (batch, ...) integer indices in [0, input_dim) (arrays of whole-number
    floats are converted; a symbolic float tensor is refused). Output shape: (batch, ...,
    output_dim). Weights: embeddings (input_dim, output_dim), created at construction.

    Args:
        input_dim: Positive int, the number of indices (the vocabulary's size).
        output_dim: Positive int, the size of each row.
        embeddings_initializer: Default "uniform".
        embeddings_regularizer: Default None.
        embeddings_constraint: Default None.
        mask_zero: Must be False (the default): nerve has no masking.
        weights: List of one (input_dim, output_dim) array, default None: the initial table.
        **kwargs: The base Layer's arguments (name, trainable, dtype, input_shape);
            Keras's deprecated input_length is accepted with a warning and ignored.

    Raises:
        ValueError: When input_dim or output_dim is not a positive int, mask_zero is true,
            or weights do not fit the table; when called, on an index outside
            [0, input_dim).
        TypeError: When called on a symbolic float tensor.

    Example:
        >>> import numpy as np, nerve
        >>> layer = nerve.layers.Embedding(10, 4)
        >>> layer(np.array([[1, 2, 3]])).shape
        (1, 3, 4)
        >>> layer.embeddings.shape
        (10, 4)
    """

    _integer_inputs = True

    def __init__(self, input_dim: int, output_dim: int, embeddings_initializer: Any = "uniform",
                 embeddings_regularizer: Any = None, embeddings_constraint: Any = None,
                 mask_zero: bool = False, weights: Optional[Sequence[Any]] = None,
                 **kwargs: Any) -> None:
        if kwargs.pop("input_length", None) is not None:
            warnings.warn("Argument `input_length` is deprecated. Just remove it.",
                          stacklevel=2)  # Keras 3's words
        super().__init__(**kwargs)
        self.input_dim = utils.size_argument(input_dim, "input_dim")
        self.output_dim = utils.size_argument(output_dim, "output_dim")
        if mask_zero:
            raise ValueError("mask_zero: expected False (nerve has no masking yet: padding "
                             "index 0 is embedded like any other)")
        self.embeddings_initializer = initializers.get(embeddings_initializer)
        self.embeddings_regularizer = regularizers.get(embeddings_regularizer)
        self.embeddings_constraint = constraints.get(embeddings_constraint)
        self._embeddings: Optional[Variable] = None
        self._initial_weights = weights
        self.build(None)  # the table's shape does not depend on the input's

    @property
    def embeddings(self) -> np.ndarray:
        """The table's array (input_dim, output_dim).

        Returns:
            The array itself (a view into the model's parameters in a model).

        Example:
            >>> import nerve
            >>> nerve.layers.Embedding(5, 2).embeddings.shape
            (5, 2)
        """
        assert self._embeddings is not None  # the constructor builds the layer
        return self._embeddings.value

    def build(self, input_shape: Optional[ShapeLike]) -> None:
        if self._embeddings is None:
            self._embeddings = self.add_weight(
                (self.input_dim, self.output_dim), self.embeddings_initializer,
                regularizer=self.embeddings_regularizer,
                constraint=self.embeddings_constraint, name="embeddings")
            if self._initial_weights is not None:
                self.set_weights(self._initial_weights)
                self._initial_weights = None
        self.built = True

    def compute_output_shape(self, input_shape: ShapeLike) -> Shape:
        return tuple(input_shape) + (self.output_dim,)

    def get_config(self) -> Dict[str, Any]:
        serialize = utils.serialize
        return {**super().get_config(), "input_dim": self.input_dim,
                "output_dim": self.output_dim,
                "embeddings_initializer": serialize(self.embeddings_initializer),
                "embeddings_regularizer": self.embeddings_regularizer and serialize(
                    self.embeddings_regularizer),
                "embeddings_constraint": self.embeddings_constraint and serialize(
                    self.embeddings_constraint),
                "mask_zero": False}

    def _check_indices(self, array, name):
        """ValueError naming this layer unless every value of `array` is in [0, input_dim)."""
        bad = np.argwhere((array < 0) | (array >= self.input_dim))
        if len(bad):
            index = tuple(int(i) for i in bad[0])
            raise ValueError(f"{name}: {self.name} (Embedding) takes indices in [0, "
                             f"{self.input_dim}), received {array[index]} at index {index}")

    def _forward(self, lowering, x, training):
        indices = x.reshape(-1)
        y = lowering.empty(x.shape + (self.output_dim,), self.dtype)
        call = (lowering.backend.embedding_forward,
                (y.reshape(-1, self.output_dim), self.embeddings, indices))
        return y, [call], indices

    def _backward(self, lowering, indices, dy, need_dx, fused):
        if not self.trainable:
            return None, []
        dtable, accumulate = lowering.grad(self._embeddings)
        call = (lowering.backend.embedding_backward,
                (dtable, dy.reshape(-1, self.output_dim), indices, accumulate))
        return None, [call]


def check_indices(graph, arrays, labels):
    """Check the integer inputs of `graph` (checked arrays, in its input order) against the
    Embeddings they feed directly, before a step runs: a bad index in the last batch of fit
    would otherwise stop it after the earlier batches had trained. (Indices reaching an
    Embedding any other way are checked by its kernel, before it writes anything.)"""
    for tensor, array, label in zip(graph.inputs, arrays, labels):
        if array.dtype.kind != "i":
            continue
        for node in graph.nodes:
            if isinstance(node.operation, Embedding) and any(t is tensor for t in node.inputs):
                node.operation._check_indices(array, label)
