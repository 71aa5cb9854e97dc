"""Data quality: a JSON-safe profile of a DataFrame, its columns' warnings.

The checks on a chosen target column (and which column is likely the target) are ml.targets'.
"""

from __future__ import annotations

import bisect
import math
import warnings
from typing import Any

import numpy as np
import pandas as pd

from ml.jsonsafe import finite_or_none
from ml.kinds import id_like, is_number, kind_from_dtype, kind_of_uniques

HISTOGRAM_BINS = 20
TOP_VALUES = 10
HIGH_MISSING_SHARE = 0.5
HIGH_CARDINALITY_LEVELS = 100
MIXED_NUMBER_SHARE = 0.5
# Numeric columns are summarised in blocks of about this many cells to bound memory.
BLOCK_CELLS = 4_000_000
SAMPLE_SIZE = 5_000
# Columns at least this long are summarised one at a time from a sorted 1-D copy.
LONG_COLUMN_ROWS = 50_000

Warning = dict[str, Any]


# ---------------------------------------------------------------- profile


def profile_dataframe(df: pd.DataFrame) -> dict[str, Any]:
    """Describe every column and the quality problems of a frame, JSON-safe."""
    n_rows = len(df)
    missing = df.isna().sum().to_numpy()
    # Read names and dtypes once: indexing a wide frame per column is what makes it slow.
    names, dtypes = [str(name) for name in df.columns], list(df.dtypes)
    numeric = _numeric_positions(dtypes)
    summaries, row_hash = _summarise_numeric_block(df, numeric)
    # A column with a different value on every row rules out duplicate rows: skip hashing.
    if row_hash is None and not _has_distinct_column(summaries, n_rows):
        row_hash = _numeric_row_hash(df, numeric)
    others = sorted(set(range(len(names))) - set(numeric))
    summaries.update(_summarise_other_block(df, others, dtypes, row_hash))
    columns, column_warnings = [], []
    for position, name in enumerate(names):
        summary = summaries[position]
        n_missing = int(missing[position])
        column = {
            "name": name,
            "dtype": str(dtypes[position]),
            "kind": summary["kind"],
            "n_missing": n_missing,
            "n_unique": summary["n_unique"],
            "id_like": _column_id_like(df, position, summary, n_rows - n_missing),
            "stats": summary["stats"],
            "histogram": summary["histogram"],
        }
        columns.append(column)
        column_warnings += _column_warnings(column, summary, n_rows)
    duplicates = _count_duplicates(df, summaries, row_hash, n_rows)
    return {
        "n_rows": n_rows,
        "n_columns": df.shape[1],
        "columns": columns,
        "quality": {
            "missing_cells": int(missing.sum()),
            "duplicate_rows": duplicates,
            "warnings": (_missing_summary(columns, int(missing.sum()), n_rows)
                         + column_warnings + _duplicate_warnings(duplicates, n_rows)),
        },
    }


def _numeric_positions(dtypes: list) -> list[int]:
    """Positions of real-number columns (not booleans) that numpy can summarise together."""
    return [
        i
        for i, dtype in enumerate(dtypes)
        if pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype)
    ]


def _summarise_numeric_block(
    df: pd.DataFrame, positions: list[int]
) -> tuple[dict[int, dict], np.ndarray | None]:
    """Summarise numeric columns; hash their rows on the way unless they are long."""
    if len(df) >= LONG_COLUMN_ROWS:
        return _summarise_long_columns(df, positions), None
    summaries: dict[int, dict] = {}
    row_hash = np.zeros(len(df), dtype=np.uint64)
    # Short columns go a block at a time: one numpy call per block, not per column.
    step = max(1, BLOCK_CELLS // max(len(df), 1))
    for start in range(0, len(positions), step):
        chunk = positions[start : start + step]
        block = df.iloc[:, chunk].to_numpy(dtype=float, na_value=np.nan)
        summaries.update(zip(chunk, _summarise_numeric(block), strict=True))
        row_hash += _row_hashes(_float_bits(block), chunk)
    return summaries, row_hash


def _summarise_long_columns(df: pd.DataFrame, positions: list[int]) -> dict[int, dict]:
    """Summarise long numeric columns one at a time, each from one sorted copy."""
    return {
        position: _summarise_numbers(df.iloc[:, position].to_numpy(dtype=float, na_value=np.nan))
        for position in positions
    }


def _numeric_row_hash(df: pd.DataFrame, positions: list[int]) -> np.ndarray:
    """Hash the rows of long numeric columns, one column at a time."""
    row_hash = np.zeros(len(df), dtype=np.uint64)
    for position in positions:
        values = df.iloc[:, position].to_numpy(dtype=float, na_value=np.nan)
        row_hash += _row_hashes(_float_bits(values.reshape(-1, 1)), [position])
    return row_hash


def _has_distinct_column(summaries: dict[int, dict], n_rows: int) -> bool:
    return n_rows > 0 and any(summary["n_unique"] == n_rows for summary in summaries.values())


def _count_duplicates(df: pd.DataFrame, summaries: dict[int, dict],
                      row_hash: np.ndarray | None, n_rows: int) -> int:
    """Count rows that repeat an earlier row exactly (as pandas' `duplicated()` does).

    Equal rows share a row hash, but rows that share one need not be equal (the per-column
    hashes are summed): only the rows whose hash occurs more than once are compared, exactly.
    """
    if not summaries or _has_distinct_column(summaries, n_rows):
        return 0
    assert row_hash is not None  # hashed whenever no column was all distinct
    order = np.argsort(row_hash, kind="stable")
    ordered = row_hash[order]
    repeated = ordered[1:] == ordered[:-1]
    if not repeated.any():
        return 0
    shared = np.zeros(len(ordered), dtype=bool)
    shared[1:] |= repeated
    shared[:-1] |= repeated
    candidates = np.sort(order[shared])
    return int(df.iloc[candidates].duplicated().sum())


def _summarise_numbers(values: np.ndarray) -> dict:
    """Summarise one 1-D float column as _summarise_numeric does, from a single sort."""
    if len(values) < LONG_COLUMN_ROWS:
        return _summarise_numeric(values.reshape(-1, 1))[0]
    ordered = np.sort(values)  # NaN sorts last, infinities just before and at the start
    present = ordered[: np.searchsorted(ordered, np.nan)]
    finite = present[
        np.searchsorted(present, -np.inf, side="right") : np.searchsorted(present, np.inf)
    ]
    n_unique = 1 + int(np.count_nonzero(present[1:] != present[:-1])) if len(present) else 0
    integral = len(finite) == len(present) and _all_whole(finite)
    if len(finite):
        low, high = float(finite[0]), float(finite[-1])
        with np.errstate(over="ignore", invalid="ignore"):  # huge values overflow to inf
            mean = float(finite.mean())
            std = float(finite.std(ddof=1)) if len(finite) > 1 else math.nan
    else:
        low = high = mean = std = math.nan
    return {
        "kind": "numeric",
        "n_unique": n_unique,
        "integral": bool(integral),
        "stats": {
            "min": finite_or_none(low),
            "max": finite_or_none(high),
            "mean": finite_or_none(mean),
            "std": finite_or_none(std),
        },
        "histogram": _sorted_histogram(finite, n_unique),
    }


def _all_whole(values: np.ndarray) -> bool:
    """Say whether every (finite) value is a whole number; a small slice usually decides."""
    head = values[:1_000]
    return bool(np.array_equal(head, np.floor(head)) and np.array_equal(values, np.floor(values)))


def _sorted_histogram(finite: np.ndarray, n_unique: int) -> dict | None:
    """Bin sorted finite values exactly as _histograms does, by binary search per bin."""
    if not len(finite):
        return None
    low, high = float(finite[0]), float(finite[-1])
    bins = int(np.clip(n_unique, 1, HISTOGRAM_BINS))
    width = high - low if high > low else 1.0

    def bin_of(value: float) -> int:
        # The same float arithmetic as _histograms, so values on an edge land alike.
        return min(math.floor((value - low) / width * bins), bins - 1)

    # Bin numbers never decrease along sorted values, so each bin starts at a bisection.
    starts = [bisect.bisect_left(finite, b, key=bin_of) for b in range(1, bins)]
    bounds = [0, *starts, len(finite)]
    counts = [bounds[i + 1] - bounds[i] for i in range(bins)]
    steps = np.arange(HISTOGRAM_BINS + 1) / bins
    edges = (low + (high - low) * np.minimum(steps, 1.0)).tolist()
    return {"bins": edges[: bins + 1], "counts": counts}


def _summarise_numeric(block: np.ndarray) -> list[dict]:
    """Return n_unique, integrality, stats and a histogram for each column of a 2-D array."""
    ordered = np.sort(block, axis=0)  # NaN sorts last
    present = ~np.isnan(ordered)
    changes = np.ones_like(present)
    changes[1:] = ordered[1:] != ordered[:-1]
    n_unique = (changes & present).sum(axis=0)
    with np.errstate(invalid="ignore"):
        integral = np.all(~present | (np.mod(ordered, 1) == 0), axis=0)
    finite = np.where(np.isfinite(block), block, np.nan)
    if len(finite) == 0:  # no rows: nothing to summarise (uploads refuse such files)
        low = high = mean = std = np.full(finite.shape[1], np.nan)
    else:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-missing columns give NaN
            low, high = np.nanmin(finite, axis=0), np.nanmax(finite, axis=0)
            mean, std = np.nanmean(finite, axis=0), np.nanstd(finite, axis=0, ddof=1)
    histograms = _histograms(finite, low, high, n_unique)
    return [
        {
            "kind": "numeric",
            "n_unique": int(n_unique[i]),
            "integral": bool(integral[i]),
            "stats": {
                "min": finite_or_none(low[i]),
                "max": finite_or_none(high[i]),
                "mean": finite_or_none(mean[i]),
                "std": finite_or_none(std[i]),
            },
            "histogram": histograms[i],
        }
        for i in range(block.shape[1])
    ]


def _histograms(
    finite: np.ndarray, low: np.ndarray, high: np.ndarray, n_unique: np.ndarray
) -> list[dict | None]:
    """Bin every column at once: at most 20 equal-width bins between its min and max."""
    n_columns = finite.shape[1]
    bins = np.clip(n_unique, 1, HISTOGRAM_BINS)
    width = np.where(high > low, high - low, 1.0)
    with np.errstate(invalid="ignore"):
        index = np.floor((finite - low) / width * bins)
    valid = ~np.isnan(index)
    index = np.clip(np.nan_to_num(index), 0, bins - 1).astype(np.int64)
    flat = (index + np.arange(n_columns) * HISTOGRAM_BINS)[valid]
    counts = np.bincount(flat, minlength=n_columns * HISTOGRAM_BINS).reshape(
        n_columns, HISTOGRAM_BINS).tolist()
    steps = np.arange(HISTOGRAM_BINS + 1) / bins[:, None]
    edges = (low[:, None] + (high - low)[:, None] * np.minimum(steps, 1.0)).tolist()
    return [
        None
        if math.isnan(low[i])
        else {"bins": edges[i][: bins[i] + 1], "counts": counts[i][: bins[i]]}
        for i in range(n_columns)
    ]


def _summarise_other_block(
    df: pd.DataFrame, positions: list[int], dtypes: list, row_hash: np.ndarray | None
) -> dict[int, dict]:
    """Summarise non-numeric columns from their factorised codes; add to row_hash if given."""
    summaries: dict[int, dict] = {}
    for position in positions:
        series = df.iloc[:, position]
        # Factorising works on the column's own storage (Arrow text stays Arrow): no Python
        # object per cell, and the codes identify equal values exactly for the row hash.
        codes, uniques = _factorize(series)
        summaries[position] = _summarise_other(series, codes, uniques, dtypes[position])
        if row_hash is not None:
            row_hash += _row_hashes(codes.astype(np.uint64).reshape(-1, 1), [position])
    return summaries


def _factorize(series: pd.Series) -> tuple[np.ndarray, Any]:
    """Return codes (-1 where missing) and distinct values in order of first appearance."""
    try:
        return pd.factorize(series, use_na_sentinel=True)
    except TypeError:  # unhashable cells such as lists: count them by their text
        missing = series.isna().to_numpy()
        text = [None if gone else str(value) for value, gone in zip(series, missing, strict=True)]
        return pd.factorize(pd.Series(text, dtype=object), use_na_sentinel=True)


def _summarise_other(
    series: pd.Series, codes: np.ndarray, uniques: Any, dtype: Any
) -> dict[str, Any]:
    """Summarise one non-numeric column: kind, distinct values, and top values or range."""
    counts = _count_values(codes, uniques)
    n_present, n_unique = int(np.count_nonzero(codes >= 0)), len(uniques)
    values = [value for value, _ in counts]
    kind = kind_from_dtype(dtype) or kind_of_uniques(values[:SAMPLE_SIZE], n_unique, n_present)
    if kind == "numeric":
        numbers = pd.to_numeric(series, errors="coerce")
        return _summarise_numbers(numbers.to_numpy(dtype=float, na_value=np.nan))
    summary: dict[str, Any] = {"kind": kind, "n_unique": n_unique, "integral": False}
    summary["counts"], summary["histogram"] = counts, None
    if pd.api.types.is_datetime64_any_dtype(dtype) and n_present:
        summary["stats"] = {
            "min": _json_value(uniques.min()),
            "max": _json_value(uniques.max()),
            "mean": None,
            "std": None,
        }
    else:
        top = counts[:TOP_VALUES]
        summary["stats"] = {"top": [{"value": _json_value(v), "count": n} for v, n in top]}
    return summary


def _count_values(codes: np.ndarray, uniques: Any) -> list[tuple[Any, int]]:
    """Return the SAMPLE_SIZE most frequent (value, count) pairs, most frequent first."""
    counts = np.bincount(codes[codes >= 0], minlength=len(uniques))
    # A stable sort keeps ties in order of first appearance, as Counter.most_common does.
    order = np.argsort(-counts, kind="stable")[:SAMPLE_SIZE]
    values = uniques.take(order)
    values = values.tolist() if hasattr(values, "tolist") else list(values)
    return list(zip(values, counts[order].tolist(), strict=True))


def _column_id_like(df: pd.DataFrame, position: int, summary: dict, n_present: int) -> bool:
    """Check id-likeness only where it is possible: whole numbers or text, nearly unique."""
    if n_present < 2 or summary["n_unique"] < 0.95 * n_present:
        return False
    if summary["kind"] == "numeric" and not summary["integral"]:
        return False
    series = df.iloc[:, position]
    return id_like(str(df.columns[position]), series.dropna(), summary["n_unique"])


# ---------------------------------------------------------------- column warnings


def _column_warnings(column: dict[str, Any], summary: dict, n_rows: int) -> list[Warning]:
    """Return the quality warnings of one profiled column."""
    name, n_missing, n_unique = column["name"], column["n_missing"], column["n_unique"]
    if n_rows == 0:
        return []
    if n_missing == n_rows:
        return [_warning(name, "all_missing", "Has no values at all.")]
    found = []
    share = n_missing / n_rows
    if share >= HIGH_MISSING_SHARE:
        message = f"Missing {share:.0%} of its values ({n_missing:,} rows)."
        found.append(_warning(name, "high_missing", message))
    if n_unique == 1:
        message = "Has a single value; it cannot help a model."
        found.append(_warning(name, "constant_column", message))
    if column["id_like"]:
        message = (
            "Looks like an identifier (a different value on every row); "
            "leave it out of the features."
        )
        found.append(_warning(name, "id_like", message, severity="info"))
    elif column["kind"] == "categorical" and _high_cardinality(n_unique, n_rows - n_missing):
        message = (
            f"Has {n_unique:,} different categories; one-hot encoding it "
            "makes many sparse features."
        )
        found.append(_warning(name, "high_cardinality", message))
    mixed = _mixed_types(summary["counts"]) if "counts" in summary else None
    if mixed:
        found.append(_warning(name, "mixed_types", f"Mixes {mixed}."))
    return found


def _high_cardinality(n_unique: int, n_present: int) -> bool:
    return n_unique > HIGH_CARDINALITY_LEVELS or (n_unique > 20 and n_unique > 0.5 * n_present)


def _mixed_types(counts: list[tuple[Any, int]]) -> str | None:
    """Describe a mix of kinds of value (from a column's value counts), or return None."""
    uniques = [value for value, _ in counts[:SAMPLE_SIZE]]
    types = {_type_name(v) for v in uniques}
    if len(types) > 1:
        return " and ".join(sorted(types)) + " values"
    if types != {"text"}:
        return None
    weights = np.array([n for _, n in counts[:SAMPLE_SIZE]])
    numeric = np.array([is_number(str(v).strip()) for v in uniques])
    share = float(weights[numeric].sum() / max(weights.sum(), 1))
    if MIXED_NUMBER_SHARE <= share < 1:
        examples = ", ".join(repr(uniques[i]) for i in np.flatnonzero(~numeric)[:3])
        return f"numbers ({share:.0%} of values) with text such as {examples}"
    return None


def _type_name(value: Any) -> str:
    if isinstance(value, (bool, np.bool_)):
        return "boolean"
    if isinstance(value, (int, float, np.number)):
        return "number"
    if isinstance(value, str):
        return "text"
    return type(value).__name__


def _row_hashes(columns: np.ndarray, positions: list[int]) -> np.ndarray:
    """Combine 64-bit column hashes (rows x columns) into one hash per row."""
    # splitmix64 finaliser, then a different odd weight per column position; uint64 wraps.
    # In-place steps: on long columns the temporaries cost more than the arithmetic.
    z = columns >> np.uint64(30)
    z ^= columns
    z *= np.uint64(0xBF58476D1CE4E5B9)
    z ^= z >> np.uint64(27)
    z *= np.uint64(0x94D049BB133111EB)
    z ^= z >> np.uint64(31)
    z *= (np.asarray(positions, dtype=np.uint64) * np.uint64(0x9E3779B97F4A7C15)) | np.uint64(1)
    return z[:, 0] if z.shape[1] == 1 else z.sum(axis=1, dtype=np.uint64)


def _float_bits(block: np.ndarray) -> np.ndarray:
    """View floats as uint64 after making every NaN and zero the same bit pattern."""
    block = block + 0.0  # a copy, in which -0.0 has become 0.0
    block[np.isnan(block)] = np.nan
    return np.ascontiguousarray(block).view(np.uint64)


def _missing_summary(columns: list[dict[str, Any]], n_cells: int,
                     n_rows: int) -> list[Warning]:
    """Always say how much is missing (info level; columns past the threshold warn too)."""
    if not n_cells:
        return []
    gaps = sorted(((c["n_missing"], c["name"]) for c in columns if c["n_missing"]),
                  reverse=True)
    shown = ", ".join(f"{name} ({n:,})" for n, name in gaps[:5])
    more = f" and {len(gaps) - 5} more" if len(gaps) > 5 else ""
    rows = "row" if n_rows == 1 else "rows"
    message = (f"{n_cells:,} cells are empty across {len(gaps)} column"
               f"{'s' if len(gaps) != 1 else ''} of {n_rows:,} {rows}: {shown}{more}. "
               "Training fills in missing numbers (with the median unless you choose otherwise) "
               "and treats a missing category as a value of its own.")
    return [_warning(None, "missing_values", message, severity="info")]


def _duplicate_warnings(duplicates: int, n_rows: int) -> list[Warning]:
    if not duplicates:
        return []
    message = f"{duplicates:,} of {n_rows:,} rows repeat an earlier row exactly."
    return [_warning(None, "duplicate_rows", message)]


# ---------------------------------------------------------------- JSON helpers


def _warning(column: str | None, code: str, message: str, severity: str = "warning") -> Warning:
    return {"column": column, "code": code, "message": message, "severity": severity}


def _json_value(value: Any) -> Any:
    """Return a JSON-safe plain Python version of one cell value."""
    if value is None or value is pd.NaT:
        return None
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return finite_or_none(value)
    if isinstance(value, (pd.Timestamp, np.datetime64)):
        return pd.Timestamp(value).isoformat()
    if isinstance(value, str):
        return value
    try:
        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    return str(value)
