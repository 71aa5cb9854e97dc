"""The target column: which task it asks for, what is wrong with it (missing values, classes,
leakage), and which column of a table is likely the target."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd

from ml.errors import DataError
from ml.kinds import id_like
from ml.validation import Warning, _json_value, _numeric_positions, _warning

CLASSIFICATION_MAX_CLASSES = 20
IMBALANCE_RATIO = 0.1
MIN_ROWS_PER_CLASS = 10
LEAKAGE_SCORE = 0.99
LEAKAGE_SAMPLE_ROWS = 4_000
LEAKAGE_MIN_ROWS = 40
LEAKAGE_BINS = 32


# ---------------------------------------------------------------- target


def infer_task(series: pd.Series) -> str:
    """Return "classification" or "regression" for a target column."""
    dtype = series.dtype
    if pd.api.types.is_bool_dtype(dtype) or not pd.api.types.is_numeric_dtype(dtype):
        return "classification"
    values = series.dropna().to_numpy(dtype=float, na_value=np.nan)
    if values.size == 0 or not np.all(np.mod(values, 1) == 0):
        return "regression"
    n_unique = len(np.unique(values))
    few = n_unique <= 10 or n_unique <= 0.05 * values.size
    if n_unique <= 2 or (n_unique <= CLASSIFICATION_MAX_CLASSES and few):
        return "classification"
    return "regression"


def target_report(df: pd.DataFrame, target: str,
                  full_target: pd.Series | None = None) -> dict[str, Any]:
    """Check a target column: task, classes, missing values, imbalance and leakage.

    `df` may be a sample of the rows (leakage is judged on it) when `full_target` holds the
    whole target column (task, classes and missing values are read from it).
    """
    if target not in df.columns:
        raise DataError(f"There is no column named {target!r} in the data.")
    y = df[target] if full_target is None else full_target
    task = infer_task(y)
    found = _target_missing(y, target)
    report: dict[str, Any] = {"task": task, "n_classes": None, "class_counts": None}
    if task == "classification":
        counts = y.value_counts(dropna=True)
        report["n_classes"] = len(counts)
        report["class_counts"] = {str(_json_value(k)): int(v) for k, v in counts.items()}
        found += _class_warnings(counts, target)
    found += _leakage_warnings(df, target, task)
    report["warnings"] = found
    return report


def _target_missing(y: pd.Series, target: str) -> list[Warning]:
    n_missing = int(y.isna().sum())
    if n_missing == 0:
        return []
    if n_missing == len(y):
        return [_warning(target, "target_missing", "The target has no values.", "error")]
    message = (
        f"{n_missing:,} rows ({n_missing / len(y):.0%}) have no target value; "
        "they are left out of training."
    )
    return [_warning(target, "target_missing", message)]


def _class_warnings(counts: pd.Series, target: str) -> list[Warning]:
    """Warn about a single class, a rare class, and classes with too few rows."""
    if len(counts) == 0:
        return []
    if len(counts) == 1:
        message = "The target has a single class; a classifier needs at least two."
        return [_warning(target, "single_class", message, "error")]
    found = []
    smallest, largest = counts.iloc[-1], counts.iloc[0]
    if smallest < IMBALANCE_RATIO * largest:
        message = (
            f"The classes are imbalanced: {_json_value(counts.index[-1])!r} has {smallest:,} rows "
            f"and {_json_value(counts.index[0])!r} has {largest:,}. Consider balanced metrics "
            "or class weights."
        )
        found.append(_warning(target, "class_imbalance", message))
    few = counts[counts < MIN_ROWS_PER_CLASS]
    if len(few):
        names = ", ".join(repr(_json_value(k)) for k in few.index[:5])
        severity = "error" if few.min() < 2 else "warning"
        message = (
            f"{len(few)} classes have fewer than {MIN_ROWS_PER_CLASS} rows ({names}); "
            "they cannot be split reliably for testing and cross-validation."
        )
        found.append(_warning(target, "too_few_per_class", message, severity))
    return found


def _leakage_warnings(df: pd.DataFrame, target: str, task: str) -> list[Warning]:
    """Flag features that alone predict the target almost perfectly on held-out rows."""
    rows = df[df[target].notna()]
    if len(rows) < LEAKAGE_MIN_ROWS:
        return []
    rows = rows.sample(min(len(rows), LEAKAGE_SAMPLE_ROWS), random_state=0)
    half = len(rows) // 2
    if task == "classification":
        y = pd.factorize(rows[target])[0]
    else:
        y = rows[target].to_numpy(dtype=float, na_value=np.nan)
    names, dtypes = [str(name) for name in rows.columns], list(rows.dtypes)
    numeric = _numeric_positions(dtypes)
    # One conversion for all numeric columns; a per-column lookup is slow on wide frames.
    block = rows.iloc[:, numeric].to_numpy(dtype=float, na_value=np.nan)
    edges = _block_edges(block, half)
    floats = {position: j for j, position in enumerate(numeric)}
    found = []
    for position, name in enumerate(names):
        if name == str(target):
            continue
        j = floats.get(position)
        if j is None:
            values, codes = None, _bin_codes(rows.iloc[:, position], half)
        else:
            values, codes = block[:, j], _numeric_codes(block[:, j], edges[j])
        if _is_identifier(rows, position, values, codes):
            continue  # an id predicts nothing new; its own warning says so
        score = _holdout_score(codes, y, half, task)
        if score is not None and score >= LEAKAGE_SCORE:
            message = (
                f"Column {name!r} predicts the target almost perfectly on its own "
                f"(held-out score {score:.3f}); it may leak the answer. Drop it unless it is "
                "known before the target is."
            )
            found.append(_warning(name, "target_leakage", message))
    return found


def _is_identifier(
    rows: pd.DataFrame, position: int, values: np.ndarray | None, codes: np.ndarray
) -> bool:
    """Check id-likeness only for whole-number or text columns whose sample is all distinct."""
    if values is not None:
        present = values[~np.isnan(values)]
        if len(np.unique(present)) < 0.95 * len(present) or np.any(np.mod(present, 1)):
            return False
    elif len(np.unique(codes)) < 0.95 * len(codes):
        return False
    series = rows.iloc[:, position].dropna()
    n_unique = int(series.nunique())
    return n_unique >= 0.95 * max(len(series), 1) and id_like(str(series.name), series, n_unique)


def _block_edges(block: np.ndarray, half: int) -> list[np.ndarray | None]:
    """Quantile bin edges from the first half, per column; None where values are few."""
    ordered = np.sort(block, axis=0)
    changes = np.ones(ordered.shape, dtype=bool)
    changes[1:] = ordered[1:] != ordered[:-1]
    n_unique = (changes & ~np.isnan(ordered)).sum(axis=0)
    probabilities = np.linspace(0, 1, LEAKAGE_BINS + 1)[1:-1]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-missing columns
        quantiles = np.nanquantile(block[:half], probabilities, axis=0)
    return [
        None if n_unique[j] <= 2 * LEAKAGE_BINS else quantiles[:, j] for j in range(block.shape[1])
    ]


def _numeric_codes(values: np.ndarray, edges: np.ndarray | None) -> np.ndarray:
    """Code a numeric feature by its exact values when few, else by quantile bin."""
    if edges is None or np.isnan(edges).any():
        codes = pd.factorize(values)[0]
        return np.where(codes < 0, codes.max() + 1, codes)
    codes = np.searchsorted(edges, values, side="right")
    return np.where(np.isnan(values), len(edges) + 1, codes)


def _bin_codes(series: pd.Series, half: int) -> np.ndarray:
    """Code a non-numeric feature: datetimes like numbers, anything else by its values."""
    values = _as_float(series)
    if values is not None:
        return _numeric_codes(values, _block_edges(values.reshape(-1, 1), half)[0])
    codes = pd.factorize(series)[0]
    return np.where(codes < 0, codes.max() + 1, codes)


def _as_float(series: pd.Series) -> np.ndarray | None:
    if pd.api.types.is_datetime64_any_dtype(series.dtype) and not series.isna().any():
        return series.astype("int64").to_numpy(dtype=float)
    return None


def _holdout_score(codes: np.ndarray, y: np.ndarray, half: int, task: str) -> float | None:
    """Fit code -> target on the first half; score on the second (balanced accuracy or R²)."""
    n_codes = int(codes.max()) + 1
    train_codes, test_codes = codes[:half], codes[half:]
    if task == "classification":
        n_classes = int(y.max()) + 1
        table = np.bincount(train_codes * n_classes + y[:half], minlength=n_codes * n_classes)
        table = table.reshape(n_codes, n_classes)
        fallback = np.bincount(y[:half], minlength=n_classes).argmax()
        guess = np.where(table.sum(axis=1) > 0, table.argmax(axis=1), fallback)[test_codes]
        truth = y[half:]
        recalls = [np.mean(guess[truth == c] == c) for c in np.unique(truth)]
        return float(np.mean(recalls))
    sums = np.bincount(train_codes, weights=y[:half], minlength=n_codes)
    counts = np.bincount(train_codes, minlength=n_codes)
    means = np.where(counts > 0, sums / np.maximum(counts, 1), y[:half].mean())
    truth = y[half:]
    total = np.sum((truth - truth.mean()) ** 2)
    if total == 0:
        return None
    return float(1 - np.sum((truth - means[test_codes]) ** 2) / total)


# ---------------------------------------------------------------- the likely target

# Names people give the column to predict (compared without case, spaces or punctuation).
TARGET_NAMES = ("target", "label", "labels", "class", "outcome", "y", "price", "species",
                "survived", "churn", "diagnosis", "response")
# Columns that are about time are seldom what a table is meant to predict.
_TIME_NAMES = ("year", "month", "day", "date", "time", "timestamp", "created", "updated")


def _plain_name(name: str) -> str:
    return "".join(ch for ch in str(name).lower() if ch.isalnum())


def _can_be_target(column: dict[str, Any]) -> bool:
    return (not column.get("id_like") and column.get("kind") not in ("text", "datetime")
            and (column.get("n_unique") or 0) > 1)


def likely_target(columns: list[dict[str, Any]]) -> tuple[str, str] | None:
    """Pick the column a table most likely means to predict, and say why; None if none fits.

    `columns` are a dataset profile's columns (name, kind, n_unique, id_like). A column named
    like a target wins; else the last column that is neither an id, free text, a date nor named
    like a time; an id-like or free-text column is never picked.
    """
    usable = [c for c in columns if _can_be_target(c)]
    for column in usable:
        plain = _plain_name(column["name"])
        if plain in TARGET_NAMES or any(plain.endswith(n) and len(n) > 2 for n in
                                        ("target", "label", "outcome")):
            return str(column["name"]), f"its name, “{column['name']}”, is a usual target name"
    for column in reversed(usable):
        if _plain_name(column["name"]) not in _TIME_NAMES:
            return str(column["name"]), ("it is the last column that is not an id, free text "
                                         "or a date")
    return None
