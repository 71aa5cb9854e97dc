"""Cross-app reads for the dashboard."""

from __future__ import annotations

from typing import Any

from django.apps import apps

from apps.accounts.models import Workspace

# (key, model) pairs shown on the dashboard; each model has a `workspace` FK and `created_at`.
_DASHBOARD_MODELS = (
    ("datasets", "datasets.Dataset"),
    ("experiments", "experiments.Experiment"),
    ("models", "models.Model"),
)


def dashboard_summary(*, workspace: Workspace) -> dict[str, Any]:
    """Return counts and the five newest items of each kind in the workspace."""
    summary: dict[str, Any] = {}
    for key, label in _DASHBOARD_MODELS:
        try:
            model = apps.get_model(label)
        except LookupError:  # the app's models are not built yet
            summary[key] = {"count": 0, "recent": []}
            continue
        qs = model.objects.filter(workspace=workspace)
        summary[key] = {"count": qs.count(), "recent": list(qs.order_by("-created_at")[:5])}
    return summary
