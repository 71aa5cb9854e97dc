"""Hyper-parameter search (grid, random, Optuna TPE) and `auto` model selection, both with CV."""

from __future__ import annotations

import contextlib
import itertools
import json
import logging
import math
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd
from sklearn.metrics import get_scorer
from sklearn.model_selection import KFold, StratifiedKFold, TimeSeriesSplit, train_test_split

from ml import interrupt
from ml.callbacks import ProgressCallback
from ml.config import validate_space
from ml.errors import DataError, MLError, TrainingCancelled
from ml.evaluation import LOWER_IS_BETTER

logger = logging.getLogger(__name__)

# Our metric names -> scikit-learn scorer names ("neg_" ones are flipped back to natural units).
SCORER_NAMES = {
    "accuracy": "accuracy",
    "balanced_accuracy": "balanced_accuracy",
    "precision_macro": "precision_macro",
    "recall_macro": "recall_macro",
    "f1_macro": "f1_macro",
    "f1_weighted": "f1_weighted",
    "roc_auc": "roc_auc",
    "log_loss": "neg_log_loss",
    "mae": "neg_mean_absolute_error",
    "mse": "neg_mean_squared_error",
    "rmse": "neg_root_mean_squared_error",
    "r2": "r2",
    "mape": "neg_mean_absolute_percentage_error",
}
CV_METRICS = {
    "classification": ("accuracy", "balanced_accuracy", "f1_macro", "f1_weighted"),
    "regression": ("mae", "rmse", "r2"),
}
GRID_POINTS_PER_RANGE = 4
AUTO_MAX_BUDGET_S = 60.0
AUTO_MIN_BUDGET_S = 10.0

Progress = Callable[[float, str], None]
PipelineFactory = Callable[[dict[str, Any]], Any]


@dataclass
class SearchResult:
    """A finished search: trials best first, and the winning params and score."""

    metric: str
    trials: list[dict[str, Any]] = field(default_factory=list)
    best_params: dict[str, Any] = field(default_factory=dict)
    best_score: float | None = None
    stopped_early: bool = False  # asked to stop: the best of the trials so far


# ---------------------------------------------------------------- scoring and CV


class Scorer:
    """Score a fitted pipeline with one of our metric names, in the metric's natural units."""

    def __init__(self, metric: str, *, n_classes: int | None = None) -> None:
        name = SCORER_NAMES[metric]
        if metric == "roc_auc" and n_classes and n_classes > 2:
            name = "roc_auc_ovr"
        self.metric = metric
        self._sign = -1.0 if name.startswith("neg_") else 1.0
        self._scorer = get_scorer(name)

    def __call__(self, pipeline: Any, X: Any, y: Any) -> float:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                return float(self._sign * self._scorer(pipeline, X, y))
        except (ValueError, IndexError):
            return math.nan  # e.g. a class missing from a fold: this fold has no score


def make_cv(
    y: np.ndarray, folds: int, *, task: str, split: str = "random", stratify: bool = True,
    random_state: int = 0,
) -> tuple[Any, str | None]:
    """Return a CV splitter (or None when folds < 2) and a note when it had to adapt."""
    if folds < 2:
        return None, None
    folds = min(folds, len(y) // 2)
    if folds < 2:
        return None, "Too few rows for cross-validation; it was skipped."
    if split == "time_series":
        return TimeSeriesSplit(n_splits=folds), None
    if task == "classification" and stratify:
        smallest = int(pd.Series(y).value_counts().min())
        if smallest >= 2:
            note = None
            if smallest < folds:
                note = (f"Cross-validation uses {smallest} folds: "
                        f"the rarest class has {smallest} rows.")
            return StratifiedKFold(min(folds, smallest), shuffle=True,
                                   random_state=random_state), note
        note = "A class has a single row, so cross-validation is not stratified."
        return KFold(folds, shuffle=True, random_state=random_state), note
    return KFold(folds, shuffle=True, random_state=random_state), None


def cross_validate(
    make_pipeline: Callable[[], Any], X: pd.DataFrame, y: np.ndarray, cv: Any,
    scorers: dict[str, Scorer], *, callback: ProgressCallback | None = None,
    on_fold: Callable[[int, int], None] | None = None,
) -> dict[str, list[float]]:
    """Fit a fresh pipeline per fold and score each fold; check for cancellation between folds."""
    callback = callback or ProgressCallback()
    scores: dict[str, list[float]] = {name: [] for name in scorers}
    splits = list(cv.split(X, y))
    for i, (train_index, test_index) in enumerate(splits):
        callback.check_cancelled()
        pipeline = make_pipeline()
        pipeline.fit(X.iloc[train_index], y[train_index])
        X_test, y_test = X.iloc[test_index], y[test_index]
        for name, scorer in scorers.items():
            scores[name].append(scorer(pipeline, X_test, y_test))
        if on_fold is not None:
            on_fold(i + 1, len(splits))
    return scores


def summarize(values: list[float]) -> dict[str, float | None]:
    """Return {"mean", "std"} of fold scores, ignoring folds without a score."""
    finite = [v for v in values if math.isfinite(v)]
    if not finite:
        return {"mean": None, "std": None}
    return {"mean": float(np.mean(finite)), "std": float(np.std(finite))}


def _holdout(y: np.ndarray, *, task: str, random_state: int) -> list[tuple[np.ndarray, ...]]:
    """One train/validation split for when CV is switched off (auto and tuning need a score)."""
    index = np.arange(len(y))
    stratify = y if task == "classification" and pd.Series(y).value_counts().min() >= 2 else None
    try:
        train, valid = train_test_split(index, test_size=0.25, random_state=random_state,
                                        stratify=stratify)
    except ValueError:
        train, valid = train_test_split(index, test_size=0.25, random_state=random_state)
    return [(train, valid)]


class _FixedSplits:
    def __init__(self, splits: list[tuple[np.ndarray, ...]]) -> None:
        self.splits = splits

    def split(self, X: Any, y: Any = None) -> list[tuple[np.ndarray, ...]]:
        return self.splits


def scoring_cv(cv: Any, y: np.ndarray, *, task: str, random_state: int) -> Any:
    """Return cv, or a single holdout split when CV is off."""
    return cv if cv is not None else _FixedSplits(_holdout(y, task=task, random_state=random_state))


# ---------------------------------------------------------------- search spaces


def _is_int_range(dim: dict[str, Any]) -> bool:
    return all(isinstance(dim[k], int) and not isinstance(dim[k], bool) for k in ("low", "high"))


def _grid_values(dim: Any) -> list[Any]:
    if isinstance(dim, list):
        return dim
    low, high, log = dim["low"], dim["high"], dim.get("log", False)
    points = (np.geomspace if log else np.linspace)(low, high, GRID_POINTS_PER_RANGE)
    if _is_int_range(dim):
        return sorted({int(round(p)) for p in points})
    return [float(p) for p in points]


def _sample(dim: Any, rng: np.random.Generator) -> Any:
    if isinstance(dim, list):
        return dim[int(rng.integers(len(dim)))]
    low, high, log = dim["low"], dim["high"], dim.get("log", False)
    if log:
        value = math.exp(rng.uniform(math.log(low), math.log(high)))
    else:
        value = rng.uniform(low, high)
    return int(min(high, max(low, round(value)))) if _is_int_range(dim) else float(value)


def grid_candidates(space: dict[str, Any]) -> list[dict[str, Any]]:
    """Every combination of the space (ranges become a few evenly spread points)."""
    names = list(space)
    values = [_grid_values(space[n]) for n in names]
    return [dict(zip(names, combo, strict=True)) for combo in itertools.product(*values)]


def random_candidates(space: dict[str, Any], n: int, random_state: int) -> list[dict[str, Any]]:
    """Up to n distinct random draws from the space."""
    rng = np.random.default_rng(random_state)
    seen: dict[str, dict[str, Any]] = {}
    for _ in range(n * 20):
        params = {name: _sample(dim, rng) for name, dim in space.items()}
        seen.setdefault(json.dumps(params, sort_keys=True, default=str), params)
        if len(seen) >= n:
            break
    return list(seen.values())


# ---------------------------------------------------------------- search


class _Trials:
    """Run and record trials within a time budget."""

    def __init__(
        self, make_pipeline: PipelineFactory, X: pd.DataFrame, y: np.ndarray, cv: Any,
        scorer: Scorer, *, callback: ProgressCallback, deadline: float | None,
    ) -> None:
        self.make_pipeline, self.X, self.y, self.cv = make_pipeline, X, y, cv
        self.scorer, self.callback, self.deadline = scorer, callback, deadline
        self.records: list[dict[str, Any]] = []
        self.stopped = False  # asked to stop early and keep the best so far

    def out_of_time(self) -> bool:
        return bool(self.records) and self.deadline is not None and time.monotonic() > self.deadline

    def wrap_up(self) -> bool:
        """Stop now (keeping the best so far)? Only once a trial has a score."""
        if not self.stopped and any(r.get("mean_score") is not None for r in self.records):
            self.stopped = interrupt.stop_requested() or self.callback.should_wrap_up()
        return self.stopped

    def run(self, params: dict[str, Any]) -> float:
        self.callback.check_cancelled()
        if self.wrap_up():
            return math.nan
        started = time.monotonic()
        record: dict[str, Any] = {"params": params}
        scored = any(r.get("mean_score") is not None for r in self.records)
        try:
            # Once a trial has a score, a stop request ends this one inside its fit.
            with interrupt.interruptible(None) if scored else contextlib.nullcontext():
                scores = cross_validate(lambda: self.make_pipeline(params), self.X, self.y,
                                        self.cv, {"score": self.scorer}, callback=self.callback)
            record.update({f"{k}_score": v for k, v in summarize(scores["score"]).items()})
        except (interrupt.Interrupted, KeyboardInterrupt) as exc:
            if interrupt.reason_of(exc) is None:
                raise  # a real Ctrl-C
            self.stopped = True
            return math.nan
        except TrainingCancelled:
            raise
        except (MLError, ValueError, TypeError) as exc:
            record.update({"mean_score": None, "std_score": None, "error": str(exc)})
        record["fit_time_s"] = round(time.monotonic() - started, 3)
        self.records.append(record)
        self.callback.on_trial({**record, "metric": self.scorer.metric})
        mean = record.get("mean_score")
        return math.nan if mean is None else float(mean)

    def result(self, metric: str) -> SearchResult:
        ranked = rank(self.records, metric)
        ok = [r for r in ranked if r.get("mean_score") is not None]
        if not ok:
            errors = {str(r["error"]) for r in ranked if r.get("error")}
            raise DataError("Every tuning trial failed: " + "; ".join(sorted(errors)[:3]))
        return SearchResult(metric, ranked, dict(ok[0]["params"]), ok[0]["mean_score"],
                            stopped_early=self.stopped)


def rank(records: list[dict[str, Any]], metric: str) -> list[dict[str, Any]]:
    """Sort records best first by mean_score (failed ones last) and number them."""
    sign = 1.0 if metric in LOWER_IS_BETTER else -1.0
    ranked = sorted(records, key=lambda r: (r.get("mean_score") is None,
                                            sign * (r.get("mean_score") or 0.0)))
    return [{"rank": i + 1, **r} for i, r in enumerate(ranked)]


def search(
    make_pipeline: PipelineFactory, X: pd.DataFrame, y: np.ndarray, *, space: dict[str, Any],
    method: str, n_trials: int, metric: str, cv: Any, task: str,
    time_budget_s: float | None = None, callback: ProgressCallback | None = None,
    random_state: int = 0, progress: Progress | None = None,
) -> SearchResult:
    """Search params with CV; `make_pipeline(params)` builds a fresh pipeline for one trial."""
    validate_space(space, method="random")  # grid discretises ranges itself
    callback = callback or ProgressCallback()
    n_classes = len(np.unique(y)) if task == "classification" else None
    deadline = time.monotonic() + time_budget_s if time_budget_s else None
    trials = _Trials(make_pipeline, X, y, scoring_cv(cv, y, task=task, random_state=random_state),
                     Scorer(metric, n_classes=n_classes), callback=callback, deadline=deadline)
    if method == "bayesian":
        _optuna_search(trials, space, n_trials, metric, random_state, progress)
    else:
        candidates = (grid_candidates(space) if method == "grid"
                      else random_candidates(space, n_trials, random_state))
        for i, params in enumerate(candidates):
            if trials.wrap_up():
                logger.info("Tuning stopped on request after %d trials.", i)
                break
            if trials.out_of_time():
                logger.info("Tuning stopped after %d trials: time budget reached.", i)
                break
            trials.run(params)
            if progress is not None:
                progress((i + 1) / len(candidates), f"Trial {i + 1} of {len(candidates)}")
    return trials.result(metric)


def _optuna_search(
    trials: _Trials, space: dict[str, Any], n_trials: int, metric: str, random_state: int,
    progress: Progress | None,
) -> None:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    direction: Literal["minimize", "maximize"] = (
        "minimize" if metric in LOWER_IS_BETTER else "maximize")
    study = optuna.create_study(
        direction=direction, sampler=optuna.samplers.TPESampler(seed=random_state)
    )

    def objective(trial: Any) -> float:
        params = {name: _suggest(trial, name, dim) for name, dim in space.items()}
        score = trials.run(params)
        if progress is not None:
            progress(len(trials.records) / n_trials,
                     f"Trial {len(trials.records)} of {n_trials}")
        return score

    def stop_when_late(study: Any, _trial: Any) -> None:
        if trials.out_of_time() or trials.wrap_up():
            study.stop()

    study.optimize(objective, n_trials=n_trials, callbacks=[stop_when_late],
                   catch=(), gc_after_trial=False, show_progress_bar=False)


def _suggest(trial: Any, name: str, dim: Any) -> Any:
    if isinstance(dim, list):
        # Suggest an index: Optuna's categorical values must be scalars, ours may be lists.
        return dim[trial.suggest_categorical(name, list(range(len(dim))))]
    log = bool(dim.get("log", False))
    if _is_int_range(dim):
        return trial.suggest_int(name, dim["low"], dim["high"], log=log)
    return trial.suggest_float(name, float(dim["low"]), float(dim["high"]), log=log)


# ---------------------------------------------------------------- auto


def default_auto_budget(n_rows: int, n_columns: int) -> float:
    """Seconds `auto` may spend: 60 s for big tables, less for small ones (at least 10 s)."""
    cells = n_rows * max(n_columns, 1)
    return float(min(AUTO_MAX_BUDGET_S, max(AUTO_MIN_BUDGET_S, AUTO_MAX_BUDGET_S * cells / 1e6)))
