"""ml.tuning: search spaces, grid/random/bayesian search, budgets, cancellation, auto."""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from sklearn.datasets import load_diabetes, load_iris  # noqa: E402
from sklearn.model_selection import KFold, StratifiedKFold, TimeSeriesSplit  # noqa: E402
from sklearn.pipeline import Pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402
from sklearn.tree import DecisionTreeClassifier  # noqa: E402

from ml import tuning  # noqa: E402
from ml.callbacks import ProgressCallback  # noqa: E402
from ml.config import TrainConfig  # noqa: E402
from ml.errors import TrainingCancelled  # noqa: E402
from ml.train import train  # noqa: E402

IRIS = load_iris(as_frame=True)
X, Y = IRIS.data, IRIS.target.to_numpy()


def tree(params: dict) -> Pipeline:
    return Pipeline([("scale", StandardScaler()),
                     ("model", DecisionTreeClassifier(random_state=0, **params))])


def do_search(method: str, space: dict, **kwargs: object) -> tuning.SearchResult:
    options = {"n_trials": 4, "metric": "accuracy", "task": "classification",
               "cv": StratifiedKFold(3, shuffle=True, random_state=0), **kwargs}
    return tuning.search(tree, X, Y, space=space, method=method, **options)


def test_it_spreads_grid_points_over_ranges_keeping_ints() -> None:
    grid = tuning.grid_candidates({"max_depth": {"low": 1, "high": 8}, "criterion": ["gini"]})
    assert [g["max_depth"] for g in grid] == [1, 3, 6, 8]
    assert all(isinstance(g["max_depth"], int) for g in grid)


def test_it_samples_random_values_within_bounds() -> None:
    space = {"depth": {"low": 2, "high": 30, "log": True}, "rate": {"low": 0.001, "high": 0.1},
             "kind": ["a", "b"]}
    draws = tuning.random_candidates(space, 25, random_state=0)
    assert len(draws) == 25
    assert all(isinstance(d["depth"], int) and 2 <= d["depth"] <= 30 for d in draws)
    assert all(isinstance(d["rate"], float) and 0.001 <= d["rate"] <= 0.1 for d in draws)
    assert {d["kind"] for d in draws} == {"a", "b"}


def test_grid_search_tries_every_combination_best_first() -> None:
    result = do_search("grid", {"max_depth": [1, 3], "min_samples_leaf": [1, 40]})
    assert len(result.trials) == 4
    scores = [t["mean_score"] for t in result.trials]
    assert scores == sorted(scores, reverse=True)
    assert result.best_params == result.trials[0]["params"]
    assert result.best_params["max_depth"] == 3 and result.best_score > 0.9
    assert {"rank", "params", "mean_score", "std_score", "fit_time_s"} <= set(result.trials[0])


def test_random_search_runs_n_trials() -> None:
    result = do_search("random", {"max_depth": {"low": 1, "high": 6}}, n_trials=3)
    assert len(result.trials) == 3


def test_bayesian_search_uses_optuna_and_ints_stay_ints() -> None:
    result = do_search("bayesian", {"max_depth": {"low": 1, "high": 6},
                                    "criterion": ["gini", "entropy"]}, n_trials=5)
    assert len(result.trials) == 5
    assert all(isinstance(t["params"]["max_depth"], int) for t in result.trials)


def test_it_sorts_losses_smallest_first() -> None:
    result = do_search("grid", {"max_depth": [1, 3]}, metric="log_loss")
    assert result.trials[0]["mean_score"] <= result.trials[1]["mean_score"]


def test_it_stops_at_the_time_budget() -> None:
    result = do_search("grid", {"max_depth": [1, 2, 3, 4, 5, 6]}, time_budget_s=1e-6)
    assert len(result.trials) == 1


def test_it_stops_when_cancelled() -> None:
    class StopAfterFirstFold(ProgressCallback):
        calls = 0

        def should_stop(self) -> bool:
            self.calls += 1
            return self.calls > 1

    with pytest.raises(TrainingCancelled):
        do_search("bayesian", {"max_depth": [1, 2]}, callback=StopAfterFirstFold())


def test_it_records_failed_trials_last() -> None:
    result = do_search("grid", {"max_depth": [2, -1]})
    assert result.trials[-1]["mean_score"] is None and result.trials[-1]["error"]
    assert result.best_params == {"max_depth": 2}


@pytest.mark.parametrize(("kwargs", "kind"), [
    ({"task": "classification"}, StratifiedKFold),
    ({"task": "regression"}, KFold),
    ({"task": "classification", "split": "time_series"}, TimeSeriesSplit),
    ({"task": "classification", "stratify": False}, KFold),
])
def test_it_picks_the_cross_validation_splitter(kwargs: dict, kind: type) -> None:
    cv, _ = tuning.make_cv(Y, 3, **kwargs)
    assert isinstance(cv, kind)


def test_it_skips_cross_validation_for_zero_or_one_fold() -> None:
    assert tuning.make_cv(Y, 1, task="classification") == (None, None)


def test_it_scales_the_auto_budget_with_the_data() -> None:
    assert tuning.default_auto_budget(150, 4) == tuning.AUTO_MIN_BUDGET_S
    assert tuning.default_auto_budget(100_000, 20) == tuning.AUTO_MAX_BUDGET_S


def test_train_tunes_when_asked() -> None:
    df = load_diabetes(as_frame=True).frame
    config = TrainConfig.from_dict({
        "target": "target", "algorithm": "ridge", "validation": {"cv_folds": 2},
        "tuning": {"method": "random", "n_trials": 3, "metric": "rmse",
                   "space": {"alpha": {"low": 0.01, "high": 100, "log": True}}}})
    result = train(df, config)
    assert len(result.leaderboard) == 3
    assert result.leaderboard[0]["mean_score"] <= result.leaderboard[-1]["mean_score"]
    assert result.params["alpha"] == result.best_params["alpha"]
    assert set(result.cv_metrics) == {"rmse"}


def test_train_auto_tries_candidates_and_keeps_the_best() -> None:
    df = pd.concat([IRIS.data, IRIS.target], axis=1)
    config = TrainConfig.from_dict({
        "target": "target", "algorithm": "auto", "validation": {"cv_folds": 2},
        "params": {"candidates": ["linear", "decision_tree", "naive_bayes"]}})
    result = train(df, config)
    board = result.leaderboard
    assert [row["algorithm"] for row in board][0] == result.algorithm
    assert {row["algorithm"] for row in board} == {"linear", "decision_tree", "naive_bayes"}
    scores = [row["mean_score"] for row in board]
    assert scores == sorted(scores, reverse=True)
    assert result.best_params["algorithm"] == result.algorithm
    assert result.metrics["accuracy"] > 0.8 and np.isfinite(result.score)
