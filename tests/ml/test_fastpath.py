"""The fast prediction path (ml.fastpath) gives exactly scikit-learn's answers.

Every preprocessing option (imputers, scalers, encoders, rare-level grouping, native category
codes) and every scikit-learn algorithm of the catalogue is trained on one generated table and
asked, on rows it never saw (unseen categories, missing values, one row and many), for its
transformed features, labels and probabilities: the engine's pipeline and scikit-learn's own
`Pipeline` over the same fitted steps must agree to the last bit.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder, StandardScaler

from ml.algorithms import list_algorithms
from ml.config import TrainConfig
from ml.fastpath import EnginePipeline, prepare, transform_features
from ml.predict import predict
from ml.train import train


def _table(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    df = pd.DataFrame({
        "a": rng.normal(size=n),
        "b": rng.integers(0, 9, n),
        "c": rng.exponential(3.0, n),
        "city": rng.choice(["x", "y", "z", "w", "rare1", "rare2"], n,
                           p=[0.4, 0.3, 0.15, 0.13, 0.01, 0.01]).astype(object),
        "shop": rng.choice([f"s{i}" for i in range(40)], n).astype(object),
        "flag": rng.choice([True, False], n),
        "when": pd.Timestamp("2021-01-01") + pd.to_timedelta(rng.integers(0, 500, n), unit="D"),
    })
    df.loc[rng.random(n) < 0.1, "a"] = np.nan
    df.loc[rng.random(n) < 0.1, "city"] = None
    score = df["a"].fillna(0) + (df["city"] == "x") + 0.1 * df["b"]
    df["y"] = np.where(score > 0.8, "yes", np.where(score > 0.2, "maybe", "no"))
    df["r"] = score + rng.normal(0, 0.1, n)
    return df


TRAIN = _table(300, 1)


def _unseen() -> pd.DataFrame:
    """Rows the model never saw: new levels, every kind of missing value, extremes."""
    X = _table(40, 2).drop(columns=["y", "r"])
    X.loc[0, "city"] = "a city no one trained on"
    X.loc[1, "shop"] = "s999"
    X.loc[2, ["a", "c"]] = np.nan
    X.loc[3, "city"] = None
    X.loc[4, "a"] = 1e6
    return X


def _fit(target: str, algorithm: str, params: dict[str, Any] | None = None,
         preprocessing: dict[str, Any] | None = None) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return train(TRAIN.drop(columns=["r" if target == "y" else "y"]), TrainConfig.from_dict({
            "target": target, "algorithm": algorithm, "params": params or {},
            "preprocessing": preprocessing or {}, "validation": {"cv_folds": 0}}))


def _assert_same(result: Any, classification: bool) -> None:
    fast = result.pipeline
    assert isinstance(fast, EnginePipeline)
    plain = Pipeline(fast.steps)  # scikit-learn's own code path, same fitted steps
    X = _unseen()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # scikit-learn warns about the unseen levels
        for rows in (X.iloc[[0]], X.iloc[[3]], X.iloc[[1, 2]], X):
            expected_features = Pipeline(fast.steps[:-1]).transform(rows)
            assert np.array_equal(transform_features(fast, rows), expected_features,
                                  equal_nan=True)
            assert np.array_equal(fast.predict(rows), plain.predict(rows))
            served = predict(fast, rows, task="classification" if classification else "regression",
                             classes=result.classes)
            if classification:
                assert served["predictions"] == plain.predict(rows).tolist()
                if hasattr(plain, "predict_proba"):
                    assert np.array_equal(fast.predict_proba(rows), plain.predict_proba(rows))
                    assert np.array_equal(np.array(served["probabilities"]),
                                          plain.predict_proba(rows))
            else:
                assert served["predictions"] == plain.predict(rows).astype(float).tolist()


PREPROCESSING = [
    {},
    {"numeric_imputer": "mean", "scaler": "minmax"},
    {"numeric_imputer": "most_frequent", "scaler": "robust"},
    {"numeric_imputer": "constant", "fill_value": -1.0, "scaler": "none"},
    {"numeric_imputer": "knn"},
    {"numeric_imputer": "none", "scaler": "standard"},
    {"categorical_encoder": "ordinal"},
    {"categorical_encoder": "target"},
    {"categorical_encoder": "onehot", "min_frequency": 0.05},
    {"categorical_encoder": "onehot", "max_categories": 3},
    {"categorical_encoder": "ordinal", "min_frequency": 10},
    {"categorical_encoder": "target", "min_frequency": 0.05},
    {"datetime_features": False},
]


# Without an imputer, missing values reach the model: only trees take them.
COMBINATIONS = [(p, a) for p in PREPROCESSING for a in ("linear", "decision_tree")
                if not (a == "linear" and p.get("numeric_imputer") == "none")]


@pytest.mark.parametrize(("preprocessing", "algorithm"), COMBINATIONS,
                         ids=[f"{a}-{p}" for p, a in COMBINATIONS])
def test_every_preprocessing_option_predicts_as_scikit_learn(
        preprocessing: dict[str, Any], algorithm: str) -> None:
    _assert_same(_fit("y", algorithm, preprocessing=preprocessing), classification=True)


SKLEARN = sorted({(a["key"], a["task"]) for a in list_algorithms()
                  if a.get("family") == "sklearn" and a["key"] != "auto"})
SMALL = {"random_forest": {"n_estimators": 15}, "extra_trees": {"n_estimators": 15},
         "gradient_boosting": {"n_estimators": 15}, "hist_gradient_boosting": {"max_iter": 15}}


@pytest.mark.parametrize(("algorithm", "task"), SKLEARN, ids=[f"{a}-{t}" for a, t in SKLEARN])
def test_every_algorithm_predicts_as_scikit_learn(algorithm: str, task: str) -> None:
    result = _fit("y" if task == "classification" else "r", algorithm, SMALL.get(algorithm))
    _assert_same(result, classification=task == "classification")


def test_native_categories_predict_as_scikit_learn() -> None:
    """HGB reads category codes (an OrdinalEncoder with grouped levels) on the fast path too."""
    result = _fit("y", "hist_gradient_boosting", {"max_iter": 15})
    encoders = [s for s in _steps(result.pipeline) if isinstance(s, OrdinalEncoder)]
    assert encoders, "the native-categories preprocessor should hold an ordinal encoder"
    _assert_same(result, classification=True)


def test_the_fast_path_is_taken(monkeypatch: pytest.MonkeyPatch) -> None:
    """After prepare(), predicting calls neither the encoder's nor the scaler's transform."""
    result = _fit("y", "linear")
    prepare(result.pipeline)
    X = _unseen()
    expected = Pipeline(result.pipeline.steps).predict_proba(X)

    def refuse(*_: Any, **__: Any) -> Any:
        raise AssertionError("scikit-learn's transform ran: the fast path was not taken")

    monkeypatch.setattr(OneHotEncoder, "transform", refuse)
    monkeypatch.setattr(StandardScaler, "transform", refuse)
    assert np.array_equal(result.pipeline.predict_proba(X), expected)


def test_a_value_that_is_not_text_takes_scikit_learn_s_path() -> None:
    """An encoder fed a non-text value it never saw falls back and answers as scikit-learn."""
    result = _fit("y", "linear", preprocessing={"categorical_encoder": "ordinal"})
    encoder = next(s for s in _steps(result.pipeline) if isinstance(s, OrdinalEncoder))
    from ml.fastpath import _fast_step

    block = np.array([["x"], [12.5]], dtype=object)
    block = np.repeat(block, encoder.n_features_in_, axis=1)
    assert _fast_step(encoder, block) is None


def _steps(estimator: Any) -> list[Any]:
    from ml.fastpath import _walk

    return _walk(estimator)
