"""ONNX export of the boosting libraries and of auto's ensembles: the file predicts what the
model predicts (unseen categories and missing numbers included); CatBoost is refused in words."""

from __future__ import annotations

from typing import Any

import numpy as np
import onnxruntime as ort
import pandas as pd
import pytest

from ml.bundle import Bundle, to_onnx
from ml.config import TrainConfig
from ml.errors import ExportError
from ml.train import train

NUMBERS = ["a", "b", "d"]


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    n = 600
    df = pd.DataFrame({"a": rng.normal(size=n), "b": rng.normal(size=n),
                       "c": rng.choice(list("wxyz"), n), "d": rng.normal(size=n)})
    df.loc[::7, "a"] = np.nan
    df["label"] = np.where(df.a.fillna(0) * df.b + (df.c == "x") * 1.5
                           + rng.normal(size=n) * 0.5 > 0.5, "yes", "no")
    df["value"] = df.a.fillna(0) * 2 + (df.c == "y") * 3 + np.sin(df.b * 3) + rng.normal(size=n)
    return df


def _rows(frame: pd.DataFrame, *, unseen: bool = True) -> pd.DataFrame:
    rows = frame[["a", "b", "c", "d"]].head(200).copy()
    if unseen:
        rows.loc[rows.index[:5], "c"] = "a level never seen"
    rows.loc[rows.index[5:10], "b"] = np.nan
    return rows


def _session(result: Any) -> ort.InferenceSession:
    onnx = to_onnx(Bundle(result.pipeline, {"input_schema": result.input_schema}))
    return ort.InferenceSession(onnx, providers=["CPUExecutionProvider"])


def _feeds(rows: pd.DataFrame) -> dict[str, np.ndarray]:
    feeds = {c: rows[[c]].to_numpy(dtype=np.float32) for c in NUMBERS}
    feeds["c"] = rows[["c"]].to_numpy(dtype=object)
    return feeds


def _train(frame: pd.DataFrame, target: str, algorithm: str, **extra: Any) -> Any:
    return train(frame, TrainConfig.from_dict(
        {"target": target, "algorithm": algorithm, "features": ["a", "b", "c", "d"],
         "validation": {"cv_folds": 2}, **extra}))


@pytest.mark.parametrize("algorithm", ["lightgbm", "xgboost"])
def test_a_boosting_model_exports_to_onnx_and_predicts_the_same(frame: pd.DataFrame,
                                                                  algorithm: str) -> None:
    rows = _rows(frame)
    clf = _train(frame, "label", algorithm)
    labels, probabilities = _session(clf).run(None, _feeds(rows))
    np.testing.assert_array_equal(labels, clf.pipeline.predict(rows))
    np.testing.assert_allclose(probabilities, clf.pipeline.predict_proba(rows), atol=1e-5)
    reg = _train(frame, "value", algorithm)
    (values,) = _session(reg).run(None, _feeds(rows))
    np.testing.assert_allclose(values.ravel(), reg.pipeline.predict(rows), rtol=1e-5, atol=1e-4)


def test_an_ensemble_exports_to_onnx_when_every_member_converts(frame: pd.DataFrame) -> None:
    # skl2onnx's one-hot encoder (linear and k-NN members) refuses levels it never saw, as
    # for any one-hot model exported alone: known levels here
    rows = _rows(frame, unseen=False)
    for target in ("label", "value"):
        result = _train(frame, target, "auto", time_budget_s=120, params={
            "candidates": ["linear" if target == "label" else "ridge", "lightgbm", "xgboost",
                           "extra_trees", "knn"]})
        assert result.algorithm == "ensemble", result.leaderboard
        outputs = _session(result).run(None, _feeds(rows))
        if target == "label":
            np.testing.assert_array_equal(outputs[0], result.pipeline.predict(rows))
            np.testing.assert_allclose(outputs[1], result.pipeline.predict_proba(rows),
                                       atol=1e-5)
        else:
            np.testing.assert_allclose(outputs[0].ravel(), result.pipeline.predict(rows),
                                       rtol=1e-5, atol=1e-4)


def test_catboost_is_refused_in_words(frame: pd.DataFrame) -> None:
    result = _train(frame, "label", "catboost", params={"n_estimators": 50})
    with pytest.raises(ExportError, match="CatBoost models cannot be exported to ONNX"):
        to_onnx(Bundle(result.pipeline, {"input_schema": result.input_schema}))
