"""SKLearnClassifier, SKLearnRegressor and SKLearnTransformer (keras.wrappers' names)."""
import numpy as np
from sklearn.base import ClassifierMixin, RegressorMixin, TransformerMixin
from sklearn.utils.multiclass import check_classification_targets, type_of_target
from sklearn.utils.validation import validate_data

from .base import NerveEstimator


class SKLearnClassifier(ClassifierMixin, NerveEstimator):
    """A scikit-learn classifier training a nerve model (see NerveEstimator for the arguments).

    The labels (any sortable values) are one-hot encoded in the order of `classes_`: a model
    function receives those columns as `y`, so its output layer can take their count. A model
    with one sigmoid output fits two classes from the 0/1 column instead. `predict` returns
    the original labels; `decision_function` the scores (for two classes, one score per sample,
    positive for `classes_[1]`).
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

    def decision_function(self, X):
        """Scores per class (n_samples, n_classes); for two classes, one score per sample that
        is positive where predict says classes_[1]."""
        outputs = self._raw_outputs(X)
        if len(self.classes_) > 2:
            return outputs
        return outputs[:, 0] - 0.5 if outputs.shape[1] == 1 else outputs[:, 1] - outputs[:, 0]

    def predict(self, X):
        """The predicted labels, from the classes_ seen in fit."""
        outputs = self._raw_outputs(X)
        chosen = (outputs[:, 0] > 0.5).astype(np.intp) if outputs.shape[1] == 1 \
            else outputs.argmax(axis=1)
        return self.classes_[chosen]


class SKLearnRegressor(RegressorMixin, NerveEstimator):
    """A scikit-learn regressor training a nerve model (see NerveEstimator for the arguments).
    Targets of shape (n_samples,) give predictions of that shape; (n_samples, k) ones fit k
    outputs."""

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.regressor_tags.poor_score = True
        tags.target_tags.multi_output = True
        return tags

    def predict(self, X):
        """Float64 predictions, as scikit-learn's regressors give (and its checks require)."""
        outputs = self._raw_outputs(X).astype(np.float64)
        return outputs[:, 0] if self._targets_were_1d and outputs.shape[1] == 1 else outputs


class SKLearnTransformer(TransformerMixin, NerveEstimator):
    """A scikit-learn transformer whose transform is a trained nerve model's output (an
    embedding, say); fit trains the model on X, y (see NerveEstimator for the arguments)."""

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = []  # the model's dtype, float32 by default
        return tags

    def transform(self, X):
        """The model's outputs for X, (n_samples, output width)."""
        return self._raw_outputs(X)
