"""The monitored quantity shared by EarlyStopping, ModelCheckpoint and ReduceLROnPlateau."""
import math
import numbers
import warnings


# Metrics that improve upwards; everything else (losses, errors) improves downwards.
_HIGHER_IS_BETTER = ("acc", "auc", "precision", "recall", "f1", "fbeta", "iou", "r2")


def _number(value, name, owner, finite=False):
    """`value`, a number that is not NaN (which no comparison would ever pass); infinite only
    where that means something (patience=inf: wait forever) unless `finite`."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or math.isnan(value) \
            or (finite and math.isinf(value)):
        expected = "a finite number" if finite else "a number (not NaN)"
        raise ValueError(f"{owner}: {name} expected {expected}, received {value!r}")
    return value


class _Monitor:
    """The monitored quantity of EarlyStopping & co.: reads it from the logs and compares."""

    def __init__(self, monitor, mode, min_delta, owner):
        if mode not in ("auto", "min", "max"):
            warnings.warn(f"{owner} mode {mode!r} is unknown, fallback to auto mode.",
                          stacklevel=3)
            mode = "auto"
        if mode == "auto":
            name = monitor.removeprefix("val_")
            mode = "max" if any(word in name for word in _HIGHER_IS_BETTER) else "min"
        self.monitor, self.owner = monitor, owner
        self.higher_is_better = mode == "max"
        self.min_delta = abs(_number(min_delta, "min_delta", owner, finite=True))

    @property
    def worst(self):
        return -math.inf if self.higher_is_better else math.inf

    def improved(self, current, reference):
        if self.higher_is_better:
            return current - self.min_delta > reference
        return current + self.min_delta < reference

    def value(self, logs):
        """The monitored value, or None (with a warning, as in Keras) when the logs lack it."""
        logs = logs or {}
        value = logs.get(self.monitor)
        if value is None:
            warnings.warn(f"{self.owner} is conditioned on metric `{self.monitor}` which is not "
                          f"available. Available metrics are: {','.join(logs)}", stacklevel=3)
            return None
        return float(value)
