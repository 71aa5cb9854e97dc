"""CSV the platform writes back: cells that a spreadsheet would run as formulas are escaped."""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Iterable
from typing import Any

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def csv_safe_cell(value: Any) -> Any:
    """Return `value` safe for a CSV cell: a leading quote disarms formula-like text.

    Numbers (also negative ones written as text) are left alone; so are None/NaN (empty).
    """
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, (int, float)):
        return value
    text = str(value)
    if text.startswith(_FORMULA_START) and not _is_number(text):
        return "'" + text
    return text


def csv_write_rows(out: Any, header: list[str], rows: Iterable[Iterable[Any]]) -> None:
    """Write a header and rows to `out`, escaping every cell."""
    writer = csv.writer(out)
    writer.writerow([csv_safe_cell(h) for h in header])
    for row in rows:
        writer.writerow([csv_safe_cell(v) for v in row])


def csv_frame_to_text(frame: Any) -> str:
    """Return a pandas DataFrame as escaped CSV text."""
    out = io.StringIO()
    csv_write_rows(out, [str(c) for c in frame.columns], frame.itertuples(index=False, name=None))
    return out.getvalue()
