"""nerve.wrappers: scikit-learn's estimator checks, clone, Pipeline, GridSearchCV,
cross_val_score in worker processes, pickling, warm_start and fit_kwargs."""
import pickle
import subprocess
import sys

import numpy as np
import pytest

import nerve
from nerve import Dense, Input, Model, Sequential

sklearn = pytest.importorskip("sklearn", minversion="1.6")
from sklearn.base import clone  # noqa: E402
from sklearn.datasets import load_iris, make_regression  # noqa: E402
from sklearn.model_selection import GridSearchCV, cross_val_score  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402
from sklearn.utils.estimator_checks import parametrize_with_checks  # noqa: E402

from nerve.wrappers import SKLearnClassifier, SKLearnRegressor, SKLearnTransformer  # noqa: E402


def dense_model(X, y, loss, output_activation="softmax", units=8):
    """A one-hidden-layer net sized from the data, as a user's model function is; seeded, so
    that two fits on the same data give the same model (the checks compare them)."""
    nerve.utils.set_random_seed(0)
    inputs = Input((X.shape[1],))
    hidden = Dense(units, activation="relu")(inputs)
    outputs = Dense(y.shape[1], activation=output_activation)(hidden)
    model = Model(inputs, outputs)
    model.compile(loss=loss, optimizer="adam")
    return model


# The checks that cannot hold for a small network trained a few epochs.
EXPECTED_FAILED_CHECKS = {
    "SKLearnClassifier": {
        "check_classifiers_classes": "a few epochs on tiny data do not always predict every "
                                     "class",
        "check_classifiers_one_label_sample_weights": "a class of zero sample weight is still "
                                                      "a class; five epochs do not learn to "
                                                      "never predict it",
    },
    "SKLearnRegressor": {},
    "SKLearnTransformer": {},
}

CHECKED = [
    SKLearnClassifier(dense_model, model_kwargs={"loss": "categorical_crossentropy"},
                      fit_kwargs={"epochs": 5}),
    SKLearnRegressor(dense_model, model_kwargs={"loss": "mse", "output_activation": None}),
    SKLearnTransformer(dense_model, model_kwargs={"loss": "mse", "output_activation": None}),
]


@parametrize_with_checks(CHECKED, expected_failed_checks=lambda estimator:
                         EXPECTED_FAILED_CHECKS[type(estimator).__name__])
def test_scikit_learn_estimator_checks(estimator, check):
    check(estimator)


def iris():
    X, y = load_iris(return_X_y=True)
    return X, np.array(["setosa", "versicolor", "virginica"])[y]  # labels that are not 0..k-1


def classifier(**kwargs):
    return SKLearnClassifier(dense_model, model_kwargs={"loss": "categorical_crossentropy"},
                             fit_kwargs={"epochs": 30}, **kwargs)


def compiled_binary_model(input_width):
    """A built model with one sigmoid output: it fits two classes from 0/1 targets."""
    nerve.utils.set_random_seed(0)
    model = Sequential([Input((input_width,)), Dense(8, activation="relu"),
                        Dense(1, activation="sigmoid")])
    model.compile(loss="binary_crossentropy", optimizer="adam")
    return model


def test_predict_returns_the_original_labels_and_the_model_sees_one_hot_targets():
    X, y = iris()
    seen = {}

    def recording_model(X, y):
        seen["y"] = y
        return dense_model(X, y, "categorical_crossentropy")

    estimator = SKLearnClassifier(recording_model, fit_kwargs={"epochs": 30}).fit(X, y)
    assert list(estimator.classes_) == ["setosa", "versicolor", "virginica"]
    assert estimator.n_features_in_ == 4
    np.testing.assert_array_equal(seen["y"][[0, 50, 100]], np.eye(3))
    assert set(estimator.predict(X)) <= set(estimator.classes_)
    assert estimator.score(X, y) > 0.6


def test_a_model_instance_is_cloned_per_fit_and_left_untouched():
    X, y = load_iris(return_X_y=True)
    keep = y < 2  # two classes for the one sigmoid output
    X = StandardScaler().fit_transform(X)
    model = compiled_binary_model(4)
    before = model.get_weights()
    estimator = SKLearnClassifier(model, fit_kwargs={"epochs": 40}).fit(X[keep], y[keep])
    assert estimator.model_ is not model
    for original, now in zip(before, model.get_weights()):
        np.testing.assert_array_equal(original, now)
    assert estimator.model_.outputs[0].shape[-1] == 1
    scores = estimator.decision_function(X[keep])
    assert scores.shape == (keep.sum(),)
    np.testing.assert_array_equal(estimator.predict(X[keep]), (scores > 0).astype(int))
    assert estimator.score(X[keep], y[keep]) > 0.9


def test_warm_start_continues_training_the_same_model():
    X, y = iris()
    model = dense_model(X, np.eye(3), "categorical_crossentropy")
    estimator = SKLearnClassifier(model, warm_start=True, fit_kwargs={"epochs": 3}).fit(X, y)
    assert estimator.model_ is model
    first_loss = estimator.history_["loss"]
    weights = [w.copy() for w in model.get_weights()]
    estimator.fit(X, y)
    assert estimator.model_ is model
    assert estimator.history_["loss"][0] < first_loss[0]  # started from the trained weights
    assert any(not np.array_equal(a, b) for a, b in zip(weights, model.get_weights()))
    cold = SKLearnClassifier(model, fit_kwargs={"epochs": 3}).fit(X, y)
    assert cold.model_ is not model


def test_fit_kwargs_reach_model_fit_and_fit_arguments_take_precedence():
    X, y = iris()
    estimator = classifier()
    estimator.set_params(fit_kwargs={"epochs": 4, "batch_size": 150})
    assert len(estimator.fit(X, y).history_["loss"]) == 4
    assert len(estimator.fit(X, y, epochs=2).history_["loss"]) == 2
    assert estimator.fit_kwargs == {"epochs": 4, "batch_size": 150}  # parameters unchanged
    # validation_split goes to Model.fit, which then logs val_loss
    assert "val_loss" in estimator.fit(X, y, validation_split=0.2).history_


def test_regressor_keeps_the_target_shape_and_fits_several_outputs():
    X, y = make_regression(n_samples=120, n_features=5, n_targets=2, random_state=0)
    y = y / y.std(axis=0)
    regressor = SKLearnRegressor(dense_model, model_kwargs={"loss": "mse", "units": 16,
                                                            "output_activation": None},
                                 fit_kwargs={"epochs": 60})
    assert regressor.fit(X, y[:, 0]).predict(X).shape == (120,)
    assert regressor.fit(X, y).predict(X).shape == (120, 2)
    assert regressor.score(X, y) > 0.5


def test_transformer_outputs_the_model_outputs_in_a_pipeline():
    X, y = iris()
    one_hot = (y[:, None] == np.unique(y)).astype(np.float32)
    embedding = SKLearnTransformer(dense_model, model_kwargs={"loss": "mse", "units": 4},
                                   fit_kwargs={"epochs": 5})
    pipeline = make_pipeline(StandardScaler(), embedding)
    assert pipeline.fit_transform(X, one_hot).shape == (150, 3)


def test_clone_copies_a_model_parameter_with_its_weights():
    X, y = iris()
    model = dense_model(X, np.eye(3), "categorical_crossentropy")
    estimator = SKLearnClassifier(model, warm_start=True, fit_kwargs={"epochs": 2})
    copy = clone(estimator)
    assert copy.model is not model and copy.get_params()["fit_kwargs"] == {"epochs": 2}
    for original, copied in zip(model.get_weights(), copy.model.get_weights()):
        np.testing.assert_array_equal(original, copied)
    copy.fit(X, y)
    assert copy.model_ is copy.model and not hasattr(estimator, "model_")


def test_pipeline_and_grid_search_over_a_model_kwargs_parameter():
    X, y = iris()
    pipeline = make_pipeline(StandardScaler(), classifier())
    grid = {"sklearnclassifier__model_kwargs": [
        {"loss": "categorical_crossentropy", "units": units} for units in (2, 16)]}
    search = GridSearchCV(pipeline, grid, cv=2).fit(X, y)
    assert search.best_estimator_[-1].model_.layers[-2].units in (2, 16)
    assert set(search.predict(X)) <= set(np.unique(y))


def test_cross_val_score_in_two_worker_processes():
    """The workers get the estimator pickled, its Model parameter included."""
    X, y = iris()
    model = dense_model(X, np.eye(3), "categorical_crossentropy")
    # Each fold starts from fresh random weights drawn in its worker: enough steps (40 epochs
    # of 8-row batches) that every start learns iris (lowest fold 0.74 over 12 seeds).
    estimator = SKLearnClassifier(model, fit_kwargs={"epochs": 40, "batch_size": 8})
    scores = cross_val_score(make_pipeline(StandardScaler(), estimator), X, y, cv=3, n_jobs=2)
    assert scores.shape == (3,) and np.all(scores > 0.5)


def test_a_fitted_estimator_pickles_with_its_model_and_optimizer_state():
    X, y = iris()
    model = dense_model(X, np.eye(3), "categorical_crossentropy")
    estimator = SKLearnClassifier(model, warm_start=True, fit_kwargs={"epochs": 3}).fit(X, y)
    restored = pickle.loads(pickle.dumps(estimator))
    np.testing.assert_array_equal(restored.predict(X), estimator.predict(X))
    assert restored.model_ is restored.model  # one model under both names, as before
    np.testing.assert_array_equal(restored.model_.optimizer.get_state()[0],
                                  estimator.model_.optimizer.get_state()[0])
    restored.fit(X, y)  # and it trains on
    assert len(restored.history_["loss"]) == 3


def test_a_model_not_built_yet_clones_pickles_and_builds_from_the_data():
    """Sequential without an Input: no weights until fit (nerve's files cannot hold it)."""
    model = Sequential([Dense(4, activation="relu"), Dense(1)])
    model.compile(loss="mse", optimizer="adam")
    estimator = SKLearnRegressor(model, fit_kwargs={"epochs": 2})
    X, y = make_regression(n_samples=30, n_features=3, random_state=0)
    for copy in (clone(estimator), pickle.loads(pickle.dumps(estimator))):
        assert not copy.model.built and copy.model.compiled
        assert copy.fit(X, y).predict(X).shape == (30,)
    assert not model.built


@pytest.mark.parametrize("params, error, message", [
    ({"model": "dense"}, TypeError, "model: expected a compiled nerve Model"),
    ({"model": lambda X, y: "dense"}, TypeError, "model: the function returned a str"),
    ({"warm_start": 1}, TypeError, "warm_start: expected a bool, received int"),
    ({"model_kwargs": ["loss"]}, TypeError, "model_kwargs: expected a dict or None"),
    ({"fit_kwargs": 5}, TypeError, "fit_kwargs: expected a dict or None, received int"),
    ({"model": lambda X, y: Sequential([Input((4,)), Dense(3)])}, ValueError,
     "model: compile the model"),
    ({"model": lambda X, y: compiled_binary_model(4)}, ValueError,
     r"model: its output has 1 columns, expected one per class \(3: "),
])
def test_bad_parameters_are_refused_by_name_before_training(params, error, message):
    X, y = iris()
    estimator = classifier().set_params(**{"model_kwargs": None, **params})
    with pytest.raises(error, match=message):
        estimator.fit(X, y)
    assert not hasattr(estimator, "model_")


def test_model_kwargs_with_a_model_instance_are_refused():
    with pytest.raises(ValueError, match="model_kwargs: only used when model is a function"):
        SKLearnClassifier(compiled_binary_model(4), model_kwargs={"units": 3}).fit(
            np.zeros((4, 4)), [0, 1, 0, 1])


def test_continuous_targets_are_not_classes():
    with pytest.raises(ValueError, match="Unknown label type"):
        classifier().fit(np.zeros((4, 4)), [0.5, 1.5, 0.25, 2.0])


def run_python(code):
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60)


def test_import_nerve_does_not_import_scikit_learn_and_wrappers_load_on_use():
    result = run_python("import sys, nerve; assert 'sklearn' not in sys.modules; "
                        "print(nerve.wrappers.SKLearnRegressor.__name__)")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "SKLearnRegressor"


def test_wrappers_without_scikit_learn_say_what_to_install():
    result = run_python("import sys; sys.modules['sklearn'] = None; import nerve.wrappers")
    assert "ImportError: nerve.wrappers needs scikit-learn >= 1.6: pip install " \
           "scikit-learn" in result.stderr
