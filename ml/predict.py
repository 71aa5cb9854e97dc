"""Predict a frame with a fitted pipeline and answer in JSON-safe values.

The pieces live in their own modules: `ml.schema` turns rows into a checked frame,
`ml.fastpath` runs fitted pipelines without scikit-learn's per-call checks, `ml.jsonsafe`
turns numpy values into JSON. The names below are re-exported for callers of this module, and
`EnginePipeline` must stay importable from here: stored bundles pickle it as
`ml.predict.EnginePipeline`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ml.fastpath import (  # noqa: F401 - re-exported; bundles pickle ml.predict.EnginePipeline
    EnginePipeline,
    final_and_features,
    final_predict,
    final_predict_proba,
    prepare,
    proba_once,
    transform_features,
)
from ml.jsonsafe import to_json_safe
from ml.schema import columns_to_frame, rows_to_frame, validate_frame

__all__ = ["EnginePipeline", "columns_to_frame", "predict", "rows_to_frame", "to_json_safe",
           "validate_frame", "warm_up"]


def predict(
    model: Any, df: pd.DataFrame, *, task: str | None = None, classes: list[Any] | None = None
) -> dict[str, Any]:
    """Predict df with a fitted pipeline (or Bundle) and return a JSON-safe dict."""
    pipeline, metadata = _unwrap(model)
    task = task or metadata.get("task") or _guess_task(pipeline)
    classes = classes if classes is not None else metadata.get("classes")
    if metadata.get("input_schema"):
        df = validate_frame(df, metadata["input_schema"])
    # One pass through the preprocessing serves both predict and predict_proba.
    final, features = final_and_features(pipeline, df)
    once = proba_once(final, features) if task == "classification" else None
    if once is not None:
        # A forest's (or a soft-voting ensemble's) label is the argmax of its averaged
        # probabilities: compute them once.
        predictions = final.classes_.take(np.argmax(once, axis=1), axis=0)
    else:
        predictions = np.asarray(final_predict(final, features))
    if task != "classification":
        return {"predictions": to_json_safe(predictions.astype(np.float64)),
                "probabilities": None, "classes": None}
    model_classes = _as_list(getattr(pipeline, "classes_", None))
    labels, order, encoded = _class_order(model_classes, classes)
    if encoded:
        predictions = np.asarray(labels, dtype=object)[predictions.astype(np.int64)]
    probabilities = None
    if once is not None or hasattr(pipeline, "predict_proba"):
        raw = once if once is not None else final_predict_proba(final, features)
        probabilities = np.asarray(raw, dtype=np.float64)
        if order is not None:
            probabilities = probabilities[:, order]
    return {"predictions": to_json_safe(predictions),
            "probabilities": to_json_safe(probabilities),
            "classes": to_json_safe(labels)}


def _unwrap(model: Any) -> tuple[Any, dict[str, Any]]:
    if hasattr(model, "pipeline") and hasattr(model, "metadata"):
        return model.pipeline, dict(model.metadata or {})
    return model, {}


def _guess_task(pipeline: Any) -> str:
    return "classification" if hasattr(pipeline, "classes_") else "regression"


def _as_list(values: Any) -> list[Any] | None:
    return None if values is None else list(values)


def _class_order(
    model_classes: list[Any] | None, classes: list[Any] | None
) -> tuple[list[Any] | None, list[int] | None, bool]:
    """Return (labels, probability column order, predictions-are-indices) for the output.

    `classes` wins when it names the model's classes in another order, or when the model was
    trained on encoded targets (its classes_ are 0..n-1); otherwise the model's own classes do.
    """
    if classes is None or model_classes is None:
        return (list(classes) if classes is not None else model_classes), None, False
    classes = list(classes)
    if classes == model_classes:
        return classes, None, False
    if len(classes) == len(model_classes) and model_classes == list(range(len(classes))):
        return classes, None, True
    if len(classes) == len(model_classes) and set(classes) == set(model_classes):
        return classes, [model_classes.index(c) for c in classes], False
    return model_classes, None, False


# --- warm start ------------------------------------------------------------------------------

# What unpickling a bundle and predicting import on first use: ~1 s in a fresh web process.
_PREDICT_MODULES = (
    "joblib", "sklearn.compose", "sklearn.impute", "sklearn.preprocessing",
    "sklearn.linear_model", "sklearn.ensemble", "sklearn.tree", "sklearn.neighbors",
    "sklearn.svm", "sklearn.naive_bayes", "ml.preprocessing", "ml.features", "ml.bundle",
)


def warm_up() -> None:
    """Import what predictions need and run a few through each code path, once per process.

    A web process calls this at start, so the first prediction after it starts (or after a
    model is registered) pays for loading the model file only, not for imports and first-use
    setup (~1 s). Takes ~1-2 s; touches no files and no database.
    """
    import importlib

    for name in _PREDICT_MODULES:
        importlib.import_module(name)
    from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
    from sklearn.linear_model import LogisticRegression

    from ml.config import PreprocessingConfig
    from ml.preprocessing import build_preprocessor

    frame = pd.DataFrame({"n": [0.0, 1.0, 2.0, 3.0, 4.0, 5.0], "i": [1, 2, 3, 1, 2, 3],
                          "c": ["a", "b", "a", "b", "a", "b"]})
    schema = [{"name": "n", "kind": "numeric", "dtype": "float64"},
              {"name": "i", "kind": "numeric", "dtype": "int64"},
              {"name": "c", "kind": "categorical", "dtype": "str"}]
    kinds = {"n": "numeric", "i": "numeric", "c": "categorical"}
    target = np.array(["x", "y", "x", "y", "x", "y"], dtype=object)
    for model in (LogisticRegression(), RandomForestClassifier(n_estimators=2, random_state=0),
                  HistGradientBoostingClassifier(max_iter=2)):
        pipeline = EnginePipeline([("preprocess", build_preprocessor(kinds, PreprocessingConfig())),
                                   ("model", model)]).fit(frame, target)
        predict(pipeline, rows_to_frame([{"n": 1.5, "i": 2, "c": "a"}], schema),
                task="classification")
        predict(pipeline, columns_to_frame(["n", "i", "c"], [[1.5, "2", None]], schema),
                task="classification")
        to_json_safe(np.array([1.0]))
