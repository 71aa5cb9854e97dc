"""Install the periodic housekeeping schedule after migrations (idempotent)."""

from __future__ import annotations

from typing import Any

SWEEP_NAME = "modelworks: fail stale jobs"


def ensure_schedules(**kwargs: Any) -> None:
    """Create or update the django-q2 schedule that runs the stale-job sweeper every minute."""
    from django_q.models import Schedule

    Schedule.objects.update_or_create(
        name=SWEEP_NAME,
        defaults={
            "func": "apps.core.tasks.sweep_stale_jobs",
            "schedule_type": Schedule.MINUTES,
            "minutes": 1,
            "repeats": -1,
        },
    )
