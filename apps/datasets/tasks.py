"""django-q2 tasks of datasets: each takes an id and calls a service."""

from __future__ import annotations

from apps.datasets.services import dataset_process


def dataset_process_task(dataset_id: int) -> None:
    """Process an uploaded dataset in the worker."""
    dataset_process(dataset_id=dataset_id)
