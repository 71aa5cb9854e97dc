"""Periodic housekeeping run by the django-q2 cluster (scheduled every minute)."""

from __future__ import annotations

import logging

log = logging.getLogger(__name__)


def sweep_stale_jobs() -> dict[str, int]:
    """Fail jobs whose worker died (no heartbeat): nothing stays running."""
    from apps.datasets.services import dataset_fail_stale
    from apps.experiments.services import experiment_fail_stale
    from apps.models.services import batch_prediction_fail_stale

    counts = {
        "datasets": dataset_fail_stale(),
        "experiments": experiment_fail_stale(),
        "batch_predictions": batch_prediction_fail_stale(),
    }
    if any(counts.values()):
        log.warning("Marked stale jobs as failed: %s", counts)
    return counts
