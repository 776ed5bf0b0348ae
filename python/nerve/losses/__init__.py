"""Losses (keras.losses). A built-in loss is computed, with its gradient, by one backend
kernel; the value is the batch mean sum_i(w_i * l_i) / rows as Keras's "sum_over_batch_size".

A user's loss is a function fn(y_true, y_pred) -> per-sample losses, or a Loss subclass
with call(y_true, y_pred). Written with nerve.ops, it is traced once into the model's plan
(y_true and y_pred symbolic) and differentiated there; its value is the mean of what it
returns (weighted by sample weights), as Keras reduces it. The function forms of the built-in
losses (mean_squared_error, binary_crossentropy, ...) are written with nerve.ops too, so they
compose inside a user's loss.
"""
# The module moved here whole; the next commit splits it into modules.
from .loss import *  # noqa: F401,F403
from .loss import __all__, _same_rank  # noqa: F401
