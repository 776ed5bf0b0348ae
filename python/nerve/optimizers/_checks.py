"""The argument checks shared by the optimizers and the schedules."""
import math

import numpy as np


def _flag(value, name):
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name}: expected True or False, received {value!r}")
    return bool(value)


def _number(value, name, ok=lambda v: v >= 0, expected="a finite number >= 0"):
    try:
        value = float(value)
    except (TypeError, ValueError):
        raise TypeError(f"{name}: expected a number, received {type(value).__name__}") from None
    if not (math.isfinite(value) and ok(value)):
        raise ValueError(f"{name}: expected {expected}, received {value!r}")
    return value


def _optional_positive(value, name):
    return None if value is None else _number(value, name, lambda v: v > 0, "a number > 0")
