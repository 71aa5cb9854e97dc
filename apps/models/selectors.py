"""Registry reads; every query takes the workspace."""

from __future__ import annotations

from typing import Any

from django.db.models import F, QuerySet
from django.shortcuts import get_object_or_404

from apps.accounts.tenancy import require_workspace
from apps.models.models import BatchPrediction, Model

# ?sort= values the list page and the API accept, mapped to an ordering.
ORDERINGS = {
    "-created_at": [F("created_at").desc(), F("pk").desc()],
    "created_at": [F("created_at").asc(), F("pk").asc()],
    "-score": [F("score").desc(nulls_last=True), F("pk").desc()],
    "score": [F("score").asc(nulls_last=True), F("pk").desc()],
    "name": [F("name").asc(), F("version").desc()],
    "-name": [F("name").desc(), F("version").desc()],
    "-version": [F("version").desc(), F("pk").desc()],
}


def model_list(*, workspace: Any) -> QuerySet[Model]:
    """Return the workspace's models, newest first (filters: apps.models.filters)."""
    qs = Model.objects.filter(workspace=require_workspace(workspace)).select_related("created_by")
    return qs.order_by(*ORDERINGS["-created_at"])


def model_get(*, workspace: Any, pk: Any) -> Model:
    """Return the workspace's model `pk` or raise Http404 (also for another workspace's id)."""
    return get_object_or_404(
        Model.objects.select_related("workspace"), workspace=require_workspace(workspace), pk=pk
    )


def model_algorithms(*, workspace: Any) -> list[str]:
    """Return the algorithms used by the workspace's models, for the list filter."""
    qs = Model.objects.filter(workspace=require_workspace(workspace)).values_list(
        "algorithm", flat=True
    )
    return sorted(set(qs))


def model_plot_file(*, model: Model, index: int) -> tuple[str, str] | None:
    """Return (name, storage name) of the model's experiment plot `index`, if there is one."""
    experiment = getattr(model, "experiment", None)
    plots = list(getattr(experiment, "plots", None) or [])
    if not 0 <= index < len(plots):
        return None
    plot = plots[index]
    if not isinstance(plot, dict) or not plot.get("file"):
        return None
    return str(plot.get("name", "")), str(plot["file"])


def batch_prediction_list(
    *, workspace: Any, model: Model, limit: int = 10
) -> list[BatchPrediction]:
    """Return the newest batch jobs of `model` in the workspace."""
    qs = BatchPrediction.objects.filter(workspace=require_workspace(workspace), model=model)
    return list(qs.select_related("created_by").order_by("-created_at", "-pk")[:limit])


def batch_prediction_get(*, workspace: Any, model: Model, pk: Any) -> BatchPrediction:
    """Return batch job `pk` of the workspace's `model` or raise Http404."""
    return get_object_or_404(
        BatchPrediction.objects.select_related("model", "workspace"),
        workspace=require_workspace(workspace), model=model, pk=pk,
    )



def models_to_warm(*, limit: int, since: Any = None) -> list[Model]:
    """The most recently registered non-Keras models (registered after `since`, if given),
    across workspaces, for a process's cache warm-up.

    The one read not scoped to a workspace: it runs in the background, serves no request and
    returns nothing to anyone; it only fills this process's own model cache.
    """
    from ml.algorithms import algorithm_keys

    models = Model.objects.exclude(algorithm__in=algorithm_keys(family="keras"))
    if since is not None:
        models = models.filter(created_at__gt=since)
    return list(models.order_by("-created_at", "-pk")[:limit])
