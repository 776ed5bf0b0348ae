"""CallbackList: runs a list of callbacks as one, skipping hooks none overrides."""
from typing import Any, Iterable, Optional

from .callback import _BATCH_ALIASES, _BATCH_HOOKS, Callback
from .history import History
from .progbar_logger import ProgbarLogger


def _overrides(callback, hook):
    """Whether `callback` does something in `hook` (a method override or an instance attribute)."""
    names = (hook, _BATCH_ALIASES[hook]) if hook in _BATCH_ALIASES else (hook,)
    for name in names:
        method = getattr(callback, name)
        if getattr(method, "__func__", method) is not getattr(Callback, name):
            return True
    return False


def _evaluated_once(make_logs):
    """A callable that computes `make_logs()` on its first call and returns that dict after."""
    cache = []

    def logs():
        if not cache:
            cache.append(make_logs())
        return cache[0]
    return logs


def _ignore_batch(batch, logs=None):
    pass


def _batch_dispatcher(callbacks, hook):
    """The cheapest function that runs `hook` on the callbacks that override it: batch hooks
    run every step, and the training loop's whole budget per step is a few microseconds."""
    overriding = [cb for cb in callbacks if _overrides(cb, hook)]
    if not overriding:
        return _ignore_batch
    methods = tuple(getattr(cb, hook) for cb in overriding)
    lazy = all(cb._accepts_lazy_logs for cb in overriding)
    if len(methods) == 1 and lazy:
        return methods[0]

    def dispatch(batch, logs=None):
        if callable(logs):
            logs = _evaluated_once(logs) if lazy else logs()
        for method in methods:
            method(batch, logs)
    return dispatch


def _callback_list(callbacks):
    """fit's `callbacks` as a new list: None, one Callback (as Keras flattens it) or a list."""
    if callbacks is None:
        return []
    if isinstance(callbacks, Callback):
        return [callbacks]
    if isinstance(callbacks, (str, bytes, dict)) or not hasattr(callbacks, "__iter__"):
        raise TypeError(f"callbacks: expected a list of nerve.callbacks.Callback, received "
                        f"{type(callbacks).__name__}")
    return list(callbacks)


class CallbackList(Callback):
    """Runs a list of callbacks as one; fit, evaluate and predict create it.

    Each hook runs the callbacks' hooks in order. add_history and add_progbar append a
    History and a ProgbarLogger unless the list holds one already; `.history` is the History
    callback (or None).

    Args:
        callbacks: A Callback, an iterable of Callbacks, or None (default).
        model: The model, default None.
        add_history: Bool, default False.
        add_progbar: Bool, default False.
        verbose: Int, default 1 (in `params`).
        epochs: Int, default 1 (in `params`).
        steps: Int or None, default None (in `params`).

    Raises:
        TypeError: When `callbacks` is not a Callback or an iterable of them (a str or a dict
            is refused too).

    Example:
        >>> import nerve
        >>> callbacks = nerve.callbacks.CallbackList([nerve.callbacks.History()], add_progbar=True)
        >>> [type(cb).__name__ for cb in callbacks.callbacks]
        ['History', 'ProgbarLogger']
    """

    def __init__(self, callbacks: Optional[Iterable[Callback]] = None, *, model: Any = None,
                 add_history: bool = False, add_progbar: bool = False, verbose: int = 1,
                 epochs: int = 1, steps: Optional[int] = None) -> None:
        super().__init__()
        self.callbacks = _callback_list(callbacks)
        for cb in self.callbacks:
            if not isinstance(cb, Callback):
                raise TypeError("callbacks: expected instances of nerve.callbacks.Callback, "
                                f"received {type(cb).__name__}")
        self.history = next((cb for cb in self.callbacks if isinstance(cb, History)), None)
        if self.history is None and add_history:
            self.history = History()
            self.callbacks.append(self.history)
        if add_progbar and not any(isinstance(cb, ProgbarLogger) for cb in self.callbacks):
            self.callbacks.append(ProgbarLogger())
        self.set_model(model)
        self.set_params({"verbose": verbose, "epochs": epochs, "steps": steps})
        # Instance attributes shadow the (no-op) methods of Callback, once per list.
        for hook in _BATCH_HOOKS:
            setattr(self, hook, _batch_dispatcher(self.callbacks, hook))

    def set_model(self, model):
        super().set_model(model)
        for cb in self.callbacks:
            cb.set_model(model)

    def set_params(self, params):
        super().set_params(params)
        for cb in self.callbacks:
            cb.set_params(params)

    def _run(self, hook, *args):
        for cb in self.callbacks:
            getattr(cb, hook)(*args)

    def on_train_begin(self, logs=None):
        self._run("on_train_begin", logs)

    def on_train_end(self, logs=None):
        self._run("on_train_end", logs)

    def on_epoch_begin(self, epoch, logs=None):
        self._run("on_epoch_begin", epoch, logs)

    def on_epoch_end(self, epoch, logs=None):
        self._run("on_epoch_end", epoch, logs)

    def on_test_begin(self, logs=None):
        self._run("on_test_begin", logs)

    def on_test_end(self, logs=None):
        self._run("on_test_end", logs)

    def on_predict_begin(self, logs=None):
        self._run("on_predict_begin", logs)

    def on_predict_end(self, logs=None):
        self._run("on_predict_end", logs)
