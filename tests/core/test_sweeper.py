"""The scheduled sweeper fails every kind of job whose worker died."""

from datetime import timedelta

import pytest
from django.utils import timezone
from django_q.models import Schedule

from apps.core.schedules import SWEEP_NAME
from apps.core.tasks import sweep_stale_jobs

pytestmark = pytest.mark.django_db


def test_the_sweeper_is_scheduled_every_minute():
    schedule = Schedule.objects.get(name=SWEEP_NAME)
    assert schedule.func == "apps.core.tasks.sweep_stale_jobs"
    assert (schedule.schedule_type, schedule.minutes) == (Schedule.MINUTES, 1)


def test_the_sweeper_fails_a_dataset_whose_worker_died(workspace, alice):
    from apps.datasets.models import Dataset

    old = timezone.now() - timedelta(hours=2)
    ds = Dataset.objects.create(workspace=workspace, name="x", file="f.csv", status="processing",
                                started_at=old, heartbeat_at=old, created_by=alice)
    counts = sweep_stale_jobs()
    assert counts["datasets"] == 1 and counts["experiments"] == 0
    ds.refresh_from_db()
    assert ds.status == "failed" and ds.error
    assert sweep_stale_jobs()["datasets"] == 0


def _queued_messages(func):
    """(first argument, locked) of each message of `func` on the ORM broker."""
    from django_q.models import OrmQ
    from django_q.signing import SignedPackage

    out = []
    for row in OrmQ.objects.all():
        task = SignedPackage.loads(row.payload)
        if task["func"] == func:
            out.append((task["args"][0], row.lock > timezone.now()))
    return sorted(out)


def test_a_queued_job_taken_by_a_dead_cluster_is_queued_again_once(
        workspace, alice):
    """A cluster takes tasks ahead of its free workers; killed, it takes them along (issue #15).

    The sweeper sends such a job to the broker again, only when it no longer waits there, and
    only one copy can run it.
    """
    from django_q.conf import Conf
    from django_q.models import OrmQ

    from apps.core import jobs
    from apps.experiments.models import Experiment
    from apps.experiments.services import EXPERIMENT_JOB, TASK_PATH

    sync, Conf.SYNC = Conf.SYNC, False
    try:
        dataset = _ready_dataset(workspace, alice)
        old = timezone.now() - timedelta(seconds=jobs.requeue_after_s() + 5)
        fresh = Experiment.objects.create(workspace=workspace, dataset=dataset, target="y",
                                          task="classification", algorithm="logistic_regression")
        waiting, taken, lost = (Experiment.objects.create(
            workspace=workspace, dataset=dataset, target="y", task="classification",
            algorithm="logistic_regression") for _ in range(3))
        Experiment.objects.filter(pk__in=[waiting.pk, taken.pk, lost.pk]).update(created_at=old)
        jobs.enqueue(EXPERIMENT_JOB, waiting.pk)
        jobs.enqueue(EXPERIMENT_JOB, taken.pk)
        # A cluster took `taken` off the queue (its lock lies in the future) and died.
        row = next(r for r in OrmQ.objects.all() if f"-{taken.pk}" in str(r.name()))
        OrmQ.objects.filter(pk=row.pk).update(lock=timezone.now() + timedelta(hours=1))

        assert sweep_stale_jobs()["experiments"] == 2  # taken and lost; not waiting nor fresh
        assert _queued_messages(TASK_PATH) == sorted(
            [(waiting.pk, False), (taken.pk, True), (taken.pk, False), (lost.pk, False)])
        assert "queued again" in Experiment.objects.get(pk=lost.pk).log[-1]
        assert sweep_stale_jobs()["experiments"] == 0  # now they wait: nothing more is sent
        assert fresh.pk not in [pk for pk, _ in _queued_messages(TASK_PATH)]

        # Two copies of `taken`: the first to claim runs it, the second finds it taken.
        assert jobs.claim(EXPERIMENT_JOB, taken.pk) is True
        assert jobs.claim(EXPERIMENT_JOB, taken.pk) is False
        assert Experiment.objects.get(pk=taken.pk).attempts == 1
    finally:
        Conf.SYNC = sync


def _ready_dataset(workspace, alice):
    from apps.datasets.models import Dataset

    return Dataset.objects.create(workspace=workspace, name="d", file="f.csv", parquet="p",
                                  status="ready", created_by=alice)
