"""Results exports: one experiment as JSON or CSV, and the compare table as CSV."""

from __future__ import annotations

import io
from collections.abc import Iterable, Iterator
from typing import Any

from apps.core.csvsafe import csv_write_rows
from apps.experiments.models import Experiment

TRACEBACK_START = "Traceback (most recent call last)"
PRIMARY = {"classification": "f1_macro", "regression": "r2"}


def visible_log(experiment: Experiment, user: Any) -> list[str]:
    """Return the log lines this user may see: tracebacks are for staff only."""
    lines = experiment.log if isinstance(experiment.log, list) else [str(experiment.log)]
    if getattr(user, "is_staff", False):
        return [str(line) for line in lines]
    return [str(line) for line in lines if not str(line).startswith(TRACEBACK_START)]


def export_dict(experiment: Experiment) -> dict[str, Any]:
    """Return the experiment's config and results as one JSON-ready dict."""
    return {
        "id": experiment.pk,
        "name": experiment.name,
        "dataset": experiment.dataset_id,
        "status": experiment.status,
        "task": experiment.task,
        "algorithm": experiment.algorithm,
        "config": experiment.config,
        "metrics": experiment.metrics,
        "cv_metrics": experiment.cv_metrics,
        "leaderboard": experiment.leaderboard,
        "best_params": experiment.best_params,
        "feature_importance": experiment.feature_importance,
        "history": experiment.history,
        "created_at": experiment.created_at.isoformat() if experiment.created_at else None,
        "duration_s": experiment.duration_s,
    }


def _flatten(prefix: str, value: Any) -> Iterator[tuple[str, Any]]:
    if isinstance(value, dict):
        for key, inner in value.items():
            yield from _flatten(f"{prefix}.{key}" if prefix else str(key), inner)
    elif isinstance(value, list) and any(isinstance(v, (dict, list)) for v in value):
        for i, inner in enumerate(value):
            yield from _flatten(f"{prefix}[{i}]", inner)
    elif isinstance(value, list):
        yield prefix, ", ".join(str(v) for v in value)
    else:
        yield prefix, value


def _rows(experiment: Experiment) -> Iterable[tuple[str, str, str, Any]]:
    """Yield (section, item, field, value) rows in long format."""
    for name, value in _flatten("", experiment.config or {}):
        yield "config", name, "", value
    for name, value in (experiment.metrics or {}).items():
        yield "metric", name, "", value
    for name, stats in (experiment.cv_metrics or {}).items():
        for field in ("mean", "std"):
            yield "cv_metric", name, field, (stats or {}).get(field)
    for rank, trial in enumerate(experiment.leaderboard or [], start=1):
        for field, value in _flatten("", trial):
            yield "leaderboard", str(rank), field, value
    for name, value in _flatten("", experiment.best_params or {}):
        yield "best_param", name, "", value
    for row in experiment.history or []:
        for field, value in row.items():
            if field != "epoch":
                yield "history", str(row.get("epoch", "")), field, value


def export_csv(experiment: Experiment) -> str:
    """Return the experiment's config and results as escaped CSV (long format)."""
    out = io.StringIO()
    csv_write_rows(out, ["section", "item", "field", "value"], _rows(experiment))
    return out.getvalue()


def primary_metric(experiment: Experiment) -> str | None:
    return PRIMARY.get(experiment.task)


def compare_table(experiments: list[Experiment]) -> dict[str, Any]:
    """Return {"metrics": [names], "rows": [...]} to compare experiments side by side."""
    names: list[str] = []
    for exp in experiments:
        for name in exp.metrics or {}:
            if name not in names:
                names.append(name)
    rows = []
    for exp in experiments:
        values = [(exp.metrics or {}).get(n) for n in names]
        rows.append({"experiment": exp, "values": values})
    bars = _bars(names, rows)
    by_metric = [
        {"name": n, "cells": [{"value": r["values"][i], "pct": bars[n][j]}
                              for j, r in enumerate(rows)]}
        for i, n in enumerate(names)
    ]
    return {"metrics": names, "rows": rows, "by_metric": by_metric}


def _bars(names: list[str], rows: list[dict[str, Any]]) -> dict[str, list[float]]:
    """Return each metric's values scaled to 0..100 % of the largest (for CSS bars)."""
    bars: dict[str, list[float]] = {}
    for i, name in enumerate(names):
        column = [r["values"][i] for r in rows]
        numbers = [abs(v) for v in column if isinstance(v, (int, float))]
        top = max(numbers) if numbers else 0
        bars[name] = [round(100 * abs(v) / top, 1) if top and isinstance(v, (int, float))
                      else 0.0 for v in column]
    return bars


def compare_csv(experiments: list[Experiment]) -> str:
    """Return the compare table as escaped CSV."""
    table = compare_table(experiments)
    header = ["id", "name", "dataset", "algorithm", "task", "status", "score",
              "duration_s", *table["metrics"]]
    rows = []
    for row in table["rows"]:
        exp = row["experiment"]
        rows.append([exp.pk, exp.name, exp.dataset.name if exp.dataset else "", exp.algorithm,
                     exp.task, exp.status, exp.score, exp.duration_s, *row["values"]])
    out = io.StringIO()
    csv_write_rows(out, header, rows)
    return out.getvalue()
