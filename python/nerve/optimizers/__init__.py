"""Optimizers (keras.optimizers) with Keras 3 defaults, and learning-rate schedules
(nerve.optimizers.schedules).

A model keeps all its trainable parameters in one flat buffer, so an optimizer's state is one
flat buffer per slot (Adam: m and v) and a training step is one backend call.
"""
# The module moved here whole; the next commit splits it into modules.
from .optimizer import *  # noqa: F401,F403
from .optimizer import __all__  # noqa: F401
