"""Train one model: split, (tune or auto-select,) cross-validate, fit, evaluate, draw figures."""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import logging
import math
import time
import warnings
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline
from threadpoolctl import threadpool_limits

from ml import auto, tuning
from ml import evaluation as ev
from ml.algorithms import get_algorithm
from ml.callbacks import ProgressCallback
from ml.config import TrainConfig, validate_for_data
from ml.errors import ConfigError, DataError, MLError
from ml.fastpath import EnginePipeline, final_predict, final_predict_proba, transform_features
from ml.features import build_feature_steps
from ml.jsonsafe import finite_or_none, to_json_safe
from ml.preprocessing import build_preprocessor, column_kinds, native_category_indices

logger = logging.getLogger(__name__)
MIN_ROWS = 10


@dataclass
class TrainResult:
    """Everything a finished training run produced (see ml/README.md)."""

    pipeline: Pipeline
    task: str
    target: str
    algorithm: str
    params: dict[str, Any]
    input_schema: list[dict[str, Any]]
    classes: list[Any] | None
    metrics: dict[str, float]
    cv_metrics: dict[str, dict[str, float | None]]
    history: list[dict[str, Any]] = field(default_factory=list)
    leaderboard: list[dict[str, Any]] = field(default_factory=list)
    best_params: dict[str, Any] = field(default_factory=dict)
    feature_importance: list[dict[str, Any]] = field(default_factory=list)
    figures: dict[str, bytes] = field(default_factory=dict)
    primary_metric: str = ""
    score: float | None = None
    duration_s: float = 0.0
    log: list[str] = field(default_factory=list)
    # Seconds per phase ("preprocess_and_fit", "evaluate", "importance", "plots", ...).
    timings: dict[str, float] = field(default_factory=dict)
    # The trivial model on the same split (ml.evaluation.baseline): does this model beat it?
    baseline: dict[str, Any] = field(default_factory=dict)
    # auto's final ensemble: [{"member", "algorithm", "weight"}] (empty for a single model).
    ensemble: list[dict[str, Any]] = field(default_factory=list)
    # A search (auto or tuning) asked to stop early that kept the best model so far.
    stopped_early: bool = False

    # What to_dict() returns: everything but the pipeline, the figures and the log.
    RECORDED = ("task", "target", "algorithm", "params", "input_schema", "classes", "metrics",
                "cv_metrics", "history", "leaderboard", "best_params", "feature_importance",
                "primary_metric", "score", "duration_s", "timings", "baseline", "ensemble",
                "stopped_early")

    def to_dict(self) -> dict[str, Any]:
        """The run's results as JSON-safe values (NaN and infinities become None)."""
        return to_json_safe({name: getattr(self, name) for name in self.RECORDED})


def _fmt_score(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.4f}"


# ---------------------------------------------------------------- callbacks


class _Recorder(ProgressCallback):
    """Wrap the caller's callback: monotonic progress, recorded history and log lines."""

    def __init__(self, user: ProgressCallback | None) -> None:
        self.user = user or ProgressCallback()
        self.fraction = 0.0
        self.history: list[dict[str, Any]] = []
        self.lines: list[str] = []
        self.epoch_span: tuple[float, float, int] | None = None

    def on_progress(self, fraction: float, message: str) -> None:
        self.fraction = max(self.fraction, min(1.0, float(fraction)))
        self.user.on_progress(self.fraction, message)

    def on_epoch(self, epoch: int, logs: dict[str, Any]) -> None:
        clean = {k: float(v) for k, v in (logs or {}).items() if finite_or_none(v) is not None}
        self.history.append({"epoch": int(epoch), **clean})
        self.user.on_epoch(epoch, logs)
        if self.epoch_span is not None:
            start, end, epochs = self.epoch_span
            done = min(1.0, len(self.history) / max(epochs, 1))
            numbers = ", ".join(f"{k} {v:.4g}" for k, v in clean.items())
            self.on_progress(start + (end - start) * done,
                             f"Epoch {len(self.history)}/{epochs}" + (
                                 f" — {numbers}" if numbers else ""))

    def on_log(self, message: str) -> None:
        self.lines.append(message)
        logger.info(message)
        self.user.on_log(message)

    def on_trial(self, trial: dict[str, Any]) -> None:
        self.user.on_trial(trial)

    def should_stop(self) -> bool:
        return self.user.should_stop()

    def should_wrap_up(self) -> bool:
        return self.user.should_wrap_up()

    def check_cancelled(self) -> None:
        self.user.check_cancelled()


class _CancelOnly(ProgressCallback):
    """Forward only cancellation: CV folds and trials must not add to the epoch history."""

    def __init__(self, inner: ProgressCallback) -> None:
        self.inner = inner

    def should_stop(self) -> bool:
        return self.inner.should_stop()

    def should_wrap_up(self) -> bool:
        return self.inner.should_wrap_up()

    def check_cancelled(self) -> None:
        self.inner.check_cancelled()

    def on_trial(self, trial: dict[str, Any]) -> None:
        self.inner.on_trial(trial)


# ---------------------------------------------------------------- errors


_ERROR_HINTS = (
    (("only one class", "at least 2 classes", "least two classes", "got 1 class"),
     "The target has only one class in the training data; classification needs at least two."),
    (("contains nan", "input x contains nan", "missing values"),
     "The data still has missing values after preprocessing. Choose a numeric imputer other "
     "than 'none', or an algorithm that accepts missing values (hist_gradient_boosting)."),
    (("could not convert string to float",),
     "A column holds text where numbers were expected"),
    (("n_neighbors", "n_samples"),
     "A param is too large for the number of training rows"),
    (("infinity", "too large for dtype"),
     "The data holds infinite or extremely large numbers"),
)


@contextlib.contextmanager
def _readable_errors() -> Iterator[None]:
    """Turn scikit-learn/pandas errors raised while fitting into DataError with a clear message."""
    try:
        yield
    except MLError:
        raise
    except MemoryError as exc:
        raise DataError("Not enough memory to train on this data; try fewer rows or "
                        "columns, or a lighter algorithm.") from exc
    except (ValueError, TypeError, IndexError, KeyError) as exc:
        text = str(exc)
        for needles, hint in _ERROR_HINTS:
            if any(n in text.lower() for n in needles):
                raise DataError(hint if hint.endswith(".") else f"{hint}: {text}") from exc
        raise DataError(f"Training failed: {text}") from exc


# ---------------------------------------------------------------- the data


def _prepare(df: pd.DataFrame, config: TrainConfig, rec: _Recorder) -> tuple[pd.DataFrame, Any]:
    """Select feature columns, drop rows without a target and give y a plain dtype."""
    features = config.features or [c for c in df.columns if c != config.target]
    missing = df[config.target].isna()
    if missing.any():
        rec.on_log(f"Dropped {int(missing.sum())} rows with no value in the target "
                   f"{config.target!r}.")
    data = df.loc[~missing]
    if config.validation.split == "time_series" and config.validation.time_column:
        order = _sortable(data[config.validation.time_column])
        data = data.iloc[np.argsort(order.to_numpy(), kind="stable")]
    if len(data) < MIN_ROWS:
        raise DataError(f"Training needs at least {MIN_ROWS} rows with a target value; "
                        f"there are {len(data)}.")
    X = data[features].reset_index(drop=True)
    return X, _target_array(data[config.target], config.task)


def _sortable(series: pd.Series) -> pd.Series:
    if pd.api.types.is_numeric_dtype(series) or pd.api.types.is_datetime64_any_dtype(series):
        return series
    return pd.to_datetime(series, errors="coerce", format="mixed", utc=True)


def _target_array(target: pd.Series, task: str) -> np.ndarray:
    if task == "regression":
        return pd.to_numeric(target, errors="coerce").to_numpy(dtype=float)
    if pd.api.types.is_bool_dtype(target):
        return target.to_numpy(dtype=bool)
    if pd.api.types.is_float_dtype(target):
        return target.to_numpy(dtype=float).astype(np.int64)  # integral floats (checked)
    if pd.api.types.is_integer_dtype(target):
        return target.to_numpy(dtype=np.int64)
    return target.astype(str).to_numpy(dtype=object)


def _split(X: pd.DataFrame, y: np.ndarray, config: TrainConfig, rec: _Recorder) -> tuple:
    """Hold out the test split: stratified where asked and possible, or the latest rows."""
    val = config.validation
    n_test = math.ceil(len(y) * val.test_size)
    if n_test < 1 or len(y) - n_test < 2:
        raise DataError(f"test_size {val.test_size} leaves no rows to train or test on.")
    if val.split == "time_series":
        cut = len(y) - n_test
        rec.on_log(f"Time-series split: the last {n_test} rows are the test split.")
        return X.iloc[:cut], X.iloc[cut:], y[:cut], y[cut:]
    stratify = None
    if config.task == "classification" and val.stratify:
        counts = pd.Series(y).value_counts()
        if counts.min() >= 2 and n_test >= len(counts) and len(y) - n_test >= len(counts):
            stratify = y
        else:
            rec.on_log("The split is not stratified: some classes have too few rows.")
    return train_test_split(X, y, test_size=n_test, random_state=val.random_state,
                            shuffle=True, stratify=stratify)


# ---------------------------------------------------------------- pipelines


def _serial(pipeline: Any) -> None:
    """Serve one row at a time without a thread pool: the job's threads were for fitting."""
    model = pipeline.steps[-1][1] if hasattr(pipeline, "steps") else pipeline
    if "n_jobs" in getattr(model, "get_params", dict)():
        model.set_params(n_jobs=None)


def _pipeline_factory(kinds: dict[str, str], config: TrainConfig) -> Any:
    """Return make(key, params, callback) -> unfitted Pipeline for these columns and config."""
    rs = config.validation.random_state

    def make(key: str, params: dict[str, Any], callback: ProgressCallback | None,
             preprocessing: dict[str, Any] | None = None) -> Pipeline:
        """`preprocessing`: overrides of the config's (auto's portfolio entries)."""
        spec = get_algorithm(key, config.task)
        prep = (dataclasses.replace(config.preprocessing, **preprocessing) if preprocessing
                else config.preprocessing)
        features = build_feature_steps(config.feature_engineering, task=config.task,
                                       random_state=rs)
        # The codes stay in the columns the model is told only when no step reshapes columns.
        native = spec.native_categories and not features
        model = spec.build(params, random_state=rs, callback=callback)
        codes = native_category_indices(kinds, prep) if native else None
        if codes is not None:
            model.set_params(categorical_features=codes)
        if config.n_threads > 1 and "n_jobs" in model.get_params():
            model.set_params(n_jobs=config.n_threads)  # forests fit their trees side by side
        if spec.scale_free and prep.scaler != "none":
            prep = dataclasses.replace(prep, scaler="none")
        steps: list[tuple[str, Any]] = [
            ("preprocess", build_preprocessor(kinds, prep, random_state=rs,
                                              native_categories=native)),
            *features,
            ("model", model),
        ]
        # EnginePipeline: a Pipeline whose predict/predict_proba skip per-call overhead.
        return EnginePipeline(steps)

    return make


# ---------------------------------------------------------------- the run


def train(df: pd.DataFrame, config: TrainConfig, *,
          callback: ProgressCallback | None = None, validated: bool = False) -> TrainResult:
    """Train, cross-validate and evaluate one model described by config on df.

    `validated`: the config was already checked against this data with `validate_for_data`
    (its task resolved), as the platform does before it queues a job: not checked again.
    """
    started = time.monotonic()
    rec = _Recorder(callback)
    with threadpool_limits(limits=config.n_threads), warnings.catch_warnings():
        # Library warnings (convergence, constant features...) are noise to end users.
        warnings.simplefilter("ignore")
        result = _Run(df, config, rec).execute(validated=validated)
    result.duration_s = round(time.monotonic() - started, 3)
    return result


class _Run:
    """One training run's state, step by step."""

    def __init__(self, df: pd.DataFrame, config: TrainConfig, rec: _Recorder) -> None:
        self.df, self.config, self.rec = df, config, rec
        self.leaderboard: list[dict[str, Any]] = []
        self.best_params: dict[str, Any] = {}
        self.cv_metrics: dict[str, dict[str, float | None]] = {}
        self.timings: dict[str, float] = {}
        self.ensemble: list[dict[str, Any]] = []
        self.stopped_early = False

    @contextlib.contextmanager
    def timed(self, phase: str) -> Iterator[None]:
        """Add the seconds the block takes to `timings[phase]`."""
        started = time.monotonic()
        try:
            yield
        finally:
            spent = time.monotonic() - started
            self.timings[phase] = round(self.timings.get(phase, 0.0) + spent, 3)

    def step(self, fraction: float, message: str) -> None:
        self.rec.check_cancelled()
        self.rec.on_progress(fraction, message)

    def execute(self, *, validated: bool = False) -> TrainResult:
        self.step(0.0, "Checking the data")
        if not validated:
            self.config = validate_for_data(self.config, self.df)
        config = self.config
        X, y = _prepare(self.df, config, self.rec)
        self.step(0.05, "Splitting the data")
        X_train, X_test, y_train, y_test = _split(X, y, config, self.rec)
        X_train, X_test = X_train.reset_index(drop=True), X_test.reset_index(drop=True)
        self.kinds = column_kinds(X_train)
        self.make = _pipeline_factory(self.kinds, config)
        cv, note = tuning.make_cv(
            y_train, config.validation.cv_folds, task=config.task,
            split=config.validation.split, stratify=config.validation.stratify,
            random_state=config.validation.random_state,
        )
        if note:
            self.rec.on_log(note)
        with _readable_errors(), self.timed("preprocess_and_fit"):
            pipeline, key, params = self.fit(X_train, y_train, cv)
        result = self.evaluate(pipeline, key, params, X, X_test, y_test)
        result.baseline = ev.baseline(config.task, y_train, y_test, result.classes,
                                      result.metrics)
        if result.baseline["beaten"] is False:
            self.rec.on_log(
                f"Warning: this model does not beat {result.baseline['description']} "
                f"({result.primary_metric} {_fmt_score(result.score)} against "
                f"{_fmt_score(result.baseline['score'])}).")
        _serial(result.pipeline)
        result.timings = self.timings
        self.rec.on_log("Time per phase: " + ", ".join(
            f"{name.replace('_', ' ')} {seconds:.2f} s" for name, seconds in self.timings.items()))
        return result

    # -- fitting

    def fit(self, X: pd.DataFrame, y: np.ndarray, cv: Any) -> tuple[Pipeline, str, dict]:
        config = self.config
        if config.algorithm == "auto":
            return self.fit_auto(X, y, cv)
        spec = get_algorithm(config.algorithm, config.task)
        params = spec.validate_params(config.params)
        if config.tuning is not None:
            params = self.tune(spec, params, X, y, cv)
        elif cv is not None and spec.family == "keras":
            self.rec.on_log("Cross-validation is skipped for neural networks (it would retrain "
                            "the network once per fold); the test split measures the model.")
        elif cv is not None:
            self.cross_validate(config.algorithm, params, X, y, cv)
        self.step(0.6, "Fitting the final model")
        if spec.family == "keras":
            self.rec.epoch_span = (0.6, 0.78, int(params.get("epochs", 1)))
            # Importing TensorFlow takes seconds the first time in a worker: say so.
            self.rec.on_log("Starting Keras (the first neural network in a worker takes a few "
                            "seconds to load).")
        pipeline = self.make(config.algorithm, params, self.rec)
        pipeline.fit(X, y)
        self.rec.epoch_span = None
        return pipeline, config.algorithm, params

    def cross_validate(self, key: str, params: dict, X: pd.DataFrame, y: np.ndarray,
                       cv: Any) -> None:
        self.step(0.1, "Cross-validating")
        n_classes = len(np.unique(y)) if self.config.task == "classification" else None
        scorers = {m: tuning.Scorer(m, n_classes=n_classes)
                   for m in tuning.CV_METRICS[self.config.task]}
        quiet = _CancelOnly(self.rec)
        scores = tuning.cross_validate(
            lambda: self.make(key, params, quiet), X, y, cv, scorers, callback=quiet,
            on_fold=lambda i, n: self.step(0.1 + 0.5 * i / n, f"Cross-validation fold {i} of {n}"),
        )
        self.cv_metrics = {m: tuning.summarize(v) for m, v in scores.items()}

    def tune(self, spec: Any, params: dict, X: pd.DataFrame, y: np.ndarray, cv: Any) -> dict:
        tcfg = self.config.tuning
        assert tcfg is not None  # tune() runs only for a config with tuning
        metric = tcfg.metric or ev.PRIMARY_METRIC[self.config.task]
        space = tcfg.space or spec.default_space
        if not space:
            raise ConfigError(f"{spec.key} has no default search space; give tuning.space.",
                              field="tuning")
        self.step(0.1, f"Tuning ({tcfg.method}, up to {tcfg.n_trials} trials)")
        quiet = _CancelOnly(self.rec)
        result = tuning.search(
            lambda p: self.make(spec.key, spec.validate_params({**params, **p}), quiet),
            X, y, space=space, method=tcfg.method, n_trials=tcfg.n_trials, metric=metric,
            cv=cv, task=self.config.task, time_budget_s=self.config.time_budget_s,
            callback=quiet, random_state=self.config.validation.random_state,
            progress=lambda f, m: self.step(0.1 + 0.5 * f, m),
        )
        self.leaderboard, self.best_params = result.trials, result.best_params
        self.stopped_early = result.stopped_early
        if result.stopped_early:
            self.rec.on_log(f"Tuning was stopped on request after {len(result.trials)} trials "
                            "and kept the best so far.")
        best = result.trials[0]
        self.cv_metrics = {metric: {"mean": best["mean_score"], "std": best["std_score"]}}
        self.rec.on_log(f"Tuning ran {len(result.trials)} trials; best {metric} "
                        f"{result.best_score:.4f} with {result.best_params}.")
        if (self.config.time_budget_s and tcfg.method != "grid"
                and len(result.trials) < tcfg.n_trials):
            self.rec.on_log(f"Tuning stopped after {len(result.trials)} of {tcfg.n_trials} "
                            f"trials: its time budget of {self.config.time_budget_s:.0f} s "
                            "ran out.")
        return spec.validate_params({**params, **result.best_params})

    def fit_auto(self, X: pd.DataFrame, y: np.ndarray, cv: Any) -> tuple[Pipeline, str, dict]:
        config = self.config
        spec = get_algorithm("auto", config.task)
        entries = auto.entries_for(config.task,
                                   spec.validate_params(config.params).get("candidates"))
        metric = ev.PRIMARY_METRIC[config.task]
        budget = config.time_budget_s or tuning.default_auto_budget(len(X), X.shape[1])
        splits = list(tuning.scoring_cv(cv, y, task=config.task,
                                        random_state=config.validation.random_state).split(X, y))
        self.step(0.1, f"Trying up to {len(entries)} models (budget {budget:.0f} s)")
        quiet = _CancelOnly(self.rec)

        def candidate(key: str, params: dict[str, Any],
                      preprocessing: dict[str, Any] | None = None) -> Pipeline:
            return self.make(key, params, quiet, preprocessing)

        with self.timed("search"):
            outcome = auto.search(
                candidate,
                X, y, entries=entries, splits=splits,
                metric=metric, task=config.task, budget_s=budget, callback=quiet,
                progress=lambda f, m: self.step(0.1 + 0.6 * f, m),
            )
        for line in outcome.log:
            self.rec.on_log(line)
        self.leaderboard = outcome.leaderboard
        self.best_params = {"algorithm": outcome.algorithm, **outcome.params}
        self.ensemble, self.stopped_early = outcome.ensemble, outcome.stopped_early
        best = next(r for r in outcome.leaderboard if r["mean_score"] is not None)
        self.cv_metrics = {metric: {"mean": best["mean_score"], "std": best["std_score"]}}
        tried = sum(1 for r in outcome.leaderboard if r["algorithm"] != "ensemble")
        self.rec.on_log(f"auto tried {tried} models in {outcome.search_s:.1f} s of its "
                        f"{budget:.0f} s budget and kept {outcome.algorithm} "
                        f"({metric} {best['mean_score']:.4f} out of fold).")
        if outcome.stopped_early:
            self.rec.on_log("auto was stopped on request and kept the best model so far.")
        elif outcome.cut_by_clock:
            self.rec.on_log(
                f"The time budget of {budget:.0f} s cut the search short"
                + (f" (not tried: {', '.join(dict.fromkeys(outcome.skipped))})"
                   if outcome.skipped else "")
                + "; a larger time_budget_s tries more. A search cut by the clock may differ "
                  "from run to run.")
        else:
            self.rec.on_log(f"auto tried every candidate within its time budget of "
                            f"{budget:.0f} s.")
        return outcome.pipeline, outcome.algorithm, outcome.params

    # -- evaluation

    def evaluate(self, pipeline: Pipeline, key: str, params: dict, X_all: pd.DataFrame,
                 X_test: pd.DataFrame, y_test: np.ndarray) -> TrainResult:
        config = self.config
        self.step(0.8, "Predicting the test split")
        with _readable_errors(), self.timed("evaluate"):
            # The test rows go through the preprocessing once, for both predictions.
            features = transform_features(pipeline, X_test)
            final = pipeline.steps[-1][1]
            y_pred = final_predict(final, features)
            self.step(0.82, "Computing metrics")
            proba = _probabilities(final, features) if config.task == "classification" else None
        classes = _plain(list(pipeline.classes_)) if config.task == "classification" else None
        with self.timed("evaluate"):
            if config.task == "classification":
                metrics = ev.classification_metrics(y_test, y_pred, proba, pipeline.classes_)
            else:
                metrics = ev.regression_metrics(y_test, y_pred)
        self.step(0.85, "Measuring feature importance and drawing figures")
        # Importance (mostly predictions, which release the GIL) runs alongside the figures.
        with ThreadPoolExecutor(max_workers=1) as pool:
            measuring = pool.submit(self.importance, pipeline, X_test, y_test)
            with self.timed("plots"):
                figures = self.figures(y_test, y_pred, proba, pipeline)
            importance, problem, seconds = measuring.result()
        self.timings["importance"] = round(seconds, 3)
        if problem:
            self.rec.on_log(f"Feature importance could not be measured: {problem}")
        if importance:
            with self.timed("plots"):
                figures.update(self.draw(
                    {"feature_importance": lambda: ev.plot_feature_importance(importance)}))
        primary = ev.PRIMARY_METRIC[config.task]
        self.step(1.0, "Done")
        return TrainResult(
            pipeline=pipeline, task=config.task, target=config.target, algorithm=key,
            params=params, input_schema=input_schema(X_all, self.kinds), classes=classes,
            metrics=metrics, cv_metrics=self.cv_metrics, history=self.rec.history,
            leaderboard=self.leaderboard, best_params=self.best_params,
            feature_importance=importance, figures=figures, primary_metric=primary,
            score=metrics.get(primary), log=self.rec.lines, ensemble=self.ensemble,
            stopped_early=self.stopped_early,
        )

    def importance(self, pipeline: Pipeline, X: pd.DataFrame,
                   y: np.ndarray) -> tuple[list[dict], str, float]:
        """Return (importance, the problem if it could not be measured, seconds taken).

        Runs in a thread: it reports nothing itself (the callback writes from the main thread).
        """
        started = time.monotonic()
        try:
            rows = ev.feature_importance(pipeline, X, y,
                                         random_state=self.config.validation.random_state)
            return rows, "", time.monotonic() - started
        except (ValueError, TypeError, IndexError) as exc:
            return [], str(exc), time.monotonic() - started

    def figures(self, y_true: np.ndarray, y_pred: np.ndarray, proba: Any,
                pipeline: Pipeline) -> dict[str, bytes]:
        """Draw the evaluation figures (the importance figure is drawn once it is measured)."""
        plots: dict[str, Any] = {}
        if self.config.task == "classification":
            classes = list(pipeline.classes_)
            # Counts and the share of each true class in one figure (drawn once, read once).
            plots["confusion_matrix"] = lambda: ev.plot_confusion_matrix(y_true, y_pred, classes)
            if proba is not None:
                plots["roc_curve"] = lambda: ev.plot_roc(y_true, proba, classes)
                plots["precision_recall_curve"] = lambda: ev.plot_precision_recall(
                    y_true, proba, classes)
        else:
            plots["residuals"] = lambda: ev.plot_residuals(y_true, y_pred)
            plots["predicted_vs_actual"] = lambda: ev.plot_predicted_vs_actual(y_true, y_pred)
        if self.rec.history:
            plots["learning_curve"] = lambda: ev.plot_learning_curve(self.rec.history)
        return self.draw(plots)

    def draw(self, plots: dict[str, Any]) -> dict[str, bytes]:
        figures = {}
        for name, plot in plots.items():
            try:
                figures[name] = plot()
            except (ValueError, TypeError, IndexError) as exc:
                # A figure that cannot be drawn must not fail an otherwise good model.
                self.rec.on_log(f"The {name.replace('_', ' ')} figure could not be drawn: {exc}")
        return figures


def _probabilities(final: Any, features: Any) -> np.ndarray | None:
    if not hasattr(final, "predict_proba"):
        return None
    try:
        return np.asarray(final_predict_proba(final, features), dtype=float)
    except (AttributeError, NotImplementedError):
        return None


def _plain(values: list[Any]) -> list[Any]:
    """numpy scalars -> Python values, so classes and examples are JSON-safe."""
    return [_json_value(v) for v in values]


def _json_value(value: Any) -> Any:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return None
    if isinstance(value, (pd.Timestamp, dt.datetime, dt.date)):
        return value.isoformat()
    if isinstance(value, np.generic):
        return _json_value(value.item())
    if value is pd.NaT or (not isinstance(value, (str, bytes, list)) and pd.isna(value)):
        return None
    return value


def input_schema(X: pd.DataFrame, kinds: dict[str, str]) -> list[dict[str, Any]]:
    """Describe each input column: name, kind, dtype and an example value."""
    schema = []
    for column in X.columns:
        present = X[column].dropna()
        example = _json_value(present.iloc[0]) if len(present) else None
        schema.append({"name": str(column), "kind": kinds.get(str(column), "categorical"),
                       "dtype": str(X[column].dtype), "example": example})
    return schema
