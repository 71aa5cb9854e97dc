"""Feature engineering pipeline steps: polynomial terms, interactions and feature selection."""

from __future__ import annotations

from math import comb
from typing import Any

import numpy as np
from sklearn.ensemble import ExtraTreesClassifier, ExtraTreesRegressor
from sklearn.feature_selection import SelectFromModel, SelectKBest, f_classif, f_regression
from sklearn.preprocessing import PolynomialFeatures

from ml.config import FeatureConfig
from ml.errors import ConfigError

MAX_POLYNOMIAL_FEATURES = 5000


class BoundedPolynomialFeatures(PolynomialFeatures):
    """PolynomialFeatures that refuses to create more than `max_output_features` columns."""

    _parameter_constraints: dict = {
        **PolynomialFeatures._parameter_constraints, "max_output_features": [int],
    }

    def __init__(
        self,
        degree: int = 2,
        *,
        interaction_only: bool = False,
        include_bias: bool = False,
        order: str = "C",
        max_output_features: int = MAX_POLYNOMIAL_FEATURES,
    ) -> None:
        super().__init__(
            degree=degree, interaction_only=interaction_only, include_bias=include_bias,
            order=order,
        )
        self.max_output_features = max_output_features

    def fit(self, X: Any, y: Any = None) -> BoundedPolynomialFeatures:
        shape = getattr(X, "shape", None) or np.shape(np.asarray(X))
        if len(shape) != 2:
            return super().fit(X, y)  # scikit-learn's own error for 1-D input
        n_in = shape[1]
        n_out = polynomial_output_size(n_in, self.degree, self.interaction_only)
        if n_out > self.max_output_features:
            raise ConfigError(
                f"Polynomial features of degree {self.degree} on {n_in} columns would make "
                f"{n_out} columns (at most {self.max_output_features}). Lower the degree or "
                "use fewer features.",
                field="feature_engineering",
            )
        return super().fit(X, y)


def polynomial_output_size(n_features: int, degree: int, interaction_only: bool) -> int:
    """Count the columns PolynomialFeatures makes (without the bias column)."""
    if interaction_only:
        return sum(comb(n_features, d) for d in range(1, degree + 1))
    return comb(n_features + degree, degree) - 1


def polynomial_step(config: FeatureConfig) -> BoundedPolynomialFeatures | None:
    """Return the polynomial/interaction step, or None when the config asks for neither.

    `interactions` alone means pairwise products (degree 2, interaction_only); with a
    degree above 1 it keeps products of distinct columns only, up to that degree.
    """
    if config.polynomial_degree <= 1 and not config.interactions:
        return None
    degree = max(config.polynomial_degree, 2)
    return BoundedPolynomialFeatures(degree=degree, interaction_only=config.interactions)


def k_best_step(k: int, *, task: str) -> SelectKBest:
    """Keep the k columns with the best univariate F-score for the task."""
    score = f_classif if task == "classification" else f_regression
    return SelectKBest(score_func=score, k=k)


def model_selection_step(*, task: str, random_state: int) -> SelectFromModel:
    """Keep the columns whose extra-trees importance is above the mean."""
    model_class = ExtraTreesClassifier if task == "classification" else ExtraTreesRegressor
    model = model_class(n_estimators=50, max_depth=8, random_state=random_state, n_jobs=1)
    return SelectFromModel(model, threshold="mean")


def build_feature_steps(
    config: FeatureConfig, *, task: str, random_state: int = 0
) -> list[tuple[str, Any]]:
    """Return the (name, transformer) pipeline steps the feature config asks for, in order."""
    steps: list[tuple[str, Any]] = []
    poly = polynomial_step(config)
    if poly is not None:
        steps.append(("polynomial", poly))
    if config.select_k_best is not None:
        steps.append(("select_k_best", k_best_step(config.select_k_best, task=task)))
    if config.select_from_model:
        steps.append(("select_from_model",
                      model_selection_step(task=task, random_state=random_state)))
    return steps
