"""The Loss base class and LossFunctionWrapper: a loss traced into the model's plan, or run
on its backend kernel.
"""
from typing import Any, Callable, Dict, Optional, Tuple

import numpy as np

from .. import ops, registration, utils
from .._typing import DTypeLike, Tensor, TensorLike
from ..backend import get_backend
from ..graph import Graph, SymbolicTensor, is_symbolic, source_tensor


def _same_rank(y_true, y_pred):
    """Keras's squeeze_or_expand_to_same_rank for the targets."""
    true_rank, pred_rank = len(ops.shape(y_true)), len(ops.shape(y_pred))
    if true_rank == pred_rank - 1:
        return ops.expand_dims(y_true, -1)
    if true_rank == pred_rank + 1 and ops.shape(y_true)[-1] == 1:
        return ops.squeeze(y_true, -1)
    return y_true


class Loss(utils.Configurable):
    """Base class of losses (keras.losses.Loss).

    A built-in loss is computed, with its gradient, by one backend kernel (`kind` names it).
    A user's loss subclasses Loss and defines call(y_true, y_pred) -> per-sample losses,
    written with nerve.ops: it is traced once into the model's plan and differentiated there,
    and its value is the mean of what it returns (weighted by sample weights). get_config
    returns the arguments named in `_config_keys` and from_config calls the constructor.

    Args:
        name: Str or None, default None (the class name in snake case).
        reduction: Str, default "sum_over_batch_size", the only reduction nerve supports.
        dtype: None, "float32" or "float64", default None: checked and kept for Keras code;
            the loss is computed in y_pred's dtype.

    Raises:
        ValueError: When `reduction` is not "sum_over_batch_size", or `dtype` is not a float
            dtype.

    Example:
        >>> import numpy as np, nerve
        >>> class ScaledError(nerve.losses.Loss):
        ...     def call(self, y_true, y_pred):
        ...         return nerve.ops.mean(nerve.ops.abs(y_true - y_pred), axis=-1) * 10
        >>> float(ScaledError()(np.zeros((2, 1)), np.ones((2, 1))))
        10.0
        >>> ScaledError().name
        'scaled_error'
    """

    kind: Optional[str] = None
    sparse = False  # y_true holds integer class labels instead of a target per output
    from_logits = False
    delta = 1.0
    _config_keys: Tuple[str, ...] = ("name",)

    def __init__(self, name: Optional[str] = None, reduction: str = "sum_over_batch_size",
                 dtype: Optional[DTypeLike] = None) -> None:
        if reduction != "sum_over_batch_size":
            raise ValueError(f"reduction: nerve supports 'sum_over_batch_size' (Keras's "
                             f"default), received {reduction!r}")
        self.name = name or utils.snake_case(type(self).__name__)
        self.reduction = reduction
        self.dtype = None if dtype is None else utils.standardize_dtype(dtype)
        self._graphs: Dict[Any, Any] = {}

    def kernel_kind(self, logits: bool = False) -> str:
        """The backend kernel that computes this loss.

        Args:
            logits: Bool, default False: whether the model feeds pre-activations to the loss (it
                fuses a final sigmoid or softmax into it).

        Returns:
            The kernel's kind, a str ("mse", "binary_crossentropy_logits", ...).

        Raises:
            TypeError: When the loss has no kernel (a user's Loss subclass).

        Example:
            >>> import nerve
            >>> nerve.losses.BinaryCrossentropy().kernel_kind(logits=True)
            'binary_crossentropy_logits'
        """
        if self.kind is None:
            raise TypeError(f"{type(self).__name__} has no loss kernel: it computes call()")
        return self.kind + "_logits" if (logits or self.from_logits) else self.kind

    def call(self, y_true: Tensor, y_pred: Tensor) -> Tensor:
        """The per-sample losses; a user's subclass defines it, with nerve.ops.

        Args:
            y_true: Tensor, the targets (cast to y_pred's dtype and brought to its rank, unless
                the loss takes integer labels).
            y_pred: Tensor, the predictions.

        Returns:
            A tensor of per-sample (or per-element) losses; __call__ takes their mean.

        Raises:
            NotImplementedError: On Loss itself.

        Example:
            >>> import numpy as np, nerve
            >>> nerve.losses.MeanSquaredError().call(np.array([[0.0, 2.0]]), np.array([[0.0, 0.0]]))
            array([2.])
        """
        raise NotImplementedError(f"{type(self).__name__}: a Loss subclass defines call(y_true, "
                                  f"y_pred)")

    def __call__(self, y_true: TensorLike, y_pred: TensorLike,
                 sample_weight: Optional[TensorLike] = None) -> Any:
        """The loss of a batch: the weighted mean of the per-sample losses.

        Args:
            y_true: Tensor-like, the targets (integer labels for the sparse losses).
            y_pred: Tensor-like, the predictions, one row per sample.
            sample_weight: Tensor-like of one weight per sample, or None (default).

        Returns:
            The loss: a Python float from a kernel, else a scalar array (or a symbolic tensor on
            symbolic inputs).

        Raises:
            ValueError: When y_true cannot be brought to y_pred's shape (or the kernel refuses
                the shapes or labels).

        Example:
            >>> import numpy as np, nerve
            >>> loss = nerve.losses.MeanSquaredError()
            >>> float(loss(np.zeros((2, 1)), np.array([[1.0], [3.0]]), sample_weight=[1, 0]))
            0.5
        """
        if self.kind is None or is_symbolic([y_true, y_pred]):
            return self._reduced(y_true, y_pred, sample_weight)
        y_pred = np.asarray(y_pred)
        dtype = np.float64 if y_pred.dtype == np.float64 else np.float32
        y_pred = np.ascontiguousarray(y_pred, dtype=dtype).reshape(len(y_pred), -1)
        if self.sparse:
            y_true = np.ascontiguousarray(y_true, dtype=np.int64).reshape(-1)
        else:
            y_true = np.ascontiguousarray(y_true, dtype=y_pred.dtype).reshape(y_pred.shape)
        if sample_weight is not None:
            sample_weight = np.ascontiguousarray(sample_weight, dtype=y_pred.dtype).reshape(-1)
        return get_backend().loss(None, y_pred, y_true, self.kernel_kind(), sample_weight,
                                  self.delta)

    def _reduced(self, y_true, y_pred, sample_weight):
        """mean(call(y_true, y_pred) * sample_weight), on arrays or symbolic tensors."""
        if not isinstance(y_pred, SymbolicTensor):
            y_pred = ops.convert_to_tensor(y_pred)
        if not self.sparse:
            y_true = ops.cast(_same_rank(y_true, y_pred), y_pred.dtype)
        values = self.call(y_true, y_pred)
        if sample_weight is not None:
            weights = ops.cast(sample_weight, values.dtype)
            while len(ops.shape(weights)) < len(ops.shape(values)):
                weights = ops.expand_dims(weights, -1)
            values = ops.multiply(values, weights)
        return ops.mean(values)

    def _graph(self, y_pred, target_shape):
        """The graph of call() from (y_true, y_pred) sources to per-sample losses, traced once
        per shape (the targets are already in the shape call() receives)."""
        from ..ops.core import tracing

        key = (tuple(y_pred.shape), tuple(target_shape), y_pred.dtype)
        if key not in self._graphs:
            sources = [source_tensor((None,) + tuple(target_shape), y_pred.dtype),
                       source_tensor(y_pred.shape, y_pred.dtype)]
            with tracing() as trace:
                values = self.call(*sources)
            if not isinstance(values, SymbolicTensor):
                raise TypeError(f"loss {self.name!r}: expected per-sample losses computed from "
                                f"y_true and y_pred with nerve.ops, received "
                                f"{type(values).__name__}")
            if np.dtype(values.dtype).kind != "f":
                raise TypeError(f"loss {self.name!r}: expected float losses, received dtype "
                                f"{values.dtype}")
            self._graphs[key] = Graph(sources, [values], self.name, trace.effects, trace.losses)
        return self._graphs[key]


class LossFunctionWrapper(Loss):
    """A loss from a function fn(y_true, y_pred, **kwargs) -> per-sample losses.

    This is what get() and compile() make of a user's function. Its configuration records the
    function's registered name, so a model file rebuilds it once the function is registered
    (nerve.saving.register_keras_serializable) or passed in custom_objects.

    Args:
        fn: Callable written with nerve.ops.
        name: Str or None, default None (the function's name).
        reduction: Str, default "sum_over_batch_size" (the only one supported).
        **kwargs: Passed to `fn` on every call (and kept in the configuration).

    Raises:
        TypeError: When `fn` is not callable.
        ValueError: When `reduction` is not "sum_over_batch_size".

    Example:
        >>> import numpy as np, nerve
        >>> def cubed_error(y_true, y_pred, scale=1.0):
        ...     return nerve.ops.mean(nerve.ops.abs(y_true - y_pred) ** 3, axis=-1) * scale
        >>> loss = nerve.losses.LossFunctionWrapper(cubed_error, scale=2.0)
        >>> loss.name, float(loss(np.zeros((1, 1)), np.full((1, 1), 2.0)))
        ('cubed_error', 16.0)
    """

    def __init__(self, fn: Callable[..., Tensor], name: Optional[str] = None,
                 reduction: str = "sum_over_batch_size", **kwargs: Any) -> None:
        if not callable(fn):
            raise TypeError(f"fn: expected a function, received {type(fn).__name__}")
        super().__init__(name or getattr(fn, "__name__", "loss"), reduction)
        self.fn, self._fn_kwargs = fn, kwargs

    def call(self, y_true: Tensor, y_pred: Tensor) -> Tensor:
        return self.fn(y_true, y_pred, **self._fn_kwargs)

    def get_config(self):
        return {"name": self.name, "fn": registration.get_registered_name(self.fn),
                **self._fn_kwargs}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        from .. import losses  # a built-in function by name, e.g. "mse"
        return cls(registration.function_named(config.pop("fn"), "loss", vars(losses)), **config)
