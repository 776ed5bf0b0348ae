"""Keras-compatible callbacks: hooks that `fit`, `evaluate` and `predict` call as they run.

    from nerve.callbacks import EarlyStopping
    model.fit(x, y, validation_split=0.2, callbacks=[EarlyStopping(patience=3)])
"""
# The module moved here whole; the next commit splits it into modules.
from .callback import *  # noqa: F401,F403
from .callback import __all__, Logs, _ignore_batch  # noqa: F401
