"""SKLearnClassifier, SKLearnRegressor and SKLearnTransformer (keras.wrappers' names)."""
from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import ClassifierMixin, RegressorMixin, TransformerMixin
from sklearn.utils.multiclass import check_classification_targets, type_of_target
from sklearn.utils.validation import validate_data

from .base import ESTIMATOR_ARGUMENTS, NerveEstimator


class SKLearnClassifier(ClassifierMixin, NerveEstimator):
    __doc__ = """A scikit-learn classifier training a nerve model (keras.wrappers' one).

    The labels (any sortable values) are one-hot encoded in the order of `classes_`: a model
    function receives those columns as `y`, so its output layer can take their count. A model
    with one sigmoid output fits two classes from the 0/1 column instead. `predict` returns
    the original labels; `decision_function` the scores (for two classes, one score per sample,
    positive for `classes_[1]`). Also raises ValueError at fit for labels that are not binary
    or multiclass, a single class, or an output width that fits neither.

""" + ESTIMATOR_ARGUMENTS + """
    Example:
        >>> import numpy as np, nerve
        >>> from nerve.wrappers import SKLearnClassifier
        >>> def build(X, y):
        ...     model = nerve.Sequential([nerve.Input(shape=(X.shape[1],)),
        ...                               nerve.layers.Dense(y.shape[1], activation="softmax")])
        ...     model.compile(optimizer="adam", loss="categorical_crossentropy")
        ...     return model
        >>> X, y = np.random.default_rng(0).normal(size=(12, 3)), np.array(["a", "b"] * 6)
        >>> classifier = SKLearnClassifier(model=build, fit_kwargs={"epochs": 1}).fit(X, y)
        >>> classifier.classes_.tolist(), classifier.predict(X).shape
        (['a', 'b'], (12,))
    """

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.poor_score = True  # a few epochs of a small net
        return tags

    def _validated(self, X, y):
        X, y = validate_data(self, X, y)
        check_classification_targets(y)
        kind = type_of_target(y)
        if kind not in ("binary", "multiclass"):
            raise ValueError(f"y: expected binary or multiclass labels, received {kind} ones")
        return X, y

    def _encode_targets(self, y):
        classes, indices = np.unique(y, return_inverse=True)
        if len(classes) < 2:
            raise ValueError(f"y: a classifier needs at least two classes, received only one "
                             f"class: {classes.tolist()[0]!r}")
        self.classes_ = classes
        return np.eye(len(classes), dtype=np.float32)[indices]

    def _targets_for(self, model, one_hot):
        width = model.outputs[0].shape[-1]
        if width == one_hot.shape[1]:
            return one_hot
        if width == 1 and one_hot.shape[1] == 2:
            return one_hot[:, 1:]
        raise ValueError(f"model: its output has {width} columns, expected one per class "
                         f"({one_hot.shape[1]}: {list(self.classes_)})"
                         + (" or 1 for two classes" if one_hot.shape[1] == 2 else ""))

    def decision_function(self, X: Any) -> np.ndarray:
        """Return the scores per class for X.

        Args:
            X: Array-like (n_samples, n_features), as in fit.

        Returns:
            (n_samples, n_classes) scores; for two classes, one score per sample, positive
            where predict says classes_[1].

        Raises:
            sklearn.exceptions.NotFittedError: Before fit.
            ValueError: X with another number of features than in fit.

        Example:
            >>> import numpy as np, nerve
            >>> from nerve.wrappers import SKLearnClassifier
            >>> model = nerve.Sequential([nerve.Input(shape=(3,)),
            ...                           nerve.layers.Dense(1, activation="sigmoid")])
            >>> model.compile(optimizer="sgd", loss="binary_crossentropy")
            >>> X, y = np.ones((4, 3)), np.array([0, 1, 0, 1])
            >>> classifier = SKLearnClassifier(model, fit_kwargs={"epochs": 1}).fit(X, y)
            >>> classifier.decision_function(X).shape
            (4,)
        """
        outputs = self._raw_outputs(X)
        if len(self.classes_) > 2:
            return outputs
        return outputs[:, 0] - 0.5 if outputs.shape[1] == 1 else outputs[:, 1] - outputs[:, 0]

    def predict(self, X: Any) -> np.ndarray:
        """Return the predicted labels, from the classes_ seen in fit.

        Args:
            X: The samples (n_samples, n_features), array-like.

        Returns:
            (n_samples,) labels, of the dtype of the labels fit saw.

        Raises:
            sklearn.exceptions.NotFittedError: Called before fit.
            ValueError: X's number of features is not fit's.

        Example:
            >>> import numpy as np, nerve
            >>> from nerve.wrappers import SKLearnClassifier
            >>> inputs = nerve.Input(shape=(2,))
            >>> model = nerve.Model(inputs, nerve.layers.Dense(2, activation="softmax")(inputs))
            >>> model.compile(loss="categorical_crossentropy")
            >>> fitted = SKLearnClassifier(model).fit(np.eye(2), ["no", "yes"], epochs=1)
            >>> fitted.predict(np.eye(2)).dtype.kind  # str labels, as given
            'U'
        """
        outputs = self._raw_outputs(X)
        chosen = (outputs[:, 0] > 0.5).astype(np.intp) if outputs.shape[1] == 1 \
            else outputs.argmax(axis=1)
        return self.classes_[chosen]


class SKLearnRegressor(RegressorMixin, NerveEstimator):
    __doc__ = """A scikit-learn regressor training a nerve model (keras.wrappers' one).

    Targets of shape (n_samples,) give predictions of that shape; (n_samples, k) ones fit k
    outputs.

""" + ESTIMATOR_ARGUMENTS + """
    Example:
        >>> import numpy as np, nerve
        >>> from nerve.wrappers import SKLearnRegressor
        >>> model = nerve.Sequential([nerve.Input(shape=(3,)), nerve.layers.Dense(1)])
        >>> model.compile(optimizer="sgd", loss="mse")
        >>> regressor = SKLearnRegressor(model, fit_kwargs={"epochs": 1})
        >>> regressor.fit(np.ones((6, 3)), np.zeros(6)).predict(np.ones((2, 3))).shape
        (2,)
    """

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.regressor_tags.poor_score = True
        tags.target_tags.multi_output = True
        return tags

    def predict(self, X: Any) -> np.ndarray:
        """Return float64 predictions, as scikit-learn's regressors give.

        (scikit-learn's checks require float64.)

        Args:
            X: Samples shaped (n_samples, n_features) like fit's.

        Returns:
            (n_samples,) for 1-D targets in fit, else (n_samples, k).

        Raises:
            sklearn.exceptions.NotFittedError: If fit has not run.
            ValueError: For X of other features than fit's.

        Example:
            >>> import numpy as np, nerve
            >>> from nerve.wrappers import SKLearnRegressor
            >>> def two_outputs(X, y):
            ...     net = nerve.Sequential([nerve.layers.Dense(y.shape[1])])
            ...     net.compile(optimizer="sgd", loss="mse")
            ...     return net
            >>> regressor = SKLearnRegressor(two_outputs).fit(np.ones((6, 3)), np.zeros((6, 2)),
            ...                                                epochs=1)
            >>> regressor.predict(np.ones((2, 3))).dtype
            dtype('float64')
        """
        outputs = self._raw_outputs(X).astype(np.float64)
        return outputs[:, 0] if self._targets_were_1d and outputs.shape[1] == 1 else outputs


class SKLearnTransformer(TransformerMixin, NerveEstimator):
    __doc__ = """A scikit-learn transformer whose transform is a trained nerve model's output.

    An embedding, say; fit trains the model on X, y (keras.wrappers.SKLearnTransformer).

""" + ESTIMATOR_ARGUMENTS + """
    Example:
        >>> import numpy as np, nerve
        >>> from nerve.wrappers import SKLearnTransformer
        >>> encoder = nerve.Sequential([nerve.layers.Dense(2, name="code")])
        >>> encoder.compile(loss="mse")
        >>> codes = SKLearnTransformer(encoder).fit_transform(np.ones((6, 3)), np.zeros((6, 2)),
        ...                                                   epochs=1)
        >>> codes.shape
        (6, 2)
    """

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = []  # the model's dtype, float32 by default
        return tags

    def transform(self, X: Any) -> np.ndarray:
        """Return the model's outputs for X.

        Args:
            X: What to transform, (n_samples, n_features) as in fit.

        Returns:
            (n_samples, output width) in the model's dtype.

        Raises:
            sklearn.exceptions.NotFittedError: Before fit (see the class's example).
            ValueError: X with another number of features than in fit.

        Example:
            >>> from nerve.wrappers import SKLearnTransformer
            >>> SKLearnTransformer(model=None).transform([[1.0, 2.0]])
            Traceback (most recent call last):
                ...
            sklearn.exceptions.NotFittedError: This SKLearnTransformer instance is not fitted...
        """
        return self._raw_outputs(X)
