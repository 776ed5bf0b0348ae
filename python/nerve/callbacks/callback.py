"""The Callback base class: the hooks fit, evaluate and predict call."""
from typing import Any, Dict, Optional


_EPOCH_HOOKS = ("on_epoch_begin", "on_epoch_end")
_RUN_HOOKS = ("on_train_begin", "on_train_end", "on_test_begin", "on_test_end",
              "on_predict_begin", "on_predict_end")
_BATCH_HOOKS = ("on_train_batch_begin", "on_train_batch_end", "on_test_batch_begin",
                "on_test_batch_end", "on_predict_batch_begin", "on_predict_batch_end")
# Keras 1/2 names that training still calls: on_train_batch_X runs on_batch_X by default.
_BATCH_ALIASES = {"on_train_batch_begin": "on_batch_begin", "on_train_batch_end": "on_batch_end"}
_HOOKS = _EPOCH_HOOKS + _RUN_HOOKS + _BATCH_HOOKS + tuple(_BATCH_ALIASES.values())
# What a hook receives: the epoch's or batch's metrics by name (None: none yet).
Logs = Optional[Dict[str, Any]]


class Callback:
    """Base class of callbacks (keras.callbacks.Callback): override the hooks you need.

    fit, evaluate and predict call the hooks as they run; `self.model` (the model) and
    `self.params` ({"verbose", "epochs", "steps"}) are set before training starts. A callback
    stops training by setting `self.model.stop_training = True`. Hooks that are not overridden
    cost nothing per batch.

    Example:
        >>> import numpy as np, nerve
        >>> class CountBatches(nerve.callbacks.Callback):
        ...     def on_train_begin(self, logs=None):
        ...         self.batches = 0
        ...     def on_train_batch_end(self, batch, logs=None):
        ...         self.batches += 1
        >>> model = nerve.Sequential([nerve.Input((2,)), nerve.layers.Dense(1)])
        >>> model.compile(optimizer="sgd", loss="mse")
        >>> counter = CountBatches()
        >>> _ = model.fit(np.ones((4, 2)), np.ones((4, 1)), batch_size=2, epochs=2, verbose=0,
        ...               callbacks=[counter])
        >>> counter.batches
        4
    """

    # Batch logs may arrive as a zero-argument callable that computes the dict. Callbacks that
    # set this accept it as is (and call it only when they need the values); the others get a dict.
    _accepts_lazy_logs = False

    def __init__(self) -> None:
        self.model: Any = None
        self.params: Dict[str, Any] = {}

    def set_model(self, model: Any) -> None:
        """Set `self.model` (fit, evaluate and predict call this before the first hook).

        Args:
            model: The model the hooks run for.

        Example:
            >>> import nerve
            >>> callback = nerve.callbacks.Callback()
            >>> model = nerve.Sequential([nerve.Input((2,)), nerve.layers.Dense(1)])
            >>> callback.set_model(model)
            >>> callback.model is model
            True
        """
        self.model = model

    def set_params(self, params: Dict[str, Any]) -> None:
        """Set `self.params`, the run's settings.

        Args:
            params: Dict with "verbose", "epochs" and "steps" (batches per epoch, or None).

        Example:
            >>> import nerve
            >>> callback = nerve.callbacks.Callback()
            >>> callback.set_params({"verbose": 0, "epochs": 3, "steps": 10})
            >>> callback.params["epochs"]
            3
        """
        self.params = params

    def on_train_begin(self, logs: Logs = None) -> None:
        """Called once when fit starts.

        Args:
            logs: Dict or None, default None: nothing yet (None or {}).

        Example:
            >>> import nerve
            >>> show = nerve.callbacks.LambdaCallback(on_train_begin=print)
            >>> show.on_train_begin({})
            {}
        """
        pass

    def on_train_end(self, logs: Logs = None) -> None:
        """Called once when fit ends (also after an early stop).

        Args:
            logs: Dict or None, default None: the last epoch's logs.

        Example:
            >>> import nerve
            >>> show = nerve.callbacks.LambdaCallback(on_train_end=print)
            >>> show.on_train_end({})
            {}
        """
        pass

    def on_epoch_begin(self, epoch: int, logs: Logs = None) -> None:
        """Called at the start of each epoch of fit.

        Args:
            epoch: Int, the epoch's index (from 0).
            logs: Dict or None, default None: nothing yet (None or {}).

        Example:
            >>> import nerve
            >>> show = nerve.callbacks.LambdaCallback(on_epoch_begin=print)
            >>> show.on_epoch_begin(0, {})
            0 {}
        """
        pass

    def on_epoch_end(self, epoch: int, logs: Logs = None) -> None:
        """Called at the end of each epoch of fit, after validation.

        Args:
            epoch: Int, the epoch's index (from 0).
            logs: Dict or None, default None: the epoch's metrics by name ("loss", "val_loss", ...);
                a callback may add entries.

        Example:
            >>> import nerve
            >>> show = nerve.callbacks.LambdaCallback(on_epoch_end=print)
            >>> show.on_epoch_end(0, {})
            0 {}
        """
        pass

    def on_train_batch_begin(self, batch: int, logs: Logs = None) -> None:
        """Called before each training batch; by default it calls on_batch_begin.

        Args:
            batch: Int, the batch's index (from 0).
            logs: Dict or None, default None: nothing yet (None or {}).

        Example:
            >>> import nerve
            >>> show = nerve.callbacks.LambdaCallback(on_train_batch_begin=print)
            >>> show.on_train_batch_begin(0, {})
            0 {}
        """
        self.on_batch_begin(batch, logs)

    def on_train_batch_end(self, batch: int, logs: Logs = None) -> None:
        """Called after each training batch; by default it calls on_batch_end.

        Args:
            batch: Int, the batch's index (from 0).
            logs: Dict or None, default None: the epoch's running metrics ("loss", ...).

        Example:
            >>> import nerve
            >>> show = nerve.callbacks.LambdaCallback(on_train_batch_end=print)
            >>> show.on_train_batch_end(0, {})
            0 {}
        """
        self.on_batch_end(batch, logs)

    def on_batch_begin(self, batch: int, logs: Logs = None) -> None:
        """The Keras 1/2 name of on_train_batch_begin, which calls it.

        Args:
            batch: Int, the batch's index (from 0).
            logs: Dict or None, default None: nothing yet (None or {}).

        Example:
            >>> import nerve
            >>> show = nerve.callbacks.LambdaCallback(on_batch_begin=print)
            >>> show.on_train_batch_begin(0, {})
            0 {}
        """
        pass

    def on_batch_end(self, batch: int, logs: Logs = None) -> None:
        """The Keras 1/2 name of on_train_batch_end, which calls it.

        Args:
            batch: Int, the batch's index (from 0).
            logs: Dict or None, default None: the epoch's running metrics ("loss", ...).

        Example:
            >>> import nerve
            >>> show = nerve.callbacks.LambdaCallback(on_batch_end=print)
            >>> show.on_train_batch_end(0, {})
            0 {}
        """
        pass

    def on_test_begin(self, logs: Logs = None) -> None:
        """Called when evaluate starts (and when fit validates).

        Args:
            logs: Dict or None, default None: nothing yet (None or {}).

        Example:
            >>> import nerve
            >>> show = nerve.callbacks.LambdaCallback(on_test_begin=print)
            >>> show.on_test_begin({})
            {}
        """
        pass

    def on_test_end(self, logs: Logs = None) -> None:
        """Called when evaluate ends (and after fit's validation).

        Args:
            logs: Dict or None, default None: the metrics computed.

        Example:
            >>> import nerve
            >>> show = nerve.callbacks.LambdaCallback(on_test_end=print)
            >>> show.on_test_end({})
            {}
        """
        pass

    def on_test_batch_begin(self, batch: int, logs: Logs = None) -> None:
        """Called before each batch of evaluate (and of fit's validation).

        Args:
            batch: Int, the batch's index (from 0).
            logs: Dict or None, default None: nothing yet (None or {}).

        Example:
            >>> import nerve
            >>> show = nerve.callbacks.LambdaCallback(on_test_batch_begin=print)
            >>> show.on_test_batch_begin(0, {})
            0 {}
        """
        pass

    def on_test_batch_end(self, batch: int, logs: Logs = None) -> None:
        """Called after each batch of evaluate (and of fit's validation).

        Args:
            batch: Int, the batch's index (from 0).
            logs: Dict or None, default None: the running metrics.

        Example:
            >>> import nerve
            >>> show = nerve.callbacks.LambdaCallback(on_test_batch_end=print)
            >>> show.on_test_batch_end(0, {})
            0 {}
        """
        pass

    def on_predict_begin(self, logs: Logs = None) -> None:
        """Called when predict starts.

        Args:
            logs: Dict or None, default None: nothing yet (None or {}).

        Example:
            >>> import nerve
            >>> show = nerve.callbacks.LambdaCallback(on_predict_begin=print)
            >>> show.on_predict_begin({})
            {}
        """
        pass

    def on_predict_end(self, logs: Logs = None) -> None:
        """Called when predict ends.

        Args:
            logs: Dict or None, default None: None or {}.

        Example:
            >>> import nerve
            >>> show = nerve.callbacks.LambdaCallback(on_predict_end=print)
            >>> show.on_predict_end({})
            {}
        """
        pass

    def on_predict_batch_begin(self, batch: int, logs: Logs = None) -> None:
        """Called before each batch of predict.

        Args:
            batch: Int, the batch's index (from 0).
            logs: Dict or None, default None: nothing yet (None or {}).

        Example:
            >>> import nerve
            >>> show = nerve.callbacks.LambdaCallback(on_predict_batch_begin=print)
            >>> show.on_predict_batch_begin(0, {})
            0 {}
        """
        pass

    def on_predict_batch_end(self, batch: int, logs: Logs = None) -> None:
        """Called after each batch of predict.

        Args:
            batch: Int, the batch's index (from 0).
            logs: Dict or None, default None: the batch's outputs.

        Example:
            >>> import nerve
            >>> show = nerve.callbacks.LambdaCallback(on_predict_batch_end=print)
            >>> show.on_predict_batch_end(0, {})
            0 {}
        """
        pass
