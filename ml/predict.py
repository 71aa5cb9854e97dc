"""Turn incoming rows into a frame a fitted pipeline accepts, and predictions into JSON.

A schema is the model's input schema: a list of `{"name", "kind", "dtype"}` (extra keys such
as "example" are ignored). Values are coerced by `dtype`: numeric columns accept numbers and
numeric strings, boolean columns true/false (or 0/1, "yes"/"no"), datetime columns parseable
dates, and every other column text. Missing values (None, NaN, "") are allowed: the pipeline
imputes them. A value of the wrong type raises `SchemaError` naming the column.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from ml.errors import SchemaError

_TRUE = {"true", "yes", "y", "t", "1"}
_FALSE = {"false", "no", "n", "f", "0"}
_EXAMPLES = 3  # bad values quoted per column in an error message


def rows_to_frame(rows: Sequence[dict[str, Any]], schema: list[dict[str, Any]]) -> pd.DataFrame:
    """Build a validated frame (schema columns, in order) from a list of row objects."""
    if not isinstance(rows, list | tuple) or not all(isinstance(r, dict) for r in rows):
        raise SchemaError("Rows must be a list of objects mapping column names to values.")
    if not rows:
        raise SchemaError("No rows to predict: send at least one row.")
    names = [str(col["name"]) for col in schema]
    # A column absent from every row is a missing column; absent from some is a missing value.
    present = {key for row in rows for key in row}
    missing = [name for name in names if name not in present]
    if missing:
        raise _missing_error(missing)
    df = pd.DataFrame({name: pd.Series([row.get(name) for row in rows], dtype=object)
                       for name in names})
    return validate_frame(df, schema)


def validate_frame(df: pd.DataFrame, schema: list[dict[str, Any]]) -> pd.DataFrame:
    """Return df with the schema's columns, in order, coerced; raise SchemaError if unusable."""
    names = [str(col["name"]) for col in schema]
    missing = [name for name in names if name not in df.columns]
    if missing:
        raise _missing_error(missing)
    columns: dict[str, pd.Series] = {}
    problems: dict[str, str] = {}
    for col in schema:
        name = str(col["name"])
        series, bad = _coerce(df[name].reset_index(drop=True), str(col.get("dtype", "")),
                              str(col.get("kind", "")))
        columns[name] = series
        if bad:
            problems[name] = f"{name!r} expects {_expected(col)} (got " + ", ".join(
                repr(v) for v in bad[:_EXAMPLES]) + ")"
    if problems:
        raise SchemaError("Wrong values: " + "; ".join(problems.values()) + ".",
                          columns=list(problems))
    out = pd.DataFrame(columns)
    out.index = df.index
    return out


def predict(
    model: Any, df: pd.DataFrame, *, task: str | None = None, classes: list[Any] | None = None
) -> dict[str, Any]:
    """Predict df with a fitted pipeline (or Bundle) and return a JSON-safe dict."""
    pipeline, metadata = _unwrap(model)
    task = task or metadata.get("task") or _guess_task(pipeline)
    classes = classes if classes is not None else metadata.get("classes")
    if metadata.get("input_schema"):
        df = validate_frame(df, metadata["input_schema"])
    predictions = np.asarray(pipeline.predict(df))
    if task != "classification":
        return {"predictions": to_json_safe(predictions.astype(np.float64)),
                "probabilities": None, "classes": None}
    model_classes = _as_list(getattr(pipeline, "classes_", None))
    labels, order, encoded = _class_order(model_classes, classes)
    if encoded:
        predictions = np.asarray(labels, dtype=object)[predictions.astype(np.int64)]
    probabilities = None
    if hasattr(pipeline, "predict_proba"):
        probabilities = np.asarray(pipeline.predict_proba(df), dtype=np.float64)
        if order is not None:
            probabilities = probabilities[:, order]
    return {"predictions": to_json_safe(predictions),
            "probabilities": to_json_safe(probabilities),
            "classes": to_json_safe(labels)}


def to_json_safe(value: Any) -> Any:
    """Convert numpy/pandas values to plain Python; NaN, inf and NA become None."""
    if isinstance(value, dict):
        return {str(k): to_json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | np.ndarray | pd.Series | pd.Index):
        return [to_json_safe(v) for v in (value.tolist() if hasattr(value, "tolist") else value)]
    if isinstance(value, np.generic):
        value = value.item()
    if value is None or value is pd.NaT or value is pd.NA:
        return None
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, pd.Timestamp | dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, bool | int | str):
        return value
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return str(value)


# --- helpers -------------------------------------------------------------------------------


def _missing_error(missing: list[str]) -> SchemaError:
    return SchemaError("Missing columns: " + ", ".join(missing) + ".", columns=missing)


def _is_missing(value: Any) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    if isinstance(value, float | np.floating):
        return bool(np.isnan(value))
    return isinstance(value, str) and not value.strip()


def _coerce(series: pd.Series, dtype: str, kind: str) -> tuple[pd.Series, list[Any]]:
    """Return the coerced column and the values that could not be read."""
    values = series.tolist()
    missing = [_is_missing(v) for v in values]
    if dtype.startswith(("int", "uint", "float", "Int", "UInt", "Float")):
        return _coerce_numeric(values, missing, dtype)
    if dtype.startswith("bool") or (kind == "boolean" and not dtype):
        return _coerce_bool(values, missing)
    if dtype.startswith("datetime"):
        return _coerce_datetime(values, missing)
    text = [np.nan if m else _as_text(v) for v, m in zip(values, missing, strict=True)]
    return pd.Series(text, dtype=object), []


def _coerce_numeric(values: list[Any], missing: list[bool], dtype: str) -> tuple[pd.Series, list]:
    out, bad = [], []
    for value, is_missing in zip(values, missing, strict=True):
        number = np.nan if is_missing else _to_number(value)
        if number is None:
            bad.append(value)
            number = np.nan
        out.append(number)
    series = pd.Series(out, dtype=np.float64)
    # Keep integer columns integer when nothing is missing, as the pipeline saw in training.
    if dtype.lower().startswith(("int", "uint")) and series.notna().all() and (
        series == series.round()).all():
        series = series.astype(np.int64)
    return series, bad


def _to_number(value: Any) -> float | None:
    if isinstance(value, bool | np.bool_):
        return float(value)
    if isinstance(value, int | float | np.integer | np.floating):
        number = float(value)
    elif isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            return None
    else:
        return None
    return number if math.isfinite(number) else None


def _coerce_bool(values: list[Any], missing: list[bool]) -> tuple[pd.Series, list[Any]]:
    out: list[Any] = []
    bad = []
    for value, is_missing in zip(values, missing, strict=True):
        flag = None if is_missing else _to_bool(value)
        if flag is None and not is_missing:
            bad.append(value)
        out.append(np.nan if flag is None else flag)
    if any(missing) or bad:
        return pd.Series(out, dtype=object), bad
    return pd.Series(out, dtype=bool), bad


def _to_bool(value: Any) -> bool | None:
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, int | np.integer) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        text = value.strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
    return None


def _coerce_datetime(values: list[Any], missing: list[bool]) -> tuple[pd.Series, list[Any]]:
    parsed = pd.to_datetime(pd.Series([None if m else v for v, m in zip(values, missing,
                                                                          strict=True)],
                                      dtype=object), errors="coerce", format="mixed")
    bad = [v for v, m, p in zip(values, missing, parsed, strict=True) if not m and pd.isna(p)]
    return parsed, bad


def _as_text(value: Any) -> str:
    if isinstance(value, float | np.floating) and float(value).is_integer():
        return str(int(value))  # 12345.0 from a JSON client means the code "12345"
    return str(value)


def _expected(col: dict[str, Any]) -> str:
    dtype = str(col.get("dtype", ""))
    if dtype.startswith("bool"):
        return "true or false"
    if dtype.startswith("datetime"):
        return "dates"
    return "numbers"


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
