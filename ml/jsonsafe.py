"""Numpy and pandas values as plain JSON: NaN, inf and NA become null."""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import numpy as np
import pandas as pd

_PLAIN = frozenset({str, int, bool})


def finite_or_none(value: Any) -> float | None:
    """Return value as a finite float, or None (missing, NaN, infinite or not a number)."""
    try:
        number = float(value)
    except (TypeError, ValueError, OverflowError):
        return None
    return number if math.isfinite(number) else None


def to_json_safe(value: Any) -> Any:
    """Convert numpy/pandas values to plain Python; NaN, inf and NA become None."""
    if isinstance(value, dict):
        return {str(k): to_json_safe(v) for k, v in value.items()}
    if isinstance(value, np.ndarray) and value.dtype.kind in "fiub":
        return _numbers_to_json(value)
    if isinstance(value, list | tuple | set | np.ndarray | pd.Series | pd.Index):
        items = value.tolist() if hasattr(value, "tolist") else list(value)
        # Labels are nearly always text or whole numbers: no call per value for them.
        if all(item.__class__ in _PLAIN for item in items):
            return items
        return [to_json_safe(item) for item in items]
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


def _numbers_to_json(array: np.ndarray) -> list[Any]:
    """A numeric array as (nested) lists in one C pass; non-finite values become None."""
    if array.dtype.kind != "f" or np.isfinite(array).all():
        return array.tolist()
    out = array.astype(object)  # an object array: None stays None in tolist()
    out[~np.isfinite(array)] = None
    return out.tolist()
