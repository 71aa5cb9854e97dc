"""Shape a dataset's profile for its page: mini-histogram bars and grouped warnings."""

from __future__ import annotations

from typing import Any

from apps.datasets.models import Dataset

SEVERITIES = ("error", "warning", "info")


def column_rows(profile: dict[str, Any]) -> list[dict[str, Any]]:
    """Return one row per column with bar heights (percent) for a CSS mini-histogram."""
    return [_column_row(column) for column in (profile or {}).get("columns", [])]


def _column_row(column: dict[str, Any]) -> dict[str, Any]:
    histogram = column.get("histogram") or {}
    counts = histogram.get("counts") or []
    bins = histogram.get("bins") or []
    stats = column.get("stats") or {}
    top = stats.get("top") or []
    return {
        **column,
        "spark": _percentages(counts),
        "range": (bins[0], bins[-1]) if len(bins) >= 2 else None,
        "top": [
            {**item, "pct": pct} for item, pct in zip(top[:5], _percentages(
                [t.get("count", 0) for t in top[:5]]), strict=False)
        ],
    }


def _percentages(counts: list[Any]) -> list[int]:
    biggest = max((c or 0 for c in counts), default=0)
    if not biggest:
        return [0 for _ in counts]
    # At least 2% so a non-empty bin stays visible next to a tall one.
    return [max(2, round(100 * c / biggest)) if c else 0 for c in counts]


def warnings_by_severity(dataset: Dataset) -> list[tuple[str, list[dict[str, Any]]]]:
    """Return the quality warnings grouped as [(severity, [warning, ...])], worst first."""
    groups: dict[str, list[dict[str, Any]]] = {s: [] for s in SEVERITIES}
    for warning in (dataset.quality or {}).get("warnings", []):
        groups.setdefault(warning.get("severity") or "warning", []).append(warning)
    return [(severity, items) for severity, items in groups.items() if items]


# A kind of warning about more columns than this is folded (its summary names how many).
FOLD_AFTER = 5


def warning_groups(dataset: Dataset) -> list[dict[str, Any]]:
    """Warnings by severity (worst first), then by kind: one foldable group per code."""
    out = []
    for severity, items in warnings_by_severity(dataset):
        kinds: dict[str, list[dict[str, Any]]] = {}
        for warning in items:
            kinds.setdefault(str(warning.get("code") or ""), []).append(warning)
        out.append({"severity": severity, "count": len(items), "kinds": [
            {"code": code, "items": found, "open": len(found) <= FOLD_AFTER,
             "columns": sum(1 for w in found if w.get("column"))}
            for code, found in kinds.items()]})
    return out
