"""The boosting wrappers are scikit-learn estimators: check_estimator passes on all six, and
early stopping, native categories and thread counts do what they say."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.utils.estimator_checks import check_estimator

from ml.boosters import (
    CatBoostClassifier,
    CatBoostRegressor,
    LightGBMClassifier,
    LightGBMRegressor,
    XGBoostClassifier,
    XGBoostRegressor,
)

ALL = [LightGBMClassifier(n_estimators=20), LightGBMRegressor(n_estimators=20),
       XGBoostClassifier(n_estimators=20), XGBoostRegressor(n_estimators=20),
       CatBoostClassifier(n_estimators=100), CatBoostRegressor(n_estimators=100)]


@pytest.mark.filterwarnings("ignore")
@pytest.mark.parametrize("estimator", ALL, ids=lambda e: type(e).__name__)
def test_each_wrapper_passes_scikit_learns_estimator_checks(estimator: object) -> None:
    results = check_estimator(estimator, on_fail=None)
    failed = [(r["check_name"], str(r["exception"])[:200]) for r in results
              if r["status"] == "failed"]
    # (the array-API checks are not run without SCIPY_ARRAY_API; they do not apply here)
    assert len(results) > 40 and not failed, failed


def _categories(n: int = 2000, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Column 0 holds category codes 0..9 whose effect is not monotonic in the code."""
    rng = np.random.default_rng(seed)
    codes = rng.integers(0, 10, n).astype(float)
    noise = rng.normal(size=(n, 2))
    effect = np.array([3, -2, 5, 0, -4, 1, 6, -1, 2, -3], dtype=float)
    y = effect[codes.astype(int)] + noise[:, 0] * 0.1
    return np.column_stack([codes, noise]), y


@pytest.mark.parametrize("cls", [LightGBMRegressor, XGBoostRegressor, CatBoostRegressor])
def test_native_categories_split_on_codes_and_an_unseen_code_predicts(cls: type) -> None:
    X, y = _categories()
    model = cls(n_estimators=300, categorical_features=[0], random_state=0).fit(X, y)
    assert model.categories_in_ == [0]
    assert np.corrcoef(model.predict(X), y)[0, 1] > 0.99
    unseen = X[:3].copy()
    unseen[:, 0] = -1.0  # a level never seen in training
    assert np.isfinite(model.predict(unseen)).all()


@pytest.mark.parametrize("cls", [LightGBMClassifier, XGBoostClassifier, CatBoostClassifier])
def test_early_stopping_keeps_the_best_round_and_zero_trains_them_all(cls: type) -> None:
    rng = np.random.default_rng(1)
    X = rng.normal(size=(600, 4))
    y = np.where(X[:, 0] + rng.normal(scale=2.0, size=600) > 0, "a", "b")  # mostly noise
    stopped = cls(n_estimators=2000, learning_rate=0.3, random_state=0).fit(X, y)
    assert stopped.best_iteration_ < 2000
    full = cls(n_estimators=30, early_stopping_rounds=0, random_state=0).fit(X, y)
    assert full.best_iteration_ == 30
    assert list(stopped.classes_) == ["a", "b"] and set(stopped.predict(X[:50])) <= {"a", "b"}


def test_the_thread_count_reaches_the_library_and_serving_uses_one() -> None:
    X, y = _categories(300)
    model = LightGBMRegressor(n_estimators=10, n_jobs=2).fit(X, y)
    assert model.model_.n_jobs == 2
    model.set_params(n_jobs=None)  # what the engine does before serving
    model.predict(X[:1])
    assert model.model_.n_jobs == 1
