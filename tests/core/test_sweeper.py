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
