"""Reads of experiments; every query takes the workspace."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ObjectDoesNotExist
from django.db.models import F, QuerySet
from django.http import Http404

from apps.accounts.tenancy import require_workspace
from apps.experiments.models import Experiment, Status

ORDERINGS = {
    "-score": (F("score").desc(nulls_last=True), "-created_at", "-pk"),
    "score": (F("score").asc(nulls_last=True), "-created_at", "-pk"),
    "-created_at": ("-created_at", "-pk"),
    "created_at": ("created_at", "pk"),
    "name": ("name", "pk"),
    "-name": ("-name", "-pk"),
}


def experiment_list(*, workspace: Any) -> QuerySet[Experiment]:
    """Return the workspace's experiments, newest first (filters: apps.experiments.filters)."""
    related = ["dataset", "registered_model"] if _has_models() else ["dataset"]
    qs = Experiment.objects.filter(workspace=require_workspace(workspace)).select_related(*related)
    return qs.order_by(*ORDERINGS["-created_at"])


def experiment_get(*, workspace: Any, pk: Any) -> Experiment:
    """Return the workspace's experiment `pk`, or raise Http404."""
    workspace = require_workspace(workspace)
    try:
        return Experiment.objects.select_related("dataset").get(workspace=workspace, pk=int(pk))
    except (Experiment.DoesNotExist, TypeError, ValueError):
        raise Http404("No such experiment.") from None


def experiment_model_id(experiment: Experiment) -> Any:
    """Return the id of the model registered from this experiment, or None."""
    try:
        return experiment.registered_model.pk
    except (AttributeError, ObjectDoesNotExist):  # no model yet (or no models app yet)
        return None


def _has_models() -> bool:
    return any(f.name == "registered_model" for f in Experiment._meta.related_objects)


def status_choices() -> list[str]:
    return [s.value for s in Status]
