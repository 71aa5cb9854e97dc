"""django-q2 tasks of experiments: they take only an id and call a service."""

from __future__ import annotations


def experiment_run_task(experiment_id: int) -> str | None:
    """Run the training job of experiment `experiment_id`."""
    from apps.experiments.services import experiment_execute

    return experiment_execute(experiment_id=experiment_id)
