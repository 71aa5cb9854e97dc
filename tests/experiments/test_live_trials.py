"""Searches and auto show each finished trial live, keep them after a cancel, and say why
they stopped (#13)."""

from __future__ import annotations

from typing import Any

import pytest

from apps.experiments.models import Experiment, Status
from apps.experiments.progress import ExperimentCallback

pytestmark = pytest.mark.django_db


def _running(workspace: Any, iris: Any, alice: Any, algorithm: str = "random_forest") -> Any:
    return Experiment.objects.create(workspace=workspace, dataset=iris, created_by=alice,
                                     name="search", target="species", task="classification",
                                     algorithm=algorithm, status=Status.RUNNING)


def test_each_finished_trial_is_written_at_once_with_the_best_so_far(
    workspace: Any, iris: Any, alice: Any, client_as: Any
) -> None:
    experiment = _running(workspace, iris, alice)
    callback = ExperimentCallback(experiment.pk, write_every_s=3600)  # no time-based writes
    for score, depth in ((0.90, 3), (0.95, 5), (0.93, 7)):
        callback.on_trial({"params": {"max_depth": depth}, "mean_score": score,
                           "std_score": 0.01, "fit_time_s": 0.5, "metric": "f1_macro"})
    experiment.refresh_from_db()
    assert [t["best_so_far"] for t in experiment.leaderboard] == [0.90, 0.95, 0.95]
    page = client_as(alice).get(f"/w/acme/experiments/{experiment.pk}/live/").content.decode()
    assert 'id="live-trials"' in page and "Trials so far" in page
    assert "max_depth = 5" in page and "0.9500" in page
    # A cancel keeps what was tried on the page.
    Experiment.objects.filter(pk=experiment.pk).update(status=Status.CANCELLED)
    page = client_as(alice).get(f"/w/acme/experiments/{experiment.pk}/").content.decode()
    assert "Tried before it cancelled" in page and "max_depth = 7" in page


def test_lower_is_better_metrics_keep_the_lowest_as_the_best(
    workspace: Any, iris: Any, alice: Any
) -> None:
    experiment = _running(workspace, iris, alice)
    callback = ExperimentCallback(experiment.pk)
    for score in (12.0, 9.5, 11.0):
        callback.on_trial({"params": {}, "mean_score": score, "metric": "rmse"})
    experiment.refresh_from_db()
    assert [t["best_so_far"] for t in experiment.leaderboard] == [12.0, 9.5, 9.5]


def test_auto_candidates_are_live_and_auto_says_what_it_skipped() -> None:
    from sklearn.datasets import load_iris

    from ml.callbacks import ProgressCallback
    from ml.config import TrainConfig
    from ml.train import train

    seen: list[dict[str, Any]] = []

    class Collect(ProgressCallback):
        def on_trial(self, trial: dict[str, Any]) -> None:
            seen.append(trial)

    frame = load_iris(as_frame=True).frame
    result = train(frame, TrainConfig.from_dict(
        {"target": "target", "task": "classification", "algorithm": "auto",
         "time_budget_s": 0.01}, columns=list(frame.columns)), callback=Collect())
    assert len(seen) == 1 and seen[0]["params"]["algorithm"] == "linear"
    # every other configuration of the portfolio, each library named once, in portfolio order
    assert any("not tried: hist_gradient_boosting, lightgbm, xgboost, extra_trees, catboost, "
               "random_forest, knn)" in line for line in result.log), result.log


def test_a_new_step_is_written_at_once_and_fraction_only_updates_are_throttled(
    workspace: Any, iris: Any, alice: Any
) -> None:
    experiment = _running(workspace, iris, alice)
    callback = ExperimentCallback(experiment.pk, write_every_s=3600)
    callback.on_progress(0.1, "Checking the data")
    callback.on_progress(0.6, "Fitting the final model")  # then minutes without an event
    experiment.refresh_from_db()
    assert experiment.log[-1] == "Fitting the final model"
    callback.on_progress(0.7, "Fitting the final model")  # the same step, further on
    experiment.refresh_from_db()
    assert experiment.progress == pytest.approx(0.6)  # throttled: written later
