"""LambdaCallback: a callback from plain functions."""
from typing import Any, Callable, Optional

from .callback import Callback, _HOOKS


class LambdaCallback(Callback):
    """A callback from plain functions.

    Epoch and batch hooks take (index, logs); the others take (logs). Any hook name of
    Callback may be given as a keyword.

    Args:
        on_epoch_begin: Callable or None, default None.
        on_epoch_end: Callable or None, default None.
        on_train_begin: Callable or None, default None.
        on_train_end: Callable or None, default None.
        on_train_batch_begin: Callable or None, default None.
        on_train_batch_end: Callable or None, default None.
        **kwargs: Other hooks by name (on_test_begin, on_predict_batch_end, ...).

    Raises:
        TypeError: When a keyword is not a hook's name.

    Example:
        >>> import numpy as np, nerve
        >>> model = nerve.Sequential([nerve.Input((2,)), nerve.layers.Dense(1)])
        >>> model.compile(optimizer="sgd", loss="mse")
        >>> show = nerve.callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs: print(epoch))
        >>> _ = model.fit(np.ones((4, 2)), np.ones((4, 1)), epochs=2, verbose=0, callbacks=[show])
        0
        1
    """

    def __init__(self, on_epoch_begin: Optional[Callable[..., Any]] = None,
                 on_epoch_end: Optional[Callable[..., Any]] = None,
                 on_train_begin: Optional[Callable[..., Any]] = None,
                 on_train_end: Optional[Callable[..., Any]] = None,
                 on_train_batch_begin: Optional[Callable[..., Any]] = None,
                 on_train_batch_end: Optional[Callable[..., Any]] = None,
                 **kwargs: Callable[..., Any]) -> None:
        super().__init__()
        unknown = sorted(set(kwargs) - set(_HOOKS))
        if unknown:
            raise TypeError(f"LambdaCallback: unknown hooks {unknown}; "
                            f"expected some of {list(_HOOKS)}")
        hooks = dict(kwargs, on_epoch_begin=on_epoch_begin, on_epoch_end=on_epoch_end,
                     on_train_begin=on_train_begin, on_train_end=on_train_end,
                     on_train_batch_begin=on_train_batch_begin,
                     on_train_batch_end=on_train_batch_end)
        for name, function in hooks.items():
            if function is not None:
                setattr(self, name, function)
