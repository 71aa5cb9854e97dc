"""django-q2 tasks of the model registry: they take only an id and call a service."""

from __future__ import annotations


def batch_predict_task(batch_id: int) -> str | None:
    """Predict the CSV file of batch job `batch_id`."""
    from apps.models.services import batch_prediction_execute

    return batch_prediction_execute(batch_id=batch_id)
