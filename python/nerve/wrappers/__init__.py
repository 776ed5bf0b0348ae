"""scikit-learn estimators around nerve models (keras.wrappers): SKLearnClassifier,
SKLearnRegressor and SKLearnTransformer work in clone, Pipeline, GridSearchCV and
cross_val_score (also with n_jobs > 1: they pickle).

    from nerve.wrappers import SKLearnClassifier
    estimator = SKLearnClassifier(model=build_model, model_kwargs={"units": 16},
                                  fit_kwargs={"epochs": 20})

Needs scikit-learn >= 1.6, which `import nerve` itself never imports.
"""
import re as _re

_MINIMUM_SKLEARN = (1, 6)

try:
    import sklearn as _sklearn
except ImportError:
    raise ImportError("nerve.wrappers needs scikit-learn >= 1.6: pip install scikit-learn "
                      "(or pip install \"nerve[sklearn]\")") from None
if tuple(map(int, _re.match(r"(\d+)\.(\d+)",  # type: ignore[union-attr]
                            _sklearn.__version__).groups())) < _MINIMUM_SKLEARN:
    raise ImportError(f"nerve.wrappers needs scikit-learn >= 1.6, found {_sklearn.__version__}: "
                      f"pip install -U scikit-learn")

from .estimators import SKLearnClassifier, SKLearnRegressor, SKLearnTransformer  # noqa: E402

__all__ = ["SKLearnClassifier", "SKLearnRegressor", "SKLearnTransformer"]
