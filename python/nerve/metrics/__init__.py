"""Metrics (keras.metrics): stateful, update_state(y_true, y_pred) / result() / reset_state().

Models feed them the predictions they already computed during training, in chunks, only when
a value is asked for; accumulating chunk by chunk equals Keras's per-batch accumulation.
"""
# The module moved here whole; the next commit splits it into modules.
from .metric import *  # noqa: F401,F403
from .metric import __all__, check, resolve  # noqa: F401
