"""`auto`: a portfolio of proven configurations tried on shared folds within a time budget, then
a weighted ensemble of the best when it beats the best single model out of fold.

How a search runs (`search`):

1. The folds are made once and shared by every candidate, so their out-of-fold predictions can
   be compared and blended row by row.
2. Candidates come in portfolio order, cheapest and strongest first, so a tiny budget still
   gives a good model. Before starting one the search estimates its cost (its relative cost in
   the portfolio times the seconds per unit measured on the candidates so far) and skips it
   when it could not finish, with the refit of the current best, before the deadline. A
   candidate that runs over anyway is interrupted at the latest moment that still leaves time
   for the refit (ml.interrupt), so the clock, not the estimate, has the last word.
3. Greedy ensemble selection (ml.ensemble) blends the candidates' out-of-fold predictions. The
   ensemble is the final model when its out-of-fold score beats the best single model's;
   otherwise the best single model is. Its members are refitted on every training row.
4. A request to stop (keep the best so far) ends the search at once - inside a fit too - and
   goes to step 3 with what has finished.

The portfolio (`PORTFOLIO`) was ordered by measuring it with bench/auto.py on generated tables
and the ones scikit-learn ships, cheapest first among the strong: a linear model (a fraction of a
second, and a useful member of blends), then the boosting libraries with their defaults and
early stopping (each within about 0.01 of the best single model on most tables, for seconds),
then variations of their depth, learning rate and regularisation, then the slower but diverse
extra trees, CatBoost and random forest (they blend well with boosting), k-NN on small tables,
and the most expensive last.
"""

from __future__ import annotations

import logging
import math
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ml import interrupt
from ml.algorithms import CLS, REG, get_algorithm
from ml.callbacks import ProgressCallback
from ml.ensemble import EnsembleClassifier, EnsembleRegressor, blend, greedy_selection
from ml.errors import DataError, MLError, TrainingCancelled
from ml.evaluation import LOWER_IS_BETTER
from ml.fastpath import EnginePipeline

logger = logging.getLogger(__name__)

ENSEMBLE_ITERATIONS = 25
ENSEMBLE_MAX_MEMBERS = 5  # each member's preprocessing and model runs on every prediction
ENSEMBLE_POOL = 12  # the best this many single models are offered to the ensemble
REFIT_SAFETY = 1.3  # a refit on all rows costs about a fold's fit times n/(n - n/k)
ONE_HOT_KEEPS = 100  # ml.preprocessing.DEFAULT_MAX_CATEGORIES
ONE_HOT_MAX_CELLS = 20_000_000  # 160 MB of float64 per copy


@dataclass(frozen=True)
class Entry:
    """One configuration of the portfolio: algorithm, params, and its cost relative to
    LightGBM's defaults on the same data (measured; only the order of magnitude matters)."""

    key: str
    params: dict[str, Any]
    cost: float = 1.0
    max_rows: int | None = None  # skipped on bigger tables (k-NN)
    # Overrides of the experiment's preprocessing (e.g. target encoding of the categories).
    preprocessing: dict[str, Any] = field(default_factory=dict)
    # Tried only when a text column has more levels than one-hot encoding keeps apart.
    high_cardinality: bool = False
    max_cells: int | None = None  # skipped when rows x text levels is bigger (dense one-hot)

    def described(self) -> dict[str, Any]:
        """The params as the leaderboard shows them, with any preprocessing override."""
        extra = {"preprocessing": dict(self.preprocessing)} if self.preprocessing else {}
        return {**self.params, **extra}

    def build(self, make: Callable[..., Any]) -> Any:
        if self.preprocessing:
            return make(self.key, self.params, preprocessing=self.preprocessing)
        return make(self.key, self.params)


def _portfolio(task: str) -> list[Entry]:
    # Costs measured on a 40,000-row table (13 columns, one categorical), 5-fold CV, one thread,
    # relative to LightGBM's defaults (0.6 s, 6 s and 3 s a fold: linear, LightGBM, XGBoost).
    # Forests grow faster than linearly with the rows, so on small tables they cost less.
    linear = "linear" if task == CLS else "ridge"
    # Many levels: one-hot keeps the frequent 100 (the rest share a column) and native codes
    # 255, so a column of 800 streets loses most of its signal; cross-fitted target encoding
    # keeps every level as a number (bench/auto.py's prices table: r2 0.86 -> 0.94).
    # A linear model over one column per level (up to 1,000 levels seen twice or more) learns
    # each level's effect beside the other columns', where target encoding only sees its mean
    # (the prices table: r2 0.90 with target encoding, 0.94 one-hot); dense, so only where
    # rows x levels stays small.
    target = {"categorical_encoder": "target"}
    every_level = {"min_frequency": 2, "max_categories": 1000}
    return [
        Entry(linear, {}, 0.1 if task == CLS else 0.05),
        Entry("hist_gradient_boosting", {}, 0.5),
        Entry(linear, {}, 0.3, preprocessing=target, high_cardinality=True),
        Entry(linear, {}, 0.5, preprocessing=every_level, high_cardinality=True,
              max_cells=ONE_HOT_MAX_CELLS),
        Entry("lightgbm", {}, 1.0),
        Entry("lightgbm", {}, 1.2, preprocessing=target, high_cardinality=True),
        Entry("xgboost", {}, 1.0),
        Entry("lightgbm", {"learning_rate": 0.03, "num_leaves": 15, "min_child_samples": 10,
                           "colsample_bytree": 0.7, "reg_lambda": 1.0}, 2.5),
        Entry("xgboost", {"max_depth": 4, "learning_rate": 0.05, "subsample": 0.8,
                          "colsample_bytree": 0.8, "min_child_weight": 3.0}, 2.0),
        Entry("extra_trees", {"n_estimators": 200, "min_samples_leaf": 2}, 5.0),
        Entry("hist_gradient_boosting", {"learning_rate": 0.05, "max_iter": 300,
                                         "max_leaf_nodes": 63, "l2_regularization": 1.0}, 1.5),
        Entry("lightgbm", {"learning_rate": 0.05, "num_leaves": 127, "min_child_samples": 5,
                           "subsample": 0.8, "colsample_bytree": 0.6, "reg_lambda": 3.0}, 3.0),
        Entry("catboost", {}, 7.0),
        Entry("random_forest", {"n_estimators": 200, "min_samples_leaf": 1 if task == CLS else 2},
              11.0),
        Entry("knn", {"n_neighbors": 15, "weights": "distance"}, 0.5, max_rows=20_000),
        Entry("catboost", {"depth": 8, "learning_rate": 0.05, "l2_leaf_reg": 5.0}, 7.0),
        Entry("extra_trees", {"n_estimators": 300, "min_samples_leaf": 3,
                              "max_features": "all"}, 27.0),
    ]


PORTFOLIO: dict[str, list[Entry]] = {CLS: _portfolio(CLS), REG: _portfolio(REG)}


def entries_for(task: str, keys: list[str] | None) -> list[Entry]:
    """The portfolio, or each named algorithm with its defaults (the user's own list)."""
    if not keys:
        return list(PORTFOLIO[task])
    return [Entry(key, {}, 1.0) for key in dict.fromkeys(keys)]


@dataclass
class AutoOutcome:
    """What a search produced: the leaderboard, the final fitted pipeline and how it ended."""

    metric: str
    leaderboard: list[dict[str, Any]]
    pipeline: Any
    algorithm: str  # the winner's key, or "ensemble"
    params: dict[str, Any]
    ensemble: list[dict[str, Any]] = field(default_factory=list)  # members and weights
    skipped: list[str] = field(default_factory=list)
    stopped_early: bool = False  # asked to stop and keep the best so far
    cut_by_clock: bool = False  # a candidate was interrupted or skipped for lack of time
    search_s: float = 0.0
    log: list[str] = field(default_factory=list)


@dataclass
class _Candidate:
    number: int
    entry: Entry
    oof: np.ndarray | None = None
    fold_scores: list[float] = field(default_factory=list)
    fit_s: list[float] = field(default_factory=list)
    seconds: float = 0.0
    error: str = ""

    @property
    def predictions(self) -> np.ndarray:
        """Its out-of-fold predictions (a candidate that finished its folds has them)."""
        assert self.oof is not None
        return self.oof

    @property
    def name(self) -> str:
        return f"{self.number}_{self.entry.key}"

    @property
    def ok(self) -> bool:
        return self.oof is not None and not self.error

    def mean(self) -> float | None:
        finite = [s for s in self.fold_scores if math.isfinite(s)]
        return float(np.mean(finite)) if finite and self.ok else None

    def std(self) -> float | None:
        finite = [s for s in self.fold_scores if math.isfinite(s)]
        return float(np.std(finite)) if finite and self.ok else None

    def refit_s(self, n_folds: int) -> float:
        if not self.fit_s:
            return 0.0
        growth = n_folds / (n_folds - 1) if n_folds > 1 else 1.0
        return max(self.fit_s) * growth * REFIT_SAFETY


# ---------------------------------------------------------------- scoring


LABEL_METRICS = ("accuracy", "balanced_accuracy", "f1_macro", "f1_weighted",
                 "precision_macro", "recall_macro")


def label_metric(metric: str, true: np.ndarray, predicted: np.ndarray, n_classes: int) -> float:
    """A label metric from integer class codes, as scikit-learn computes it, from one confusion
    matrix (ensemble selection scores thousands of blends: scikit-learn's checks and its sort
    of the labels cost ~50 ms a call on 30,000 rows, this ~0.3 ms).

    Macro averages run over the classes present in `true` or `predicted`, as scikit-learn's
    do; a precision or recall with nothing to divide is 0."""
    cm = np.bincount(true * n_classes + predicted,
                     minlength=n_classes * n_classes).reshape(n_classes, n_classes)
    tp = np.diag(cm).astype(np.float64)
    support, guessed = cm.sum(axis=1), cm.sum(axis=0)
    if metric == "accuracy":
        return float(tp.sum() / max(len(true), 1))
    if metric == "balanced_accuracy":
        seen = support > 0
        return float(np.mean(tp[seen] / support[seen]))
    present = (support + guessed) > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        precision = np.where(guessed > 0, tp / guessed, 0.0)
        recall = np.where(support > 0, tp / support, 0.0)
        f1 = np.where(support + guessed > 0, 2 * tp / (support + guessed), 0.0)
    if metric == "f1_weighted":
        return float((f1 * support).sum() / max(support.sum(), 1))
    values = {"f1_macro": f1, "precision_macro": precision, "recall_macro": recall}[metric]
    return float(np.mean(values[present]))


class _Metric:
    """Score predictions (probabilities for classes, values for numbers) with a metric name,
    oriented so that higher is better."""

    def __init__(self, metric: str, task: str, classes: np.ndarray) -> None:
        from sklearn import metrics as m

        self.metric, self.task, self.classes = metric, task, classes
        self.sign = -1.0 if metric in LOWER_IS_BETTER else 1.0
        value_metrics: dict[str, Callable[..., float]] = {
            "r2": m.r2_score, "mae": m.mean_absolute_error,
            "mse": m.mean_squared_error, "rmse": m.root_mean_squared_error,
            "mape": m.mean_absolute_percentage_error,
        }
        self._values = value_metrics.get(metric)
        if (metric not in LABEL_METRICS if task == CLS else self._values is None):
            raise DataError(f"auto cannot rank {task} models by {metric}.")

    def codes(self, y: np.ndarray) -> np.ndarray:
        """Class labels as integer codes (the columns of the probabilities)."""
        return np.searchsorted(self.classes, y) if self.task == CLS else y

    def natural(self, codes: np.ndarray, predicted: np.ndarray) -> float:
        """The metric in its own units; `codes` are the true values (as codes for classes)."""
        if self.task == CLS:
            return label_metric(self.metric, codes, np.argmax(predicted, axis=1),
                                len(self.classes))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            assert self._values is not None  # checked in __init__
            try:
                return float(self._values(codes, predicted))
            except ValueError:
                return math.nan

    def oriented(self, codes: np.ndarray, predicted: np.ndarray) -> float:
        value = self.natural(codes, predicted)
        return self.sign * value if math.isfinite(value) else -math.inf


# ---------------------------------------------------------------- the search


class _Search:
    def __init__(self, make: Callable[[str, dict[str, Any]], Any], X: pd.DataFrame,
                 y: np.ndarray, *, splits: list[tuple[np.ndarray, np.ndarray]], metric: str,
                 task: str, budget_s: float, callback: ProgressCallback,
                 progress: Callable[[float, str], None] | None) -> None:
        self.make, self.X, self.y, self.splits = make, X, y, splits
        self.task, self.budget_s, self.callback = task, budget_s, callback
        self.progress = progress or (lambda _f, _m: None)
        self.classes = np.unique(y) if task == CLS else np.empty(0)  # none for numbers
        self.scorer = _Metric(metric, task, self.classes)
        self.codes = self.scorer.codes(y)  # what predictions are scored against
        self.started = time.monotonic()
        self.deadline = self.started + budget_s
        # Rows that some fold predicts (all of them for k-fold; the later ones for a time
        # series or a single holdout): out-of-fold scores are computed on these.
        covered = np.zeros(len(y), dtype=bool)
        for _train, test in splits:
            covered[test] = True
        self.covered = covered
        levels = _levels_by_column(X)
        self.many_levels = any(n > ONE_HOT_KEEPS for n in levels.values())
        self.levels = sum(min(n, 1000) for n in levels.values())  # one-hot columns, at most
        self.candidates: list[_Candidate] = []
        self.units: list[float] = []  # measured seconds per unit of relative cost
        self.lines: list[str] = []
        self.skipped: list[str] = []
        self.stopped_early = False
        self.cut_by_clock = False
        self.final_members: list[_Candidate] = []
        # The last ensemble chosen: the pool offered and how often each of it was picked.
        self._pool: list[_Candidate] = []
        self._counts: dict[int, int] = {}

    # -- time

    def remaining(self) -> float:
        return self.deadline - time.monotonic()

    def estimate(self, entry: Entry) -> float:
        same = [c.seconds / c.entry.cost for c in self.candidates
                if c.ok and c.entry.key == entry.key]
        unit = float(np.median(same)) if same else (
            float(np.median(self.units)) if self.units else 0.0)
        return unit * entry.cost

    def reserve(self) -> float:
        """Seconds to keep for refitting the current final choice."""
        return self.refit_cost(self.final_members)

    # -- candidates

    def run(self, entries: list[Entry]) -> None:
        for number, entry in enumerate(entries, start=1):
            if self.should_stop():
                self.stopped_early = True
                break
            if entry.max_rows is not None and len(self.y) > entry.max_rows:
                continue
            if entry.high_cardinality and not self.many_levels:
                continue
            if entry.max_cells is not None and len(self.y) * self.levels > entry.max_cells:
                continue
            have = any(c.ok for c in self.candidates)
            if have:
                needed = self.estimate(entry) * (1 + 1 / max(len(self.splits), 1)) + \
                    self.reserve()
                if needed > self.remaining():
                    self.skipped.append(entry.key)
                    self.cut_by_clock = True
                    continue
            candidate = _Candidate(number, entry)
            self.progress(min(0.95, (time.monotonic() - self.started) / self.budget_s),
                          f"Trying {entry.key} ({number} of {len(entries)})")
            # The latest moment it may run to: the refits of the current choice and of this
            # candidate (should it join) must still fit in the budget.
            own_refit = self.estimate(entry) / max(len(self.splits), 1) * REFIT_SAFETY
            self.cross_validate(candidate, interrupt_at=(
                self.deadline - self.reserve() - own_refit if have else None))
            self.candidates.append(candidate)
            if candidate.ok:
                self.units.append(candidate.seconds / entry.cost)
                self.choose()
            self.report(candidate)
            if candidate.error == "stopped":
                self.stopped_early = True
                break

    def should_stop(self) -> bool:
        self.callback.check_cancelled()
        return (any(c.ok for c in self.candidates)
                and (interrupt.stop_requested() or self.callback.should_wrap_up()))

    def cross_validate(self, candidate: _Candidate, *, interrupt_at: float | None) -> None:
        entry = candidate.entry
        started = time.monotonic()
        width = len(self.classes) if self.task == CLS else None
        oof = np.zeros((len(self.y), width) if width else len(self.y), dtype=np.float64)
        have = any(c.ok for c in self.candidates)
        done: list[np.ndarray] = []
        try:
            for train, test in self.splits:
                if not have and done and self.first_would_overrun(candidate, len(done)):
                    self.keep_folds(done)  # the first model is kept on the folds it finished
                    break
                if have and (interrupt.stop_requested() or self.callback.should_wrap_up()):
                    raise interrupt.Interrupted("stop")
                self.callback.check_cancelled()
                fold_started = time.monotonic()
                with interrupt.interruptible(interrupt_at if have else None):
                    pipeline = entry.build(self.make)
                    pipeline.fit(self.X.iloc[train], self.y[train])
                    candidate.fit_s.append(time.monotonic() - fold_started)
                    predicted = self.predict(pipeline, self.X.iloc[test])
                oof[test] = predicted
                candidate.fold_scores.append(self.scorer.natural(self.codes[test], predicted))
                done.append(test)
            candidate.oof = oof
        except (interrupt.Interrupted, KeyboardInterrupt) as exc:
            reason = interrupt.reason_of(exc)
            if reason is None:
                raise  # a real Ctrl-C
            candidate.error = "stopped" if reason == "stop" else "time budget"
            if reason == "clock":
                self.cut_by_clock = True
        except TrainingCancelled:
            raise
        except (MLError, ValueError, TypeError, IndexError, KeyError, MemoryError,
                ArithmeticError) as exc:
            candidate.error = str(exc) or type(exc).__name__
        candidate.seconds = time.monotonic() - started

    def first_would_overrun(self, candidate: _Candidate, folds_done: int) -> bool:
        """Would the first candidate's remaining folds and its refit end past the budget and
        its margin? (It cannot be interrupted: a search must keep a model.)"""
        per_fold = (time.monotonic() - self.started) / folds_done
        rest = per_fold * (len(self.splits) - folds_done) + candidate.refit_s(len(self.splits))
        return time.monotonic() + rest > self.deadline + slack(self.budget_s)

    def keep_folds(self, done: list[np.ndarray]) -> None:
        """Score every candidate on the rows of the folds the first one finished."""
        covered = np.zeros(len(self.y), dtype=bool)
        covered[np.concatenate(done)] = True
        self.covered = covered
        self.cut_by_clock = True
        self.note(f"Only {len(done)} of {len(self.splits)} cross-validation folds of the first "
                  "model fit in the time budget: its score comes from those.")

    def predict(self, pipeline: Any, X: pd.DataFrame) -> np.ndarray:
        if self.task != CLS:
            return np.asarray(pipeline.predict(X), dtype=np.float64)
        own = np.asarray(pipeline.classes_)
        if hasattr(pipeline, "predict_proba"):
            proba = np.asarray(pipeline.predict_proba(X), dtype=np.float64)
        else:  # a model without probabilities votes with all its weight
            proba = (np.asarray(pipeline.predict(X))[:, None] == own[None, :]).astype(float)
        if len(own) == len(self.classes) and (own == self.classes).all():
            return proba
        full = np.zeros((len(X), len(self.classes)), dtype=np.float64)
        full[:, np.searchsorted(self.classes, own)] = proba  # a class missing from a fold
        return full

    def report(self, candidate: _Candidate) -> None:
        record: dict[str, Any] = {
            "params": {"algorithm": candidate.entry.key, "params": candidate.entry.described()},
            "mean_score": candidate.mean(), "std_score": candidate.std(),
            "fit_time_s": round(candidate.seconds, 3), "metric": self.scorer.metric,
        }
        if candidate.error:
            record["error"] = _error_text(candidate.error)
        self.callback.on_trial(record)

    # -- the ensemble

    def oof_score(self, predicted: np.ndarray) -> float:
        return self.scorer.oriented(self.codes[self.covered], predicted[self.covered])

    def pool(self) -> list[_Candidate]:
        ok = [c for c in self.candidates if c.ok and not _keras(c.entry.key, self.task)]
        ok.sort(key=lambda c: -self.oof_score(c.predictions))
        return ok[:ENSEMBLE_POOL]

    def choose(self) -> dict[int, int]:
        """Pick the final members from the finished candidates; return their counts."""
        pool = self.pool()
        if not pool:
            ok = [c for c in self.candidates if c.ok]
            self.final_members = ok[:1]
            return {0: 1} if ok else {}
        counts, _score = greedy_selection([c.predictions for c in pool], self.oof_score,
                                          iterations=ENSEMBLE_ITERATIONS,
                                          max_members=ENSEMBLE_MAX_MEMBERS)
        self.final_members = [pool[i] for i in counts]
        self._pool, self._counts = pool, counts
        return counts

    def finish(self) -> AutoOutcome:
        ok = [c for c in self.candidates if c.ok]
        if not ok:
            errors = sorted({_error_text(c.error) for c in self.candidates if c.error})
            raise DataError("Every algorithm auto tried failed: " + "; ".join(errors[:3]))
        self.choose()
        ranked = sorted(ok, key=lambda c: -self.oof_score(c.predictions))
        best = ranked[0]
        best_score = self.oof_score(best.predictions)
        pool, counts = self._pool, self._counts
        ensemble_oof = blend([c.predictions for c in pool], counts) if counts else None
        use_ensemble = (len(counts) > 1 and ensemble_oof is not None
                        and self.oof_score(ensemble_oof) > best_score + 1e-12)
        if use_ensemble and self.refit_cost([pool[i] for i in counts]) > max(
                self.remaining() + slack(self.budget_s), best.refit_s(len(self.splits))):
            use_ensemble = False
            self.cut_by_clock = True
            self.note("The ensemble's refit would not fit in the time budget; keeping the best "
                      "single model.")
        if use_ensemble and ensemble_oof is not None:
            total = sum(counts.values())
            weights = {pool[i].name: n / total for i, n in counts.items()}
            members = [pool[i] for i in counts]
            self.note(f"The ensemble of {len(members)} models ("
                      + ", ".join(f"{c.entry.key} {weights[c.name]:.2f}" for c in members)
                      + f") beats the best single model out of fold: "
                      f"{self._natural(ensemble_oof):.4f} against "
                      f"{self._natural(best.predictions):.4f}.")
        else:
            weights, members = {best.name: 1.0}, [best]
            if len(counts) > 1:
                self.note("No ensemble beat the best single model out of fold; keeping "
                          f"{best.entry.key}.")
        leaderboard = self.leaderboard(weights, ensemble_oof if use_ensemble else None)
        self.progress(0.97, "Refitting the final model on all the training rows")
        pipeline = self.refit(members, weights)
        outcome = AutoOutcome(
            metric=self.scorer.metric, leaderboard=leaderboard, pipeline=pipeline,
            algorithm="ensemble" if use_ensemble else best.entry.key,
            params=({"members": [{"algorithm": c.entry.key, "params": c.entry.described(),
                                  "weight": round(weights[c.name], 4)} for c in members]}
                    if use_ensemble else best.entry.described()),
            ensemble=([{"member": c.name, "algorithm": c.entry.key,
                        "label": get_algorithm(c.entry.key, self.task).label,
                        "weight": round(weights[c.name], 4)} for c in members]
                      if use_ensemble else []),
            skipped=self.skipped, stopped_early=self.stopped_early,
            cut_by_clock=self.cut_by_clock, log=self.lines,
        )
        outcome.search_s = round(time.monotonic() - self.started, 3)
        return outcome

    def refit_cost(self, members: list[_Candidate]) -> float:
        return sum(c.refit_s(len(self.splits)) for c in members)

    def _natural(self, predicted: np.ndarray) -> float:
        return self.scorer.natural(self.codes[self.covered], predicted[self.covered])

    def refit(self, members: list[_Candidate], weights: dict[str, float]) -> Any:
        fitted = []
        for candidate in members:
            self.callback.check_cancelled()
            pipeline = candidate.entry.build(self.make)
            fitted.append((candidate.name, pipeline.fit(self.X, self.y)))
        if len(fitted) == 1:
            return fitted[0][1]
        w = [weights[name] for name, _p in fitted]
        final = (EnsembleClassifier.from_fitted(fitted, w, self.classes) if self.task == CLS
                 else EnsembleRegressor.from_fitted(fitted, w))
        return EnginePipeline([("model", final)])

    def leaderboard(self, weights: dict[str, float],
                    ensemble_oof: np.ndarray | None) -> list[dict[str, Any]]:
        rows = []
        for c in self.candidates:
            row: dict[str, Any] = {
                "algorithm": c.entry.key, "mean_score": c.mean(), "std_score": c.std(),
                "fit_time_s": round(c.seconds, 3), "params": c.entry.described(),
                "in_ensemble": c.name in weights and ensemble_oof is not None,
                "weight": round(weights[c.name], 4) if c.name in weights else None,
            }
            if c.error:
                row["error"] = _error_text(c.error)
            rows.append(row)
        if ensemble_oof is not None:
            folds = [self.scorer.natural(self.codes[test], ensemble_oof[test])
                     for _train, test in self.splits if self.covered[test].all()]
            finite = [s for s in folds if math.isfinite(s)]
            rows.append({"algorithm": "ensemble",
                         "mean_score": float(np.mean(finite)) if finite else None,
                         "std_score": float(np.std(finite)) if finite else None,
                         "fit_time_s": round(sum(c.seconds for c in self.candidates
                                                 if c.name in weights), 3),
                         "params": {"members": {k: round(v, 4) for k, v in weights.items()}},
                         "in_ensemble": False, "weight": None})
        sign = -1.0 if self.scorer.metric in LOWER_IS_BETTER else 1.0
        rows.sort(key=lambda r: (r["mean_score"] is None, -sign * (r["mean_score"] or 0.0)))
        return [{"rank": i + 1, **r} for i, r in enumerate(rows)]

    def note(self, line: str) -> None:
        self.lines.append(line)




def _levels_by_column(X: pd.DataFrame) -> dict[str, int]:
    """Distinct values of each text column."""
    return {str(c): int(X[c].nunique(dropna=True)) for c in X.columns
            if X[c].dtype == object
            or isinstance(X[c].dtype, pd.StringDtype | pd.CategoricalDtype)}



def slack(budget_s: float) -> float:
    """How far a search may run past its budget: 10 % or 5 s, whichever is larger."""
    return max(0.1 * budget_s, 5.0)


def _keras(key: str, task: str) -> bool:
    return get_algorithm(key, task).family == "keras"


def _error_text(error: str) -> str:
    if error == "time budget":
        return "Stopped: it would not have finished within the time budget."
    if error == "stopped":
        return "Stopped on request before it finished."
    return error[:300]


def search(make: Callable[[str, dict[str, Any]], Any], X: pd.DataFrame, y: np.ndarray, *,
           entries: list[Entry], splits: list[tuple[np.ndarray, np.ndarray]], metric: str,
           task: str, budget_s: float, callback: ProgressCallback | None = None,
           progress: Callable[[float, str], None] | None = None) -> AutoOutcome:
    """Try `entries` on shared `splits` within `budget_s`; return the final model (see above).

    `make(key, params)` returns a fresh unfitted pipeline.
    """
    if task not in (CLS, REG):
        raise DataError(f"auto cannot search a {task} task.")
    state = _Search(make, X, y, splits=splits, metric=metric, task=task, budget_s=budget_s,
                    callback=callback or ProgressCallback(), progress=progress)
    state.run(entries)
    return state.finish()
