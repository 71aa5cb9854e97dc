"""Results exports: one experiment as JSON or CSV, and the compare table as CSV."""

from __future__ import annotations

import io
import json
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
    """Compare experiments of one task side by side: metrics (the best of each marked, and
    which are lower-is-better), bars that never draw a bad score as a good one, and what in
    their configuration differs. Runs of another task than most are left out, named."""
    from ml.evaluation import LOWER_IS_BETTER

    tasks = [e.task for e in experiments if e.task in PRIMARY]
    # The task most of the chosen runs share (the first of them on a tie).
    task = max(tasks, key=lambda t: (tasks.count(t), -tasks.index(t))) if tasks else None
    kept = [e for e in experiments if e.task == task] if task else list(experiments)
    left_out = [e for e in experiments if e not in kept]
    names = _metric_names(kept)
    rows: list[dict[str, Any]] = [
        {"experiment": exp, "values": [(exp.metrics or {}).get(n) for n in names]}
        for exp in kept]
    by_metric = []
    for i, name in enumerate(names):
        values = [r["values"][i] for r in rows]
        lower = name in LOWER_IS_BETTER
        numbers = [v for v in values if isinstance(v, (int, float))]
        best = (min(numbers) if lower else max(numbers)) if numbers else None
        by_metric.append({
            "name": name, "lower_is_better": lower,
            "cells": [{"value": v, "best": v is not None and v == best and len(numbers) > 1,
                       "pct": _bar(v, numbers, lower)} for v in values],
        })
    return {"task": task, "metrics": names, "rows": rows, "by_metric": by_metric,
            "left_out": left_out, "diff": config_diff(kept),
            "primary": PRIMARY.get(task or "")}


def _metric_names(experiments: list[Experiment]) -> list[str]:
    """Every metric any of the experiments has, in the order they first appear."""
    names: list[str] = []
    for exp in experiments:
        names += [n for n in exp.metrics or {} if n not in names]
    return names


def _bar(value: Any, numbers: list[float], lower: bool) -> float:
    """0..100 % of the best: the best is a full bar, a negative R² or a worse error a short one."""
    if not isinstance(value, (int, float)) or not numbers:
        return 0.0
    if lower:
        best = min(numbers)
        return round(100 * best / value, 1) if value > 0 and best >= 0 else (
            100.0 if value == best else 0.0)
    top = max(numbers)
    return round(100 * max(value, 0) / top, 1) if top > 0 else 0.0


def config_diff(experiments: list[Experiment]) -> list[dict[str, Any]]:
    """The configuration values (algorithm, params, preprocessing, validation, features...)
    that differ between the experiments, one row per setting."""
    flat = []
    for e in experiments:
        settings = {k: v for k, v in (e.config or {}).items()
                    if k not in ("target", "algorithm", "task")}
        flat.append(dict(_flatten("", {
            "algorithm": e.algorithm, "dataset": e.dataset.name if e.dataset else None,
            "target": e.target, **settings})))
    keys: list[str] = []
    for item in flat:
        keys += [k for k in item if k not in keys]
    rows = []
    for key in keys:
        values = [item.get(key) for item in flat]
        if len({_text(v) for v in values}) > 1:
            rows.append({"setting": key, "values": [_text(v) for v in values]})
    return rows


def _text(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, (list, dict)):
        return json.dumps(value) if value else "—"
    return str(value)


def compare_csv(experiments: list[Experiment]) -> str:
    """Return the experiments (of any task) and their metrics as escaped CSV."""
    names = _metric_names(experiments)
    header = ["id", "name", "dataset", "algorithm", "task", "status", "score",
              "duration_s", *names]
    rows = []
    for exp in experiments:
        rows.append([exp.pk, exp.name, exp.dataset.name if exp.dataset else "", exp.algorithm,
                     exp.task, exp.status, exp.score, exp.duration_s,
                     *[(exp.metrics or {}).get(n) for n in names]])
    out = io.StringIO()
    csv_write_rows(out, header, rows)
    return out.getvalue()
