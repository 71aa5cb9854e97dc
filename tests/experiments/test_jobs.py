"""The job's reliability rules: one claim per job, redelivery limits, the stale sweeper, and
errors that are not the engine's (jobs run inline)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.core.files.storage import default_storage
from django.utils import timezone

from apps.experiments.models import Experiment
from apps.experiments.services import (
    INTERNAL_MESSAGE,
    STALE_MESSAGE,
    experiment_create,
    experiment_execute,
    experiment_fail_stale,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def queued(workspace: Any, alice: Any, iris: Any,
           django_capture_on_commit_callbacks: Any) -> Experiment:
    with django_capture_on_commit_callbacks(execute=False):
        return experiment_create(workspace=workspace, user=alice, data={
            "dataset": iris.pk, "target": "species", "algorithm": "decision_tree",
            "validation": {"cv_folds": 0}})


def test_a_job_already_running_elsewhere_is_not_run_twice(queued: Experiment) -> None:
    Experiment.objects.filter(pk=queued.pk).update(
        status="running", heartbeat_at=timezone.now(), attempts=1)
    assert experiment_execute(experiment_id=queued.pk) is None
    assert Experiment.objects.get(pk=queued.pk).attempts == 1


def test_a_redelivered_job_whose_worker_died_runs_again_within_the_limit(
    queued: Experiment,
) -> None:
    old = timezone.now() - timedelta(hours=1)
    Experiment.objects.filter(pk=queued.pk).update(status="running", heartbeat_at=old,
                                                    attempts=1)
    assert experiment_execute(experiment_id=queued.pk) == "succeeded"
    assert Experiment.objects.get(pk=queued.pk).attempts == 2


def test_a_redelivered_job_past_the_attempt_limit_fails_clearly(queued: Experiment) -> None:
    old = timezone.now() - timedelta(hours=1)
    Experiment.objects.filter(pk=queued.pk).update(status="running", heartbeat_at=old,
                                                    attempts=2)
    assert experiment_execute(experiment_id=queued.pk) is None
    exp = Experiment.objects.get(pk=queued.pk)
    assert exp.status == "failed"
    assert exp.error.startswith(STALE_MESSAGE) and "giving up" in exp.error


def test_the_sweeper_fails_only_jobs_with_a_stale_heartbeat(
    queued: Experiment, workspace: Any, alice: Any, iris: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    with django_capture_on_commit_callbacks(execute=False):
        alive = experiment_create(workspace=workspace, user=alice, data={
            "dataset": iris.pk, "target": "species", "algorithm": "knn"})
    now = timezone.now()
    Experiment.objects.filter(pk=queued.pk).update(
        status="running", started_at=now, heartbeat_at=now - timedelta(minutes=10))
    Experiment.objects.filter(pk=alive.pk).update(
        status="running", started_at=now, heartbeat_at=now)
    assert experiment_fail_stale() == 1
    dead = Experiment.objects.get(pk=queued.pk)
    assert (dead.status, dead.error) == ("failed", STALE_MESSAGE)
    assert dead.finished_at is not None
    assert Experiment.objects.get(pk=alive.pk).status == "running"


def test_the_sweeper_fails_a_job_no_worker_ever_started(queued: Experiment) -> None:
    Experiment.objects.filter(pk=queued.pk).update(
        created_at=timezone.now() - timedelta(days=2))
    assert experiment_fail_stale() == 1
    assert "No worker started" in Experiment.objects.get(pk=queued.pk).error


def test_an_unexpected_error_fails_with_a_user_message_and_a_traceback_for_admins(
    queued: Experiment, iris: Any, api_as: Any, alice: Any,
) -> None:
    default_storage.delete(iris.parquet)  # the stored data vanished: not an engine error
    from apps.datasets import services as dataset_services

    dataset_services._cache_forget(iris.pk)
    assert experiment_execute(experiment_id=queued.pk) == "failed"
    exp = Experiment.objects.get(pk=queued.pk)
    assert exp.error == INTERNAL_MESSAGE
    assert any(line.startswith("Traceback") for line in exp.log)
    seen = api_as(alice).get(f"/api/v1/workspaces/acme/experiments/{exp.pk}/").json()["log"]
    assert not any(line.startswith("Traceback") for line in seen)  # alice is not staff


def test_the_job_writes_progress_and_log_while_it_runs(queued: Experiment) -> None:
    assert experiment_execute(experiment_id=queued.pk) == "succeeded"
    exp = Experiment.objects.get(pk=queued.pk)
    assert exp.progress == 1.0
    assert any("Fitting" in line for line in exp.log)
    assert exp.heartbeat_at is not None and exp.heartbeat_at >= exp.started_at


def test_a_cancel_asked_of_a_dead_worker_ends_cancelled(queued: Experiment) -> None:
    now = timezone.now()
    Experiment.objects.filter(pk=queued.pk).update(
        status="running", started_at=now, heartbeat_at=now - timedelta(minutes=10),
        cancel_requested=True)
    assert experiment_fail_stale() == 1
    exp = Experiment.objects.get(pk=queued.pk)
    assert exp.status == "cancelled" and exp.finished_at is not None and not exp.error


def test_the_job_does_not_check_again_what_the_web_checked(
        queued: Experiment, monkeypatch: pytest.MonkeyPatch) -> None:
    """Validate once: experiment_create checked the config against the dataset; the job trains
    on the stored, resolved config without calling validate_for_data again."""
    import ml.train

    assert queued.config["task"] == "classification"  # resolved by the web's check

    def checked_again(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("validate_for_data ran again in the job")

    monkeypatch.setattr(ml.train, "validate_for_data", checked_again)
    assert experiment_execute(experiment_id=queued.pk) == "succeeded"
