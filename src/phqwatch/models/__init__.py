"""Models: the estimator contract, the model-folder format, the shipped default (lexical-ridge) and the registry."""

from phqwatch.models.base import PHQ9Estimator, UserEstimate, conformal_quantile
from phqwatch.models.registry import DEFAULT_MODEL_DIR, ESTIMATORS, estimator_class, load_model

__all__ = [
    "DEFAULT_MODEL_DIR",
    "ESTIMATORS",
    "PHQ9Estimator",
    "UserEstimate",
    "conformal_quantile",
    "estimator_class",
    "load_model",
]
