"""Turn incoming rows into a frame a fitted pipeline accepts, checked against the model's schema.

A schema is the model's input schema: a list of `{"name", "kind", "dtype"}` (extra keys such
as "example" are ignored). Values are coerced by `dtype`: numeric columns accept numbers and
numeric strings, boolean columns true/false (or 0/1, "yes"/"no"), datetime columns parseable
dates, and every other column text. Missing values (None, NaN, "") are allowed: the pipeline
imputes them. A value of the wrong type raises `SchemaError` naming the column.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from operator import itemgetter
from typing import Any

import numpy as np
import pandas as pd

from ml.errors import SchemaError
from ml.kinds import FALSE_WORDS, TRUE_WORDS

_EXAMPLES = 3  # bad values quoted per column in an error message


def rows_to_frame(rows: Sequence[dict[str, Any]], schema: list[dict[str, Any]]) -> pd.DataFrame:
    """Build a validated frame (schema columns, in order) from a list of row objects."""
    if not isinstance(rows, list | tuple) or not all(isinstance(r, dict) for r in rows):
        raise SchemaError("Rows must be a list of objects mapping column names to values.")
    if not rows:
        raise SchemaError("No rows to predict: send at least one row.")
    names = [str(col["name"]) for col in schema]
    try:
        # Every row names every column (the usual body): one C pass picks them out, row by row,
        # and one transposes them into columns. Extra keys are ignored.
        values = list(zip(*map(itemgetter(*names), rows), strict=True)) if len(names) > 1 else [
            tuple(map(itemgetter(names[0]), rows))]
    except KeyError:
        # A column absent from every row is a missing column; absent from some, missing values.
        present = {key for row in rows for key in row}
        missing = [name for name in names if name not in present]
        if missing:
            raise _missing_error(missing) from None
        values = [tuple(row.get(name) for row in rows) for name in names]
    return _frame(schema, values)


def _frame(schema: list[dict[str, Any]], values: Sequence[Sequence[Any]]) -> pd.DataFrame:
    """Coerce each column's raw values by the schema; raise SchemaError naming every bad one."""
    columns, problems = {}, {}
    for col, raw in zip(schema, values, strict=True):
        name = str(col["name"])
        column, bad = _coerce_values(raw, str(col.get("dtype", "")), str(col.get("kind", "")))
        # Text stays an object column (pandas would convert it to its string type and the
        # pipeline back again).
        columns[name] = pd.Series(column, dtype=object, copy=False) if (
            isinstance(column, np.ndarray) and column.dtype == object) else column
        if bad:
            problems[name] = _problem(col, bad)
    _raise_problems(problems)
    return pd.DataFrame(columns)


def columns_to_frame(columns: Any, data: Any, schema: list[dict[str, Any]]) -> pd.DataFrame:
    """Build a validated frame from pandas' "split" layout: column names, then rows of values.

    Stricter than rows (a list of objects): every row holds one value per named column, and a
    name the model does not know is an error (a typo would otherwise silently read as missing).
    """
    if not isinstance(columns, list) or not columns or not all(
            isinstance(c, str) for c in columns):
        raise SchemaError('"columns" must be a non-empty list of column names.')
    repeated = sorted({c for c in columns if columns.count(c) > 1}) if len(
        set(columns)) != len(columns) else []
    if repeated:
        raise SchemaError("Columns named more than once: " + ", ".join(repeated) + ".",
                          columns=repeated)
    if not isinstance(data, list) or not set(map(type, data)) <= {list}:
        raise SchemaError('"data" must be a list of rows, each a list of values.')
    if not data:
        raise SchemaError("No rows to predict: send at least one row.")
    width = len(columns)
    if set(map(len, data)) != {width}:  # C passes; the loop only finds the row to name
        for number, row in enumerate(data):
            if len(row) != width:
                raise SchemaError(
                    f"Row {number} has {len(row)} values; \"columns\" names {width}. "
                    "Every row needs one value per column, in the same order.")
    names = [str(col["name"]) for col in schema]
    known = set(names)
    unknown = [c for c in columns if c not in known]
    missing = [name for name in names if name not in set(columns)]
    if unknown or missing:
        parts = []
        if missing:
            parts.append("Missing columns: " + ", ".join(missing) + ".")
        if unknown:
            parts.append("Unknown columns: " + ", ".join(unknown) + " (the model expects "
                         + ", ".join(names) + ").")
        raise SchemaError(" ".join(parts), columns=missing + unknown)
    position = {name: i for i, name in enumerate(columns)}
    # One transpose in C instead of a dict per row.
    transposed = list(zip(*data, strict=True))
    return _frame(schema, [transposed[position[str(col["name"])]] for col in schema])


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
            problems[name] = _problem(col, bad)
    _raise_problems(problems)
    out = pd.DataFrame(columns)
    out.index = df.index
    return out


# --- helpers -------------------------------------------------------------------------------


def _missing_error(missing: list[str]) -> SchemaError:
    return SchemaError("Missing columns: " + ", ".join(missing) + ".", columns=missing)


def _is_missing(value: Any) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    if isinstance(value, float | np.floating):
        return bool(np.isnan(value))
    return isinstance(value, str) and not value.strip()


def _problem(col: dict[str, Any], bad: list[Any]) -> str:
    return f"{str(col['name'])!r} expects {_expected(col)} (got " + ", ".join(
        repr(v) for v in bad[:_EXAMPLES]) + ")"


def _raise_problems(problems: dict[str, str]) -> None:
    if problems:
        raise SchemaError("Wrong values: " + "; ".join(problems.values()) + ".",
                          columns=list(problems))


_NUMERIC_DTYPES = ("int", "uint", "float", "Int", "UInt", "Float")


def _coerce(series: pd.Series, dtype: str, kind: str) -> tuple[pd.Series, list[Any]]:
    """Return the coerced column and the values that could not be read."""
    if dtype.startswith(_NUMERIC_DTYPES) and pd.api.types.is_numeric_dtype(series) and not (
            pd.api.types.is_bool_dtype(series)):
        # Already numbers (a parsed CSV): one vectorised pass instead of one per value.
        numbers = series.to_numpy(dtype=np.float64, na_value=np.nan)
        infinite = np.isinf(numbers)
        bad = series[infinite].tolist() if infinite.any() else []
        return pd.Series(_numeric_series(np.where(infinite, np.nan, numbers), dtype)), bad
    values, bad = _coerce_values(series.tolist(), dtype, kind)
    return (values if isinstance(values, pd.Series) else pd.Series(values)), bad


def _coerce_values(values: Sequence[Any], dtype: str, kind: str) -> tuple[Any, list[Any]]:
    """Coerce a list of raw values by the schema's dtype; return (column, unreadable values)."""
    if dtype.startswith(_NUMERIC_DTYPES):
        return _coerce_numeric(values, dtype)
    if dtype.startswith("bool") or (kind == "boolean" and not dtype):
        return _coerce_bool(values, [_is_missing(v) for v in values])
    if dtype.startswith("datetime"):
        return _coerce_datetime(values, [_is_missing(v) for v in values])
    texts = _texts(values)
    return (texts if isinstance(texts, np.ndarray) else np.array(texts, dtype=object)), []


def _texts(values: Sequence[Any]) -> Any:
    array = np.fromiter(values, dtype=object, count=len(values))  # nested lists stay values
    if pd.api.types.infer_dtype(array, skipna=False) == "string":
        # All text (the usual case): blanks and whitespace become missing, found in C passes.
        n = len(values)
        blank = np.fromiter(map(len, values), dtype=np.intp, count=n) == 0
        blank |= np.fromiter(map(str.isspace, values), dtype=bool, count=n)
        if blank.any():
            array[blank] = np.nan
        return array
    out: list[Any] = []
    append = out.append
    for value in values:
        if value.__class__ is str:
            append(value if value and not value[0].isspace() or value.strip() else np.nan)
        else:
            append(np.nan if _is_missing(value) else _as_text(value))
    return out


def _coerce_numeric(values: Sequence[Any], dtype: str) -> tuple[np.ndarray, list[Any]]:
    fast = _numbers_fast(values)
    if fast is not None:
        return _numeric_series(fast, dtype), []
    out, bad = [], []
    for value in values:
        number = np.nan if _is_missing(value) else _to_number(value)
        if number is None:
            bad.append(value)
            number = np.nan
        out.append(number)
    return _numeric_series(np.asarray(out, dtype=np.float64), dtype), bad


def _numbers_fast(values: Sequence[Any]) -> np.ndarray | None:
    """Convert in one C pass when every value is a number, a numeric string or None.

    Returns None whenever the per-value path must decide (a blank or unreadable string, an
    infinity, a "nan" string, a nested list), so both paths give the same answer.
    """
    try:  # fromiter: no search for nested sequences (a nested list raises, as it should)
        numbers = np.fromiter(values, dtype=np.float64, count=len(values))
    except (TypeError, ValueError, OverflowError):
        return None
    if numbers.ndim != 1 or len(numbers) != len(values):
        return None
    special = ~np.isfinite(numbers)
    if special.any():
        for i in np.flatnonzero(special).tolist():
            value = values[i]
            if not (value is None or (isinstance(value, float) and math.isnan(value))):
                return None
    return numbers


def _numeric_series(numbers: np.ndarray, dtype: str) -> np.ndarray:
    # Keep integer columns integer when nothing is missing, as the pipeline saw in training.
    if dtype.lower().startswith(("int", "uint")) and not np.isnan(numbers).any() and (
            numbers == np.round(numbers)).all():
        return numbers.astype(np.int64)
    return numbers


def _to_number(value: Any) -> float | None:
    if isinstance(value, bool | np.bool_):
        return float(value)
    if isinstance(value, int | float | np.integer | np.floating):
        try:
            number = float(value)
        except OverflowError:  # an integer beyond any float
            return None
    elif isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            return None
    else:
        return None
    return number if math.isfinite(number) else None


def _coerce_bool(values: Sequence[Any], missing: list[bool]) -> tuple[np.ndarray, list[Any]]:
    out: list[Any] = []
    bad = []
    for value, is_missing in zip(values, missing, strict=True):
        flag = None if is_missing else _to_bool(value)
        if flag is None and not is_missing:
            bad.append(value)
        out.append(np.nan if flag is None else flag)
    if any(missing) or bad:
        return np.array(out, dtype=object), bad
    return np.array(out, dtype=bool), bad


def _to_bool(value: Any) -> bool | None:
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, int | float | np.integer | np.floating) and value in (0, 1):
        return bool(value)  # 1 and 1.0 as the training data's "1" and "1.0"
    if isinstance(value, str):
        text = value.strip().lower()
        if text in TRUE_WORDS:
            return True
        if text in FALSE_WORDS:
            return False
    return None


def _coerce_datetime(values: Sequence[Any], missing: list[bool]) -> tuple[pd.Series, list[Any]]:
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
