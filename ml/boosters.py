"""LightGBM, XGBoost and CatBoost behind one scikit-learn face, with early stopping built in.

Each library's own scikit-learn wrapper needs an `eval_set` passed to `fit` for early stopping,
categorical columns named at `fit` time (LightGBM), in the constructor (XGBoost) or as integer
columns of a frame (CatBoost), and labels 0..n-1 (XGBoost). Inside our pipelines `fit(X, y)` is
all a model gets, so these estimators do the rest themselves:

- `early_stopping_rounds`: a stratified `validation_fraction` of the training rows is held out
  and boosting stops when it has not improved for that many rounds (the best round is kept);
  0 or null trains all `n_estimators` rounds on every row.
- `categorical_features`: indices of columns holding integer category codes (the engine's
  native-categories preprocessing puts them first; -1 is a level never seen in training), split
  on natively by each library. Missing numbers (NaN) are handled natively by all three.
- `n_jobs`: the library's thread count, for fitting and for predicting (the serving process
  sets it to one thread per prediction).

The fitted library model is `model_`; `classes_`, `n_features_in_` and `feature_importances_`
are the usual scikit-learn attributes. Libraries are imported inside `fit`, never at module
import.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.model_selection import train_test_split
from sklearn.utils import assert_all_finite
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

MIN_ROWS_FOR_EARLY_STOPPING = 40


class _Booster(BaseEstimator):
    """Shared fit/predict logic; subclasses build and fit their library's model."""

    _classifier = False

    def fit(self, X: Any, y: Any) -> _Booster:
        # scikit-learn's own checks: a 2-D table of numbers (NaN is missing, infinity is not
        # allowed), a 1-D target, the number of columns remembered for predict.
        X, y = validate_data(self, X, y, dtype=np.float64, ensure_all_finite="allow-nan",
                             y_numeric=not self._classifier)
        if X.shape[0] < 2:
            raise ValueError(f"{type(self).__name__} needs at least 2 samples; got 1 sample.")
        if self._classifier:
            if y.dtype.kind == "f":
                assert_all_finite(y, input_name="y")
            check_classification_targets(y)
            self.classes_, y = np.unique(y, return_inverse=True)
            if len(self.classes_) < 2:
                raise ValueError("Classification needs at least 2 classes in the data; it "
                                 "holds only one class.")
        else:
            y = y.astype(np.float64)
        cats = sorted({int(i) for i in (self.categorical_features or [])
                       if 0 <= int(i) < X.shape[1]})
        train, valid = self._early_stopping_split(y)
        valid_set = None if valid is None else (X[valid], y[valid])
        self.model_ = self._fit_library(X[train], y[train], valid_set, cats)
        self.categories_in_ = cats
        self.best_iteration_ = self._best_iteration()
        return self

    def _early_stopping_split(self, y: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        index = np.arange(len(y))
        rounds = self.early_stopping_rounds or 0
        if rounds <= 0 or len(y) < MIN_ROWS_FOR_EARLY_STOPPING:
            return index, None
        stratify = None
        if self._classifier:
            counts = np.bincount(y)
            n_valid = int(np.ceil(len(y) * self.validation_fraction))
            if counts.min() >= 2 and n_valid >= len(counts):
                stratify = y
        train, valid = train_test_split(index, test_size=self.validation_fraction,
                                        random_state=self.random_state, stratify=stratify)
        if self._classifier and len(np.unique(y[train])) < len(self.classes_):
            return index, None  # a class would vanish from the fit: no held-out rows
        return np.sort(train), np.sort(valid)

    def _threads(self) -> int:
        return max(1, int(self.n_jobs or 1))

    def _checked(self, X: Any) -> np.ndarray:
        """X as predict reads it, checked against what fit saw."""
        check_is_fitted(self, "model_")
        return validate_data(self, X, reset=False, dtype=np.float64,
                             ensure_all_finite="allow-nan")

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True  # missing values go down each tree's learned side
        return tags

    def _serving(self) -> Any:
        """The library model, set to the current thread count (LightGBM, XGBoost)."""
        if self.model_.n_jobs != self._threads():
            self.model_.set_params(n_jobs=self._threads())
        return self.model_

    def _library_input(self, X: np.ndarray) -> np.ndarray:
        return X

    def _raw_predict(self, X: np.ndarray) -> np.ndarray:
        return self._serving().predict(self._library_input(X))

    def _raw_proba(self, X: np.ndarray) -> np.ndarray:
        return self._serving().predict_proba(self._library_input(X))

    @property
    def feature_importances_(self) -> np.ndarray:
        check_is_fitted(self, "model_")
        values = np.asarray(self.model_.feature_importances_, dtype=np.float64)
        total = values.sum()
        return values / total if total > 0 else values


class _ClassifierPart(ClassifierMixin):
    _classifier = True

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities, columns in the order of `classes_`."""
        proba = np.asarray(self._raw_proba(self._checked(X)), dtype=np.float64)
        if proba.ndim == 1:  # a single-class fit
            proba = proba.reshape(-1, 1)
        return proba

    def predict(self, X: Any) -> np.ndarray:
        """The most probable class of each row."""
        proba = self.predict_proba(X)
        return self.classes_.take(np.argmax(proba, axis=1))


class _RegressorPart(RegressorMixin):
    def predict(self, X: Any) -> np.ndarray:
        """The predicted value of each row."""
        return np.asarray(self._raw_predict(self._checked(X)), dtype=np.float64).ravel()


# ---------------------------------------------------------------- LightGBM


class _LightGBM(_Booster):
    def __init__(self, *, n_estimators: int = 1000, learning_rate: float = 0.1,
                 num_leaves: int = 31, max_depth: int | None = None,
                 min_child_samples: int = 20, subsample: float = 1.0,
                 colsample_bytree: float = 1.0, reg_lambda: float = 0.0,
                 class_weight: str | None = None, early_stopping_rounds: int | None = 50,
                 validation_fraction: float = 0.1, categorical_features: Any = None,
                 n_jobs: int | None = 1, random_state: int | None = None) -> None:
        self.n_estimators, self.learning_rate = n_estimators, learning_rate
        self.num_leaves, self.max_depth = num_leaves, max_depth
        self.min_child_samples, self.subsample = min_child_samples, subsample
        self.colsample_bytree, self.reg_lambda = colsample_bytree, reg_lambda
        self.class_weight = class_weight
        self.early_stopping_rounds = early_stopping_rounds
        self.validation_fraction = validation_fraction
        self.categorical_features, self.n_jobs = categorical_features, n_jobs
        self.random_state = random_state

    def _fit_library(self, X: np.ndarray, y: np.ndarray, valid: Any, cats: list[int]) -> Any:
        import lightgbm

        cls = lightgbm.LGBMClassifier if self._classifier else lightgbm.LGBMRegressor
        extra: dict[str, Any] = {"class_weight": self.class_weight} if self._classifier else {}
        model = cls(
            n_estimators=self.n_estimators, learning_rate=self.learning_rate,
            num_leaves=self.num_leaves, max_depth=self.max_depth or -1,
            min_child_samples=self.min_child_samples, subsample=self.subsample,
            subsample_freq=1 if self.subsample < 1.0 else 0,
            colsample_bytree=self.colsample_bytree, reg_lambda=self.reg_lambda,
            random_state=self.random_state, n_jobs=self._threads(), verbose=-1,
            deterministic=True, force_row_wise=True, **extra,
        )
        fit: dict[str, Any] = {"categorical_feature": cats or "auto"}
        if valid is not None:
            fit["eval_X"], fit["eval_y"] = (valid[0],), (valid[1],)
            fit["callbacks"] = [lightgbm.early_stopping(int(self.early_stopping_rounds or 0),
                                                        verbose=False)]
        return model.fit(X, y, **fit)

    def _best_iteration(self) -> int:
        return int(getattr(self.model_, "best_iteration_", 0) or self.model_.n_estimators_)


class LightGBMClassifier(_ClassifierPart, _LightGBM):
    """LightGBM gradient boosting for classes."""


class LightGBMRegressor(_RegressorPart, _LightGBM):
    """LightGBM gradient boosting for numbers."""


# ---------------------------------------------------------------- XGBoost


class _XGBoost(_Booster):
    def __init__(self, *, n_estimators: int = 1000, learning_rate: float = 0.1,
                 max_depth: int = 6, min_child_weight: float = 1.0, subsample: float = 1.0,
                 colsample_bytree: float = 1.0, reg_lambda: float = 1.0,
                 early_stopping_rounds: int | None = 50, validation_fraction: float = 0.1,
                 categorical_features: Any = None, n_jobs: int | None = 1,
                 random_state: int | None = None) -> None:
        self.n_estimators, self.learning_rate = n_estimators, learning_rate
        self.max_depth, self.min_child_weight = max_depth, min_child_weight
        self.subsample, self.colsample_bytree = subsample, colsample_bytree
        self.reg_lambda = reg_lambda
        self.early_stopping_rounds = early_stopping_rounds
        self.validation_fraction = validation_fraction
        self.categorical_features, self.n_jobs = categorical_features, n_jobs
        self.random_state = random_state

    def _fit_library(self, X: np.ndarray, y: np.ndarray, valid: Any, cats: list[int]) -> Any:
        import xgboost

        cls = xgboost.XGBClassifier if self._classifier else xgboost.XGBRegressor
        types = ["c" if i in cats else "q" for i in range(X.shape[1])] if cats else None
        model = cls(
            n_estimators=self.n_estimators, learning_rate=self.learning_rate,
            max_depth=self.max_depth, min_child_weight=self.min_child_weight,
            subsample=self.subsample, colsample_bytree=self.colsample_bytree,
            reg_lambda=self.reg_lambda, tree_method="hist", enable_categorical=bool(cats),
            feature_types=types, max_cat_to_onehot=1, n_jobs=self._threads(),
            random_state=self.random_state or 0,
            early_stopping_rounds=self.early_stopping_rounds if valid is not None else None,
        )
        fit: dict[str, Any] = {"verbose": False}
        if valid is not None:
            fit["eval_set"] = [(self._codes(valid[0], cats), valid[1])]
        return model.fit(self._codes(X, cats), y, **fit)

    @staticmethod
    def _codes(X: np.ndarray, cats: list[int]) -> np.ndarray:
        """XGBoost refuses negative category codes: a level never seen in training is missing."""
        if not cats:
            return X
        block = X[:, cats]
        if (block < 0).any():
            X = X.copy()
            block[block < 0] = np.nan
            X[:, cats] = block
        return X

    def _best_iteration(self) -> int:
        best = getattr(self.model_, "best_iteration", None)
        return int(best) + 1 if best is not None else int(self.n_estimators)

    def _library_input(self, X: np.ndarray) -> np.ndarray:
        return self._codes(X, self.categories_in_)


class XGBoostClassifier(_ClassifierPart, _XGBoost):
    """XGBoost gradient boosting for classes."""


class XGBoostRegressor(_RegressorPart, _XGBoost):
    """XGBoost gradient boosting for numbers."""


# ---------------------------------------------------------------- CatBoost


class _CatBoost(_Booster):
    def __init__(self, *, n_estimators: int = 1000, learning_rate: float | None = None,
                 depth: int = 6, l2_leaf_reg: float = 3.0,
                 early_stopping_rounds: int | None = 50, validation_fraction: float = 0.1,
                 categorical_features: Any = None, n_jobs: int | None = 1,
                 random_state: int | None = None) -> None:
        self.n_estimators, self.learning_rate = n_estimators, learning_rate
        self.depth, self.l2_leaf_reg = depth, l2_leaf_reg
        self.early_stopping_rounds = early_stopping_rounds
        self.validation_fraction = validation_fraction
        self.categorical_features, self.n_jobs = categorical_features, n_jobs
        self.random_state = random_state

    def _fit_library(self, X: np.ndarray, y: np.ndarray, valid: Any, cats: list[int]) -> Any:
        import catboost

        cls = catboost.CatBoostClassifier if self._classifier else catboost.CatBoostRegressor
        model = cls(
            iterations=self.n_estimators, learning_rate=self.learning_rate, depth=self.depth,
            l2_leaf_reg=self.l2_leaf_reg, random_seed=self.random_state or 0,
            thread_count=self._threads(), verbose=False, allow_writing_files=False,
            cat_features=cats or None,
        )
        fit: dict[str, Any] = {}
        if valid is not None:
            fit["eval_set"] = (self._frame(valid[0], cats), valid[1])
            fit["early_stopping_rounds"] = self.early_stopping_rounds
            fit["use_best_model"] = True
        return model.fit(self._frame(X, cats), y, **fit)

    @staticmethod
    def _frame(X: np.ndarray, cats: list[int]) -> Any:
        """CatBoost reads categories as integers (or text) only, so codes become int64."""
        if not cats:
            return X
        import pandas as pd

        frame = pd.DataFrame(X, columns=[str(i) for i in range(X.shape[1])], copy=False)
        for i in cats:
            frame[str(i)] = np.nan_to_num(X[:, i], nan=-1.0).astype(np.int64)
        return frame

    def _best_iteration(self) -> int:
        return int(self.model_.tree_count_)

    def _raw_predict(self, X: np.ndarray) -> np.ndarray:
        return self.model_.predict(self._frame(X, self.categories_in_),
                                   thread_count=self._threads())

    def _raw_proba(self, X: np.ndarray) -> np.ndarray:
        return self.model_.predict_proba(self._frame(X, self.categories_in_),
                                         thread_count=self._threads())


class CatBoostClassifier(_ClassifierPart, _CatBoost):
    """CatBoost gradient boosting for classes."""


class CatBoostRegressor(_RegressorPart, _CatBoost):
    """CatBoost gradient boosting for numbers."""
