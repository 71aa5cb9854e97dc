"""The model list's filters: `?task=`, `?algorithm=`, `?name=`, `?ordering=` (API and page)."""

from __future__ import annotations

import django_filters

from apps.core.filters import ordering_filter
from apps.models.models import Model
from apps.models.selectors import ORDERINGS

TASKS = [("classification", "classification"), ("regression", "regression")]


class ModelFilter(django_filters.FilterSet):
    task = django_filters.ChoiceFilter(
        choices=TASKS, error_messages={"invalid_choice": "Use classification or regression."})
    algorithm = django_filters.CharFilter()
    name = django_filters.CharFilter()
    ordering = ordering_filter(ORDERINGS)

    class Meta:
        model = Model
        fields: list[str] = []
