"""auto's engine: greedy ensemble selection, the ensemble as a saved and served model, the time
budget kept, and a stop request that keeps the best so far (even inside a fit)."""

from __future__ import annotations

import io
import json
import os
import signal
import threading
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.model_selection import KFold

from ml import auto, interrupt
from ml.bundle import load_bundle, save_bundle
from ml.callbacks import ProgressCallback
from ml.config import TrainConfig
from ml.ensemble import EnsembleClassifier, blend, greedy_selection, is_ensemble
from ml.fastpath import EnginePipeline
from ml.predict import predict, rows_to_frame
from ml.train import train

KEY = b"k" * 32


def _halves(n: int = 600, *, task: str = "regression", seed: int = 0) -> tuple[pd.DataFrame,
                                                                                np.ndarray]:
    """y depends on x1 and x2 equally: a model that sees one of them is half right."""
    rng = np.random.default_rng(seed)
    X = pd.DataFrame({"x1": rng.normal(size=n), "x2": rng.normal(size=n)})
    y = X.x1.to_numpy() + X.x2.to_numpy()
    if task == "classification":
        return X, np.where(y + rng.normal(scale=0.3, size=n) > 0, "up", "down").astype(object)
    return X, y


def _one_column_maker(task: str) -> Any:
    """make(key, params): a pipeline that sees only params["column"] (a linear model)."""
    def make(_key: str, params: dict[str, Any]) -> Any:
        pick = ColumnTransformer([("pick", "passthrough", [params["column"]])])
        model = LogisticRegression() if task == "classification" else LinearRegression()
        return EnginePipeline([("preprocess", pick), ("model", model)])

    return make


def _splits(n: int) -> list[tuple[np.ndarray, np.ndarray]]:
    return list(KFold(5, shuffle=True, random_state=0).split(np.arange(n)))


def _pair(task: str) -> list[auto.Entry]:
    key = "linear"  # a valid key of both tasks; the maker above decides what it builds
    return [auto.Entry(key, {"column": "x1"}), auto.Entry(key, {"column": "x2"})]


# ---------------------------------------------------------------- greedy selection


def test_greedy_selection_blends_models_whose_errors_differ_and_never_loses_to_the_best() -> None:
    rng = np.random.default_rng(1)
    truth = rng.normal(size=2000)
    preds = [truth + rng.normal(scale=s, size=truth.size) for s in (0.5, 0.6, 2.0)]

    def score(p: np.ndarray) -> float:
        return -float(np.mean((p - truth) ** 2))

    counts, best = greedy_selection(preds, score, iterations=25, max_members=5)
    singles = [score(p) for p in preds]
    assert best == pytest.approx(score(blend(preds, counts)))
    assert best > max(singles)  # independent errors: the blend must beat every member
    assert {0, 1} <= set(counts)  # the two good models both enter
    assert counts.get(2, 0) <= min(counts[0], counts[1])  # the noisy one weighs least


def test_greedy_selection_keeps_the_best_single_model_when_nothing_helps() -> None:
    truth = np.linspace(0, 1, 100)
    preds = [truth.copy(), truth + 1.0]  # the first is perfect: nothing can improve on it
    counts, best = greedy_selection(preds, lambda p: -float(np.abs(p - truth).sum()))
    assert counts == {0: 1} and best == 0.0


def test_greedy_selection_caps_the_number_of_distinct_members() -> None:
    rng = np.random.default_rng(2)
    truth = rng.normal(size=500)
    preds = [truth + rng.normal(size=500) for _ in range(8)]
    counts, _best = greedy_selection(preds, lambda p: -float(np.mean((p - truth) ** 2)),
                                     iterations=40, max_members=3)
    assert len(counts) == 3


# ---------------------------------------------------------------- the search


@pytest.mark.parametrize("task", ["regression", "classification"])
def test_the_ensemble_wins_out_of_fold_where_it_must_and_says_so(task: str) -> None:
    X, y = _halves(task=task)
    outcome = auto.search(_one_column_maker(task), X, y, entries=_pair(task),
                          splits=_splits(len(y)), metric="r2" if task == "regression"
                          else "f1_macro", task=task, budget_s=60)
    assert outcome.algorithm == "ensemble"
    board = {row["params"].get("column", "ensemble"): row for row in outcome.leaderboard}
    assert board["ensemble"]["rank"] == 1
    assert board["ensemble"]["mean_score"] >= max(board["x1"]["mean_score"],
                                                  board["x2"]["mean_score"])
    assert board["x1"]["in_ensemble"] and board["x2"]["in_ensemble"]
    assert sum(m["weight"] for m in outcome.ensemble) == pytest.approx(1.0, abs=1e-3)
    assert is_ensemble(outcome.pipeline)
    assert any("beats the best single model out of fold" in line for line in outcome.log)
    # the refitted ensemble predicts every row, as any pipeline does
    assert len(outcome.pipeline.predict(X.head(7))) == 7


def test_a_single_model_is_kept_when_no_blend_beats_it() -> None:
    X, y = _halves()
    X["x3"] = y  # a column that is the answer: its linear model is perfect
    entries = [auto.Entry("linear", {"column": "x3"}), auto.Entry("linear", {"column": "x1"})]
    outcome = auto.search(_one_column_maker("regression"), X, y, entries=entries,
                          splits=_splits(len(y)), metric="r2", task="regression", budget_s=60)
    assert outcome.algorithm == "linear" and outcome.params == {"column": "x3"}
    assert not is_ensemble(outcome.pipeline) and outcome.ensemble == []
    assert all(row["algorithm"] != "ensemble" for row in outcome.leaderboard)


def test_a_saved_and_loaded_ensemble_predicts_exactly_as_before(tmp_path: Any) -> None:
    X, y = _halves(task="classification")
    outcome = auto.search(_one_column_maker("classification"), X, y,
                          entries=_pair("classification"), splits=_splits(len(y)),
                          metric="f1_macro", task="classification", budget_s=60)
    pipeline = outcome.pipeline
    assert isinstance(pipeline.steps[-1][1], EnsembleClassifier)
    buffer = io.BytesIO()
    schema = [{"name": "x1", "kind": "numeric", "dtype": "float64"},
              {"name": "x2", "kind": "numeric", "dtype": "float64"}]
    save_bundle(pipeline, {"task": "classification", "input_schema": schema,
                           "classes": ["down", "up"]}, buffer, key=KEY)
    buffer.seek(0)
    loaded = load_bundle(buffer, key=KEY)
    rows = X.head(40)
    assert np.array_equal(pipeline.predict_proba(rows), loaded.pipeline.predict_proba(rows))
    assert np.array_equal(pipeline.predict(rows), loaded.pipeline.predict(rows))
    # the serving path (one row at a time, probabilities computed once) gives the same answer
    served = predict(loaded, rows_to_frame(rows.head(1).to_dict("records"), schema))
    assert served["predictions"] == list(pipeline.predict(rows.head(1)))
    assert served["probabilities"] == pipeline.predict_proba(rows.head(1)).tolist()
    assert loaded.pipeline.steps[-1][1].describe() == [
        {"member": m["member"], "weight": m["weight"]} for m in outcome.ensemble]


class _StopAfter(ProgressCallback):
    """Asks to wrap up once `n` candidates have reported."""

    def __init__(self, n: int) -> None:
        self.n, self.seen = n, 0

    def on_trial(self, trial: dict[str, Any]) -> None:
        self.seen += 1

    def should_wrap_up(self) -> bool:
        return self.seen >= self.n


def test_a_stop_request_ends_the_search_and_keeps_the_best_so_far() -> None:
    X, y = _halves()
    entries = [auto.Entry("linear", {"column": c}) for c in ("x1", "x2", "x1", "x2")]
    outcome = auto.search(_one_column_maker("regression"), X, y, entries=entries,
                          splits=_splits(len(y)), metric="r2", task="regression", budget_s=60,
                          callback=_StopAfter(1))
    assert outcome.stopped_early
    assert [row["params"] for row in outcome.leaderboard] == [{"column": "x1"}]
    assert outcome.pipeline.predict(X.head(3)).shape == (3,)


def test_a_stop_signal_interrupts_a_fit_in_progress_and_keeps_the_best(
    monkeypatch: pytest.MonkeyPatch
) -> None:
    """SIGUSR1 (what the job supervisor sends) reaches a candidate inside its fit."""
    from sklearn.datasets import make_classification

    X_np, y = make_classification(n_samples=3000, n_features=20, random_state=0)
    X = pd.DataFrame(X_np, columns=[f"f{i}" for i in range(20)])
    fits: list[str] = []

    class Slow(ProgressCallback):
        def on_trial(self, trial: dict[str, Any]) -> None:
            fits.append(trial["params"]["algorithm"])
            if len(fits) == 1:  # the forest starts next: ask to stop once it is fitting
                threading.Timer(0.5, os.kill, (os.getpid(), signal.SIGUSR1)).start()

    def make(key: str, params: dict[str, Any]) -> Any:
        from sklearn.ensemble import RandomForestClassifier

        model = (LogisticRegression() if key == "linear"
                 else RandomForestClassifier(n_estimators=100_000, random_state=0))
        return EnginePipeline([("model", model)])

    previous = signal.signal(signal.SIGUSR1, interrupt.on_stop_signal)
    interrupt.reset()
    try:
        outcome = auto.search(make, X, y, entries=[auto.Entry("linear", {}),
                                                   auto.Entry("random_forest", {})],
                              splits=_splits(len(y)), metric="f1_macro",
                              task="classification", budget_s=3600, callback=Slow())
    finally:
        signal.signal(signal.SIGUSR1, previous)
        interrupt.reset()
    assert outcome.stopped_early and outcome.algorithm == "linear"
    forest = next(r for r in outcome.leaderboard if r["algorithm"] == "random_forest")
    # 100,000 trees x 5 folds would take hours: it was stopped inside its first fit
    assert forest["mean_score"] is None
    assert forest["error"] == "Stopped on request before it finished."


def test_a_deadline_interrupts_a_fit_that_would_overrun() -> None:
    from sklearn.datasets import make_classification

    X_np, y = make_classification(n_samples=2000, n_features=10, random_state=0)
    X = pd.DataFrame(X_np, columns=[f"f{i}" for i in range(10)])

    def make(key: str, params: dict[str, Any]) -> Any:
        from sklearn.ensemble import RandomForestClassifier

        model = (LogisticRegression() if key == "linear"
                 else RandomForestClassifier(n_estimators=100_000, random_state=0))
        return EnginePipeline([("model", model)])

    # the forest's relative cost says it is as cheap as the linear model: only the clock
    # can stop it
    outcome = auto.search(make, X, y, entries=[auto.Entry("linear", {}, 1.0),
                                               auto.Entry("random_forest", {}, 1.0)],
                          splits=_splits(len(y)), metric="f1_macro", task="classification",
                          budget_s=3.0)
    assert outcome.cut_by_clock and not outcome.stopped_early
    forest = next(r for r in outcome.leaderboard if r["algorithm"] == "random_forest")
    assert forest["error"] == "Stopped: it would not have finished within the time budget."
    assert outcome.search_s <= 3.0 + auto.slack(3.0)


def test_auto_keeps_its_budget_on_a_table_where_the_old_auto_overran() -> None:
    """40,000 rows: the old auto started a 5-fold random forest after its linear model and ran
    far past a 5 s budget; the search now fits its budget, the refit included."""
    rng = np.random.default_rng(0)
    n = 40_000
    frame = pd.DataFrame(rng.normal(size=(n, 12)), columns=[f"x{i}" for i in range(12)])
    frame["city"] = rng.choice([f"c{i}" for i in range(40)], n)
    frame["y"] = np.where(frame.x0 + frame.x1 * frame.x2 + rng.normal(size=n) > 0, "a", "b")
    budget = 5.0
    result = train(frame, TrainConfig.from_dict(
        {"target": "y", "algorithm": "auto", "time_budget_s": budget},
        columns=list(frame.columns)))
    assert result.timings["search"] <= budget + auto.slack(budget), result.log
    assert any("cut the search short" in line for line in result.log)


def test_the_portfolio_starts_cheap_and_every_entry_is_a_valid_configuration() -> None:
    from ml.algorithms import get_algorithm

    for task, entries in auto.PORTFOLIO.items():
        assert entries[0].key in ("linear", "ridge")
        plain = [e.key for e in entries if not e.high_cardinality]
        assert plain[1:4] == ["hist_gradient_boosting", "lightgbm", "xgboost"]
        for entry in entries:
            get_algorithm(entry.key, task).validate_params(entry.params)
        assert len({json.dumps(e.described(), sort_keys=True) + e.key
                    for e in entries}) == len(entries)


def test_the_same_data_seed_and_budget_give_the_same_leaderboard_and_model() -> None:
    from sklearn.datasets import load_diabetes

    frame = load_diabetes(as_frame=True).frame
    config = {"target": "target", "algorithm": "auto", "time_budget_s": 600,
              "params": {"candidates": ["ridge", "lightgbm", "random_forest"]}}
    first = train(frame, TrainConfig.from_dict(config, columns=list(frame.columns)))
    second = train(frame, TrainConfig.from_dict(config, columns=list(frame.columns)))
    assert [(r["algorithm"], r["mean_score"]) for r in first.leaderboard] == [
        (r["algorithm"], r["mean_score"]) for r in second.leaderboard]
    assert first.algorithm == second.algorithm and first.metrics == second.metrics
    assert any("tried every candidate" in line for line in first.log)


@pytest.mark.parametrize("metric", ["accuracy", "balanced_accuracy", "f1_macro", "f1_weighted",
                                    "precision_macro", "recall_macro"])
def test_label_metrics_from_one_confusion_matrix_equal_scikit_learns(metric: str) -> None:
    import warnings

    from sklearn import metrics as m

    reference = {
        "accuracy": m.accuracy_score, "balanced_accuracy": m.balanced_accuracy_score,
        "f1_macro": lambda t, p: m.f1_score(t, p, average="macro", zero_division=0),
        "f1_weighted": lambda t, p: m.f1_score(t, p, average="weighted", zero_division=0),
        "precision_macro": lambda t, p: m.precision_score(t, p, average="macro",
                                                          zero_division=0),
        "recall_macro": lambda t, p: m.recall_score(t, p, average="macro", zero_division=0),
    }[metric]
    rng = np.random.default_rng(3)
    for trial in range(60):
        k = int(rng.integers(2, 6))
        n = int(rng.integers(1, 40))
        # some classes absent from the truth, the guesses, or both
        true = rng.integers(0, k - (trial % 2), n)
        guess = rng.integers(trial % 3 == 0, k, n)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            expected = reference(true, guess)
        assert auto.label_metric(metric, true, guess, k) == pytest.approx(expected), (true, guess)


def test_a_deadline_interrupts_a_catboost_fit_which_reports_it_as_keyboardinterrupt() -> None:
    """CatBoost checks for signals during training and turns whatever our handler raises into
    KeyboardInterrupt: the search still reads it as the clock, not as a Ctrl-C."""
    from sklearn.datasets import make_classification

    from ml.boosters import CatBoostClassifier

    X_np, y = make_classification(n_samples=3000, n_features=10, random_state=0)
    X = pd.DataFrame(X_np, columns=[f"f{i}" for i in range(10)])

    def make(key: str, params: dict[str, Any]) -> Any:
        model = (LogisticRegression() if key == "linear" else CatBoostClassifier(
            n_estimators=200_000, learning_rate=0.001, early_stopping_rounds=None))
        return EnginePipeline([("model", model)])

    outcome = auto.search(make, X, y, entries=[auto.Entry("linear", {}, 1.0),
                                               auto.Entry("catboost", {}, 1.0)],
                          splits=_splits(len(y)), metric="f1_macro", task="classification",
                          budget_s=3.0)
    row = next(r for r in outcome.leaderboard if r["algorithm"] == "catboost")
    assert row["error"] == "Stopped: it would not have finished within the time budget."
    assert outcome.algorithm == "linear" and outcome.search_s <= 3.0 + auto.slack(3.0)


def test_a_real_keyboard_interrupt_is_not_taken_for_the_clock() -> None:
    X, y = _halves()

    def make(_key: str, params: dict[str, Any]) -> Any:
        if params["column"] == "x2":
            raise KeyboardInterrupt
        return _one_column_maker("regression")(_key, params)

    with pytest.raises(KeyboardInterrupt):
        auto.search(make, X, y, entries=_pair("regression"), splits=_splits(len(y)),
                    metric="r2", task="regression", budget_s=60)


def test_text_columns_with_many_levels_bring_their_own_encodings_into_the_search() -> None:
    """300 streets, each with its own price effect: one-hot keeps 100 of them apart, so the
    portfolio adds target encoding and a linear model over every level; a small table of
    numbers never sees those entries."""
    rng = np.random.default_rng(8)
    n = 3000
    streets = np.array([f"street_{i}" for i in range(300)], dtype=object)
    codes = rng.integers(0, 300, n)
    frame = pd.DataFrame({"area": rng.normal(80, 20, n), "street": streets[codes]})
    frame["price"] = frame.area * 3 + rng.normal(0, 30, 300)[codes] + rng.normal(0, 5, n)
    config = {"target": "price", "algorithm": "auto", "time_budget_s": 600,
              "validation": {"cv_folds": 3}}
    seen: list[dict[str, Any]] = []

    class Collect(ProgressCallback):
        def on_trial(self, trial: dict[str, Any]) -> None:
            seen.append(trial["params"])
            if len(seen) == 6:
                interrupt.request_stop()  # the entries that matter come first: stop here

    try:
        result = train(frame, TrainConfig.from_dict(config, columns=list(frame.columns)),
                       callback=Collect())
    finally:
        interrupt.reset()
    encodings = [p["params"].get("preprocessing") for p in seen]
    assert {"categorical_encoder": "target"} in encodings
    assert {"min_frequency": 2, "max_categories": 1000} in encodings
    assert result.metrics["r2"] > 0.9 and result.stopped_early

    seen.clear()
    iris = pd.concat([pd.DataFrame(np.random.default_rng(0).normal(size=(60, 2)),
                                   columns=["a", "b"]),
                      pd.DataFrame({"y": ["x", "y", "z"] * 20})], axis=1)
    try:
        train(iris, TrainConfig.from_dict(
            {"target": "y", "algorithm": "auto", "time_budget_s": 600,
             "validation": {"cv_folds": 2}}, columns=["a", "b", "y"]), callback=Collect())
    finally:
        interrupt.reset()
    assert seen and all(not p["params"].get("preprocessing") for p in seen)


class _Sleepy(LinearRegression):
    """A linear model whose fit takes a second: a first candidate too slow for the budget."""

    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> Any:
        import time

        time.sleep(1.0)
        return super().fit(X, y, sample_weight)


def test_a_first_model_too_slow_for_the_budget_is_kept_on_the_folds_it_finished() -> None:
    X, y = _halves()

    def make(_key: str, _params: dict[str, Any]) -> Any:
        return EnginePipeline([("model", _Sleepy())])

    outcome = auto.search(make, X, y, entries=[auto.Entry("ridge", {})], splits=_splits(len(y)),
                          metric="r2", task="regression", budget_s=0.5)
    # 5 folds and a refit would take 6 s; the margin is 5 s: it stops after the first fold(s)
    assert outcome.search_s <= 0.5 + auto.slack(0.5)
    assert outcome.cut_by_clock and outcome.algorithm == "ridge"
    assert any("cross-validation folds of the first model fit" in line for line in outcome.log)
    assert outcome.leaderboard[0]["mean_score"] > 0.3  # scored on the folds it finished
