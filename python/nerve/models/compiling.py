"""compile(): the optimizer, and per output a loss, a loss weight and metrics.

One output: `loss` and `metrics` as usual, logs named `loss`, `accuracy`. Several outputs:
`loss` a single loss (for every output), a list, or a dict by output name; `loss_weights` and
`metrics` likewise; logs named as Keras names them: `loss` (the weighted total), then per
output `<name>_loss` (unweighted) and `<name>_<metric>`. The per-output settings resolve once
the model knows its outputs (at compile when built, else at the first fit or evaluate).
"""
from __future__ import annotations

import numbers
import weakref
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Union

import numpy as np

from .. import _interrupts, losses, optimizers, registration
from .. import metrics as metrics_module


# optimizer -> weakref to the model it trains: its slots hold that model's state, so a second
# model must not share it (Keras refuses at its first step; nerve at compile, before any).
_OPTIMIZER_MODELS: "weakref.WeakKeyDictionary[Any, Any]" = weakref.WeakKeyDictionary()


def _claim(optimizer, model):
    other = _OPTIMIZER_MODELS.get(optimizer)
    other = other() if other is not None else None
    if other is not None and other is not model and other.optimizer is optimizer:
        raise ValueError(f"optimizer: this {type(optimizer).__name__} already trains model "
                         f"{other.name!r} (its state holds that model's variables); an "
                         f"optimizer can only be used with the variables it was built for: "
                         f"create a new optimizer instance for {model.name!r}")
    _OPTIMIZER_MODELS[optimizer] = weakref.ref(model)


# What compile() sets before the outputs' settings are resolved (and _resolve_compile sets).
_COMPILE_STATE = ("optimizer", "loss", "_loss_id", "_metric_ids", "_loss_weight_ids",
                  "_weighted_ids", "_resolved", "_output_losses", "_loss_weights",
                  "_output_metrics", "_output_weighted_metrics", "_metric_log_names")


def _is_function(value):
    """A user's loss or metric function, recorded in a configuration by its registered name."""
    return callable(value) and not isinstance(value, type) and not hasattr(value, "get_config")


def _is_loss_config(value):
    return isinstance(value, dict) and "class_name" in value


def _per_output(value, names, what, single):
    """`value` spread over the outputs `names`: a dict by name, a list in order, or one value
    for every output (`single(value)` tells a lone value from a structure)."""
    if isinstance(value, dict) and not single(value):
        unknown = sorted(set(value) - set(names))
        if unknown:
            raise ValueError(f"{what}: unknown outputs {unknown}; the model's outputs are "
                             f"{names}")
        return [value.get(name) for name in names]
    if isinstance(value, (list, tuple)) and not single(value):
        if len(value) != len(names):
            raise ValueError(f"{what}: expected one entry per output {names}, received "
                             f"{len(value)}")
        return list(value)
    return [value] * len(names)


def _metric_structure(value, what):
    """compile's `metrics` / `weighted_metrics`: a list for every output, a list of lists or a
    dict of lists per output; each identifier checked now."""
    if isinstance(value, dict):
        return {key: _metric_list(entry, f"{what}[{key!r}]") for key, entry in value.items()}
    if value is not None and any(isinstance(m, (list, tuple)) for m in value):
        return [_metric_list(m, f"{what}[{i}]") for i, m in enumerate(value)]
    return _metric_list(value, what)


def _log_names(plain, weighted):
    """Keras's log names for (prefix, metric name) pairs of the metrics, then of the weighted
    metrics: a repeated name gets _1, _2, ...; a weighted metric whose name is taken becomes
    weighted_<name> (then weighted_<name>_1, ...)."""
    counts, names = {}, []

    def unique(name):
        count = counts.get(name, 0)
        counts[name] = count + 1
        return f"{name}_{count}" if count else name

    for prefix, name in plain:
        names.append(unique(prefix + name))
    for prefix, name in weighted:
        taken = prefix + name in counts
        names.append(unique(f"{prefix}weighted_{name}" if taken else prefix + name))
    return names


def _metric_list(value, what):
    if value is None:
        return []
    if isinstance(value, (str, metrics_module.Metric)):
        raise TypeError(f"{what}: expected a list, such as metrics=['accuracy']")
    value = list(value)
    for metric in value:
        metrics_module.check(metric)
    return value


class Compiling:
    """The compile half of a Model (compile, its settings and their configuration).

    Not used on its own: nerve.Model inherits it, and its methods are documented there.

    Example:
        >>> import nerve
        >>> from nerve.models.compiling import Compiling
        >>> issubclass(nerve.Model, Compiling)
        True
    """

    # What the model this is mixed into provides (annotations only, for mypy).
    built: bool
    _pack: Callable[[], None]

    def _init_compiling(self):
        self.optimizer = self.loss = None
        self._loss_id = None
        self._metric_ids, self._weighted_ids, self._loss_weight_ids = [], None, None
        self._resolved = None  # output names the settings below were resolved for
        self._output_losses, self._loss_weights, self._output_metrics = [], [], []
        self._output_weighted_metrics = []  # fed the sample weights; the others are not
        self._metric_log_names = []

    def compile(self, optimizer: Any = "rmsprop", loss: Any = None,
                loss_weights: Optional[Union[float, Sequence[float], Mapping[str, float]]] = None,
                metrics: Optional[Union[Sequence[Any], Mapping[str, Any]]] = None,
                weighted_metrics: Optional[Union[Sequence[Any], Mapping[str, Any]]] = None,
                run_eagerly: bool = False, steps_per_execution: int = 1,
                jit_compile: Union[str, bool] = "auto", auto_scale_loss: bool = True) -> None:
        """Configure the model for training: the optimizer, the losses and the metrics.

        For a model with several outputs, loss, loss_weights and metrics may be one value
        (for every output), a list in output order or a dict by output name; the logs are
        then `loss` (the weighted total), `<output>_loss` and `<output>_<metric>`. Settings
        that depend on the outputs are checked now when the model is built, else at the first
        fit or evaluate. Compiling again replaces the settings (and applies changed
        `trainable` flags); a failed compile keeps the previous ones. Ctrl-C cannot leave it
        half done.

        Args:
            optimizer: A name ("sgd", "adam", ...) or a nerve.optimizers.Optimizer instance,
                default "rmsprop". One optimizer instance trains one model.
            loss: A name ("mse", "categorical_crossentropy", ...), a nerve.losses.Loss, a
                function loss(y_true, y_pred), or per output a list / dict; default None
                (the model can predict, not fit or evaluate).
            loss_weights: Numbers >= 0 weighting each output's loss in the total (a number,
                list or dict), default None (1.0 each).
            metrics: A list of metric names ("accuracy", "mae", ...), nerve.metrics.Metric
                objects or functions, or per output a list of lists / dict of lists; default
                None. Not weighted by sample_weight.
            weighted_metrics: Like metrics, but weighted by sample_weight and class_weight,
                default None.
            run_eagerly: Ignored (Keras's), default False.
            steps_per_execution: Ignored (Keras's), default 1.
            jit_compile: Ignored (Keras's; nerve always runs compiled plans), default "auto".
            auto_scale_loss: Ignored (Keras's), default True.

        Raises:
            ValueError: An unknown optimizer, loss or metric name; an optimizer already
                training another model; loss / loss_weights / metrics that name unknown
                outputs or have the wrong length; loss_weights that are negative or not
                finite.
            TypeError: metrics given as a single string or Metric instead of a list;
                loss_weights that are not numbers.

        Example:
            >>> import nerve
            >>> model = nerve.Sequential([nerve.Input(shape=(4,)), nerve.layers.Dense(1)])
            >>> model.compile(optimizer="adam", loss="mse", metrics=["mae"])
            >>> model.compiled, model.metrics_names
            (True, ['loss', 'mae'])
        """
        optimizer = optimizers.get(optimizer)
        _claim(optimizer, self)
        single_loss = lambda v: v is None or not isinstance(v, (list, tuple, dict)) \
            or _is_loss_config(v)  # noqa: E731
        loss_object: Any
        if single_loss(loss):
            loss_object = None if loss is None else losses.get(loss)
        else:
            entries = loss.values() if isinstance(loss, dict) else loss
            loss_object = type(loss)(None if l is None else losses.get(l) for l in entries) \
                if not isinstance(loss, dict) else {k: None if l is None else losses.get(l)
                                                    for k, l in loss.items()}
        metric_ids = _metric_structure(metrics, "metrics")
        weighted_ids = (None if weighted_metrics is None
                        else _metric_structure(weighted_metrics, "weighted_metrics"))
        if loss_weights is not None and not isinstance(loss_weights, (dict, list, tuple)) \
                and not isinstance(loss_weights, numbers.Real):
            raise TypeError(f"loss_weights: expected a list or dict of numbers, received "
                            f"{type(loss_weights).__name__}")
        with _interrupts.deferred():  # Ctrl-C cannot leave it half compiled
            previous = {name: getattr(self, name) for name in _COMPILE_STATE}
            self.optimizer, self.loss, self._loss_id = optimizer, loss_object, loss
            self._metric_ids, self._loss_weight_ids = metric_ids, loss_weights
            self._weighted_ids, self._resolved = weighted_ids, None
            if self.built:
                try:
                    self._resolve_compile()
                except BaseException:  # settings the outputs refuse: keep the last compile
                    self.__dict__.update(previous)
                    raise
                self._pack()  # applies changed `trainable` flags, as Keras's compile does

    def _resolve_compile(self):
        """Per-output losses, weights and metrics for the model's outputs (once built)."""
        names = list(self._output_names)
        if self._resolved == names:
            return
        single = lambda v: not isinstance(v, (list, tuple, dict))  # noqa: E731
        output_losses = _per_output(self.loss, names, "loss",
                                    lambda v: isinstance(v, losses.Loss) or v is None)
        weights = _per_output(1.0 if self._loss_weight_ids is None else self._loss_weight_ids,
                              names, "loss_weights", single)
        for name, weight in zip(names, weights):
            if weight is None:
                weight = 1.0
            if not isinstance(weight, numbers.Real) or not np.isfinite(weight) or weight < 0:
                raise ValueError(f"loss_weights: expected finite numbers >= 0, received "
                                 f"{weight!r} for output {name!r}")
        widths = [t.shape[-1] for t in self.outputs]

        def resolved(ids, what):
            per_output = ids if isinstance(ids, dict) or (ids and isinstance(ids[0], list)) \
                else None
            ids = (_per_output(per_output, names, what, lambda v: False)
                   if per_output is not None else [ids] * len(names))
            return [[metrics_module.resolve(m, loss or losses.MeanSquaredError(), width)
                     for m in (entry or [])]
                    for entry, loss, width in zip(ids, output_losses, widths)]

        metrics = resolved(self._metric_ids, "metrics")
        weighted = resolved(self._weighted_ids or [], "weighted_metrics")
        self._output_losses = output_losses
        self._loss_weights = [1.0 if w is None else float(w) for w in weights]
        self._output_metrics, self._output_weighted_metrics = metrics, weighted
        self._resolved, self._metric_log_names = names, self._log_names_of_metrics()

    @property
    def compiled(self) -> bool:
        """Whether compile() was called (the model has an optimizer)."""
        return self.optimizer is not None

    @property
    def metrics_names(self) -> List[str]:
        """The names of the logs compile's metrics give: ["loss", metric names...]."""
        def flat(ids):
            ids = ids or []
            return [] if isinstance(ids, dict) or (ids and isinstance(ids[0], list)) else [
                ("", m if isinstance(m, str) else m.name) for m in ids]
        return ["loss"] + _log_names(flat(self._metric_ids), flat(self._weighted_ids))

    def _loss_names(self):
        return [f"{name}_loss" for name, loss in zip(self._output_names, self._output_losses)
                if loss is not None] if len(self._output_names) > 1 else []

    def _named_metrics(self):
        """(log name, metric) pairs, named as Keras names them: the metric's name, prefixed
        by its output's name when the model has several outputs (see _log_names)."""
        return self._metric_log_names

    def _log_names_of_metrics(self):
        several = len(self._output_names) > 1

        def pairs(per_output):
            return [(f"{name}_" if several else "", metric)
                    for name, metrics in zip(self._output_names, per_output)
                    for metric in metrics]
        plain, weighted = pairs(self._output_metrics), pairs(self._output_weighted_metrics)
        names = _log_names([(p, m.name) for p, m in plain], [(p, m.name) for p, m in weighted])
        return list(zip(names, [m for _, m in plain + weighted]))

    def _all_metrics(self):
        return [metric for per_output in (self._output_metrics, self._output_weighted_metrics)
                for metrics in per_output for metric in metrics]

    def _check_metrics_on(self, ys):
        """Each metric is first tried on the targets (all rows: whether shapes broadcast
        depends on the row count), so one that cannot take them raises before a training
        step changes the model."""
        for y, metrics, weighted, tensor in zip(ys, self._output_metrics,
                                                self._output_weighted_metrics, self.outputs):
            for metric in metrics + weighted if y is not None else ():
                metric.update_state(y, np.zeros((len(y),) + tensor.shape[1:], self.dtype))
                metric.reset_state()

    def _require_loss(self, method):
        if self.optimizer is None:
            raise ValueError(f"{method}: call compile() before {method}()")
        if self.loss is None:
            raise ValueError(f"{method}: the model was compiled without a loss")

    def _require_trainable(self, method):
        for layer in self._primitive_layers():
            if layer.output_activation == "step":
                raise ValueError(f"{method}: layer {layer.name!r} uses the 'step' activation, "
                                 f"which has no derivative: the model can predict, not train")

    # ---- configuration (used by nerve.saving) -------------------------------------------------
    def get_compile_config(self) -> Optional[Dict[str, Any]]:
        """Return the compile settings as a configuration (what nerve.saving stores).

        Returns:
            A dict with "optimizer" (its serialized form), "loss", "metrics" and, when given,
            "loss_weights" and "weighted_metrics"; None when the model is not compiled.

        Example:
            >>> import nerve
            >>> model = nerve.Sequential([nerve.Input(shape=(4,)), nerve.layers.Dense(1)])
            >>> model.get_compile_config() is None
            True
            >>> model.compile(optimizer="sgd", loss="mse")
            >>> model.get_compile_config()["loss"]
            'mse'
        """
        if self.optimizer is None:
            return None

        def loss_config(value):
            if isinstance(value, dict) and not _is_loss_config(value):
                return {k: loss_config(v) for k, v in value.items()}
            if isinstance(value, (list, tuple)):
                return [loss_config(v) for v in value]
            if value is None or isinstance(value, str):
                return value
            if _is_function(value):
                return registration.get_registered_name(value)
            return losses.serialize(losses.get(value))

        def metric_config(value):
            if isinstance(value, dict):
                return {k: metric_config(v) for k, v in value.items()}
            if isinstance(value, list):
                return [metric_config(v) for v in value]
            if _is_function(value):
                return registration.get_registered_name(value)
            return value if isinstance(value, str) else metrics_module.serialize(value)

        config = {"optimizer": optimizers.serialize(self.optimizer),
                  "loss": loss_config(self._loss_id), "metrics": metric_config(self._metric_ids)}
        if self._loss_weight_ids is not None:
            config["loss_weights"] = self._loss_weight_ids
        if self._weighted_ids is not None:
            config["weighted_metrics"] = metric_config(self._weighted_ids)
        return config

    def compile_from_config(self, config: Mapping[str, Any]) -> None:
        """Compile the model from a get_compile_config() configuration.

        Args:
            config: The dict get_compile_config() returns (a new optimizer is made from
                its "optimizer" entry).

        Raises:
            KeyError: The config has no "optimizer".
            ValueError: As compile() does for the settings it holds.

        Example:
            >>> import nerve
            >>> model = nerve.Sequential([nerve.Input(shape=(4,)), nerve.layers.Dense(1)])
            >>> model.compile(optimizer="sgd", loss="mse")
            >>> other = nerve.Sequential([nerve.Input(shape=(4,)), nerve.layers.Dense(1)])
            >>> other.compile_from_config(model.get_compile_config())
            >>> type(other.optimizer).__name__
            'SGD'
        """
        self.compile(optimizer=optimizers.deserialize(config["optimizer"]),
                     loss=config.get("loss"), metrics=config.get("metrics"),
                     loss_weights=config.get("loss_weights"),
                     weighted_metrics=config.get("weighted_metrics"))
