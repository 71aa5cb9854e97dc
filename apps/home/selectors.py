"""Cross-app reads for the dashboard (this app sits above the others, so it may)."""

from __future__ import annotations

from typing import Any

from apps.accounts.models import Workspace
from apps.datasets.models import Dataset
from apps.experiments.models import Experiment
from apps.models.models import Model

# What the dashboard counts and lists; each model has a `workspace` FK and `created_at`.
_DASHBOARD_MODELS = (("datasets", Dataset), ("experiments", Experiment), ("models", Model))


def dashboard_summary(*, workspace: Workspace) -> dict[str, Any]:
    """Return counts and the five newest items of each kind in the workspace."""
    if not isinstance(workspace, Workspace):
        raise TypeError("dashboard_summary needs the workspace")
    summary: dict[str, Any] = {}
    for key, model in _DASHBOARD_MODELS:
        qs = model.objects.filter(workspace=workspace)
        summary[key] = {"count": qs.count(), "recent": list(qs.order_by("-created_at")[:5])}
    return summary
