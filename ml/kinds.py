"""Column kinds: what each column of a table is (numeric, boolean, datetime, categorical,
text), from its dtype or its distinct values, and whether it looks like an identifier.

Every pattern here runs on every distinct value of a column, so each is linear-time.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

# Distinct values looked at to tell a column's kind.
SAMPLE_SIZE = 5_000
_ID_NAME = re.compile(r"(^|[^a-z])(id|uuid|guid)$|^(id|uuid|guid)([^a-z]|$)")
_CAMEL_ID = re.compile(r"[a-z0-9]I[dD]$")
# Type inference runs these on every distinct value of a column, so each is linear-time: no
# two quantifiers can share the same characters (a 40,000-digit cell made the old ones take
# 42 s), and values longer than any number or date are refused before a pattern sees them.
_DATE_LIKE = re.compile(
    r"(\d{4}[-/.]\d{1,2}[-/.]\d{1,2}|\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4})"
    r"([ T]\d{1,2}:\d{2}(:\d{2}(\.\d{1,9})?)? ?(Z|[+-]\d{2}:?\d{2})?)?"
)
NUMBER = re.compile(r"[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?")
MAX_NUMBER_CHARS = 400
MAX_DATE_CHARS = 64


def is_number(text: str) -> bool:
    """Say whether `text` (already stripped) is written as a number, in linear time."""
    return len(text) <= MAX_NUMBER_CHARS and NUMBER.fullmatch(text) is not None


def is_date_like(text: str) -> bool:
    """Say whether `text` (already stripped) is written as a date or date-time."""
    return len(text) <= MAX_DATE_CHARS and _DATE_LIKE.fullmatch(text) is not None


_SPACE = re.compile(r"\s")
# One vocabulary of true/false words: training encodes boolean columns with it
# (ml.preprocessing), predictions read them with it (ml.schema), and a column of only its
# non-numeric words reads as boolean (0/1 alone stay numbers).
TRUE_WORDS = frozenset({"true", "t", "yes", "y", "1", "1.0"})
FALSE_WORDS = frozenset({"false", "f", "no", "n", "0", "0.0"})
_BOOL_TOKENS = (TRUE_WORDS | FALSE_WORDS) - {"1", "0", "1.0", "0.0"}


# ---------------------------------------------------------------- column kinds


def column_kind(series: pd.Series) -> str:
    """Return numeric, categorical, boolean, datetime or text for a column."""
    kind = kind_from_dtype(series.dtype)
    if kind is not None:
        return kind
    values = series.dropna()
    try:
        uniques = pd.unique(values)
    except TypeError:  # unhashable cells such as lists
        uniques = pd.unique(values.astype(str))
    return kind_of_uniques(list(uniques[:SAMPLE_SIZE]), len(uniques), len(values))


def kind_from_dtype(dtype: object) -> str | None:
    """Return the kind a dtype settles on its own, or None if the values must decide."""
    if pd.api.types.is_bool_dtype(dtype):
        return "boolean"
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return "datetime"
    if pd.api.types.is_numeric_dtype(dtype) or pd.api.types.is_timedelta64_dtype(dtype):
        return "numeric"
    if isinstance(dtype, pd.CategoricalDtype):
        return "categorical"
    return None


def kind_of_uniques(uniques: list, n_unique: int, n_present: int) -> str:
    """Classify an object/text column from (a sample of) its distinct non-missing values."""
    if not uniques:
        return "numeric"  # all missing: nothing says otherwise, and NaN is a float
    if all(isinstance(v, (bool, np.bool_)) for v in uniques):
        return "boolean"
    text = [str(v).strip() for v in uniques]
    if {t.lower() for t in text} <= _BOOL_TOKENS:
        return "boolean"
    if all(is_number(t) for t in text):
        return "numeric"
    if _looks_like_dates(text):
        return "datetime"
    if n_unique > 20 and n_unique > 0.5 * n_present and _is_prose(text):
        return "text"
    return "categorical"


def _looks_like_dates(text: list[str]) -> bool:
    if sum(is_date_like(t) for t in text) < 0.95 * len(text):
        return False
    parsed = pd.to_datetime(pd.Series(text[:500]), errors="coerce", format="mixed")
    return bool(parsed.notna().mean() >= 0.95)


def _is_prose(text: list[str]) -> bool:
    """Long values or several words per value read as free text, not as categories."""
    mean_length = sum(len(t) for t in text) / len(text)
    mean_words = sum(len(t.split()) for t in text) / len(text)
    return mean_length >= 30 or mean_words >= 4


def is_id_like(series: pd.Series) -> bool:
    """Say whether a column looks like a row identifier rather than a feature."""
    values = series.dropna()
    return id_like(str(series.name), values, int(values.nunique()))


def id_like(name: str, values: pd.Series, n_unique: int) -> bool:
    """Decide id-likeness from the name, the non-missing values and their unique count."""
    n = len(values)
    if n < 2 or not _integer_or_string(values):
        return False
    if (_ID_NAME.search(name.strip().lower()) or _CAMEL_ID.search(name.strip())) and (
        n_unique >= 0.95 * n
    ):
        return True
    if n < 20 or n_unique < n:
        return False
    if pd.api.types.is_numeric_dtype(values.dtype):
        # Unique whole numbers are an id when they count rows: ordered and dense.
        ordered = values.is_monotonic_increasing or values.is_monotonic_decreasing
        return bool(ordered and values.max() - values.min() < 2 * n)
    # Unique codes: no spaces, and digits in almost all (names and words have no digits).
    sample = [str(v) for v in values.iloc[:SAMPLE_SIZE]]
    with_digits = sum(any(c.isdigit() for c in v) for v in sample)
    return not any(_SPACE.search(v) for v in sample) and with_digits >= 0.9 * len(sample)


def _integer_or_string(values: pd.Series) -> bool:
    dtype = values.dtype
    if pd.api.types.is_bool_dtype(dtype) or pd.api.types.is_datetime64_any_dtype(dtype):
        return False
    if pd.api.types.is_integer_dtype(dtype):
        return True
    if pd.api.types.is_float_dtype(dtype):
        return bool(np.all(np.mod(values.to_numpy(), 1) == 0))
    return pd.api.types.is_string_dtype(dtype) or pd.api.types.is_object_dtype(dtype)
