"""Keras-compatible callbacks: hooks that `fit`, `evaluate` and `predict` call as they run.

    from nerve.callbacks import EarlyStopping
    model.fit(x, y, validation_split=0.2, callbacks=[EarlyStopping(patience=3)])
"""
from .callback import Callback, Logs  # noqa: F401  Logs: the hooks' type, as before
from .callback_list import CallbackList, _ignore_batch  # noqa: F401  distributed/ uses it
from .history import History
from .progbar_logger import ProgbarLogger
from .early_stopping import EarlyStopping
from .model_checkpoint import ModelCheckpoint
from .learning_rate_scheduler import LearningRateScheduler
from .reduce_lr_on_plateau import ReduceLROnPlateau
from .csv_logger import CSVLogger
from .terminate_on_nan import TerminateOnNaN
from .lambda_callback import LambdaCallback

__all__ = ["Callback", "CallbackList", "History", "ProgbarLogger", "EarlyStopping",
           "ModelCheckpoint", "LearningRateScheduler", "ReduceLROnPlateau", "CSVLogger",
           "TerminateOnNaN", "LambdaCallback"]
