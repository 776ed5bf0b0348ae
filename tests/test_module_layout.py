"""callbacks, optimizers, losses and metrics are packages, Layer and the merge layers are split
over modules: every name importable from the old modules still is, from the same place."""
import importlib
import pickle

import pytest

import nerve

# The public names of each module before the split (its __all__ and what else it defined).
BEFORE = {
    "nerve.callbacks": ["Callback", "CallbackList", "History", "ProgbarLogger", "EarlyStopping",
                        "ModelCheckpoint", "LearningRateScheduler", "ReduceLROnPlateau",
                        "CSVLogger", "TerminateOnNaN", "LambdaCallback", "Logs",
                        "_ignore_batch"],
    "nerve.optimizers": ["Optimizer", "SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "schedules",
                         "get", "serialize", "deserialize", "LearningRateSchedule",
                         "ExponentialDecay", "InverseTimeDecay", "PiecewiseConstantDecay",
                         "PolynomialDecay", "CosineDecay"],
    "nerve.optimizers.schedules": ["LearningRateSchedule", "ExponentialDecay", "CosineDecay",
                                   "InverseTimeDecay", "PiecewiseConstantDecay",
                                   "PolynomialDecay", "get", "serialize", "deserialize"],
    "nerve.losses": ["Loss", "LossFunctionWrapper", "BinaryCrossentropy", "Huber",
                     "CategoricalCrossentropy", "SparseCategoricalCrossentropy",
                     "MeanSquaredError", "MeanAbsoluteError", "mean_squared_error",
                     "mean_absolute_error", "binary_crossentropy", "categorical_crossentropy",
                     "sparse_categorical_crossentropy", "huber", "mse", "mae", "get",
                     "serialize", "deserialize"],
    "nerve.metrics": ["Metric", "MeanMetricWrapper", "BinaryAccuracy", "CategoricalAccuracy",
                      "SparseCategoricalAccuracy", "Precision", "Recall", "AUC",
                      "MeanSquaredError", "MeanAbsoluteError", "get", "serialize",
                      "deserialize", "check", "resolve"],
    "nerve.layers.layer": ["Layer", "unique_name", "IntegerInputsExpected", "batch_shape",
                           "shape_tuple", "Shape", "ShapeLike", "OutputShape", "LayerT"],
    "nerve.layers.merging": ["Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum",
                             "Concatenate", "Dot", "add", "subtract", "multiply", "average",
                             "maximum", "minimum", "concatenate", "dot"],
}


@pytest.mark.parametrize("module", sorted(BEFORE))
def test_old_names_import_from_the_old_place(module):
    found = importlib.import_module(module)
    assert [name for name in BEFORE[module] if not hasattr(found, name)] == []


def test_schedules_submodule_and_functional_merges_keep_their_module():
    from nerve.optimizers.schedules import CosineDecay
    assert nerve.optimizers.ExponentialDecay is nerve.optimizers.schedules.ExponentialDecay
    assert pickle.loads(pickle.dumps(CosineDecay(0.1, 10)))(0) == CosineDecay(0.1, 10)(0)
    assert nerve.layers.add.__module__ == "nerve.layers.merging"
