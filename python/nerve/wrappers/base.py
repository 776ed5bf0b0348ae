"""What the three wrappers share: parameters, the model each fit trains, pickling, cloning."""
from __future__ import annotations

from typing import Any, Callable, Dict, Optional, Union

from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted, validate_data

from ..models import Model
from ._models import copy_model, fresh_clone, from_picklable, to_picklable


# The constructor's arguments, documented once for NerveEstimator and the three wrappers.
ESTIMATOR_ARGUMENTS = """    Args:
        model: A compiled nerve Model, or a function model(X=..., y=..., **model_kwargs)
            returning one. A Model is cloned (fresh weights, same compile settings) before
            each fit unless warm_start is True, in which case that very model is trained.
        warm_start: Bool, default False: whether a new fit continues from the weights of
            the previous one.
        model_kwargs: Dict of keyword arguments for `model` when it is a function, default
            None.
        fit_kwargs: Dict of keyword arguments for Model.fit (epochs, batch_size, ...),
            default None; those given to fit itself take precedence. verbose defaults to 0,
            as scikit-learn's estimators are silent.

    Raises:
        TypeError: At fit: a model that is neither a Model nor a function, or parameters of
            the wrong types.
        ValueError: At fit: an uncompiled model, one with several outputs, or model_kwargs
            with a Model instance.
"""


class NerveEstimator(BaseEstimator):
    __doc__ = """A scikit-learn estimator that trains a nerve model (keras.wrappers' SKLBase).

    Attributes after fit: `model_` (the trained Model), `history_` (History.history: the
    logs per epoch), `n_features_in_` (and `feature_names_in_` for a DataFrame).

""" + ESTIMATOR_ARGUMENTS + """
    Example:
        >>> import nerve
        >>> from nerve.wrappers import SKLearnRegressor
        >>> SKLearnRegressor(model=nerve.Sequential(), fit_kwargs={"epochs": 2}).get_params()
        {'fit_kwargs': {'epochs': 2}, 'model': <Sequential ...>, 'model_kwargs': None,
         'warm_start': False}
    """

    def __init__(self, model: Union[Model, Callable[..., Model]], warm_start: bool = False,
                 model_kwargs: Optional[Dict[str, Any]] = None,
                 fit_kwargs: Optional[Dict[str, Any]] = None) -> None:
        self.model = model
        self.warm_start = warm_start
        self.model_kwargs = model_kwargs
        self.fit_kwargs = fit_kwargs

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.non_deterministic = True  # initial weights and shuffles are random
        return tags

    def __sklearn_clone__(self):
        """An unfitted copy with the same parameters; a Model parameter is copied with its
        weights (a warm-started clone starts where the original model is)."""
        params = self.get_params(deep=False)
        if isinstance(params["model"], Model):
            params["model"] = copy_model(params["model"])
        return type(self)(**params)

    def __getstate__(self):
        return to_picklable(super().__getstate__())

    def __setstate__(self, state):
        super().__setstate__(from_picklable(state))

    # ---- fitting ------------------------------------------------------------------------------
    def fit(self, X: Any, y: Any = None, **kwargs: Any) -> "NerveEstimator":
        """Train the model on X, y.

        A fresh clone (or the function's new model) unless warm_start continues the
        previous one.

        Args:
            X: Array-like or DataFrame (n_samples, n_features).
            y: Targets (n_samples,) or (n_samples, k); required (None is refused by name),
                default None.
            **kwargs: Passed to Model.fit, over fit_kwargs.

        Returns:
            The estimator itself, fitted (model_, history_).

        Raises:
            ValueError: y missing, X or y that scikit-learn's validation refuses, or a model
                that cannot be trained (see the class).
            TypeError: Parameters of the wrong types.

        Example:
            >>> import numpy as np, nerve
            >>> from nerve.wrappers import SKLearnRegressor
            >>> model = nerve.Sequential([nerve.Input(shape=(3,)), nerve.layers.Dense(1)])
            >>> model.compile(optimizer="sgd", loss="mse")
            >>> fitted = SKLearnRegressor(model).fit(np.ones((4, 3)), np.zeros(4), epochs=2)
            >>> len(fitted.history_["loss"])
            2
        """
        fit_kwargs = self._checked_params()
        X, y = self._validated(X, y)
        model_targets = self._encode_targets(y)
        model = self._model_for(X, model_targets)
        targets = self._targets_for(model, model_targets)
        history = model.fit(X, targets, **{"verbose": 0, **fit_kwargs, **kwargs})
        self.model_, self.history_ = model, history.history
        return self

    def _checked_params(self):
        """The fit_kwargs, after checking every parameter (scikit-learn sets them unchecked)."""
        if not (isinstance(self.model, Model) or callable(self.model)):
            raise TypeError(f"model: expected a compiled nerve Model or a function returning "
                            f"one, received {type(self.model).__name__}")
        if not isinstance(self.warm_start, bool):
            raise TypeError(f"warm_start: expected a bool, received "
                            f"{type(self.warm_start).__name__}")
        for name in ("model_kwargs", "fit_kwargs"):
            value = getattr(self, name)
            if value is not None and not isinstance(value, dict):
                raise TypeError(f"{name}: expected a dict or None, received "
                                f"{type(value).__name__}")
        if self.model_kwargs and isinstance(self.model, Model):
            raise ValueError("model_kwargs: only used when model is a function; model is a "
                             "Model instance")
        return self.fit_kwargs or {}

    def _validated(self, X, y):
        return validate_data(self, X, y, multi_output=True, y_numeric=True)

    def _model_for(self, X, y):
        """The model this fit trains: the previous one, the given one, its clone, or a new one
        from the function."""
        if self.warm_start and hasattr(self, "model_"):
            return self.model_
        if isinstance(self.model, Model):
            model = self.model if self.warm_start else fresh_clone(self.model)
        else:
            model = self.model(X=X, y=y, **(self.model_kwargs or {}))
            if not isinstance(model, Model):
                raise TypeError(f"model: the function returned a {type(model).__name__}, "
                                f"expected a nerve Model")
        if not model.compiled or model.loss is None:
            raise ValueError("model: compile the model with a loss and an optimizer first")
        if not model.built:
            model.build((None,) + X.shape[1:])
        if len(model.outputs) != 1:
            raise ValueError(f"model: expected a model with one output, received "
                             f"{len(model.outputs)}")
        return model

    # ---- targets: as given here; the classifier one-hot encodes its labels ---------------------
    def _encode_targets(self, y):
        """y as the model function receives it; 1-D targets become one column."""
        self._targets_were_1d = y.ndim == 1
        return y.reshape(-1, 1) if y.ndim == 1 else y

    def _targets_for(self, model, encoded):
        return encoded

    def _raw_outputs(self, X):
        """The fitted model's outputs for X, after checking X as fit did."""
        check_is_fitted(self)
        X = validate_data(self, X, reset=False)
        return self.model_.predict(X, verbose=0)
