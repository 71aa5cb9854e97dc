"""The experiment list's filters: `?dataset=`, `?status=`, `?ordering=` (API and page)."""

from __future__ import annotations

import django_filters

from apps.core.filters import IdFilter, ordering_filter
from apps.experiments.models import Experiment, Status
from apps.experiments.selectors import ORDERINGS


class ExperimentFilter(django_filters.FilterSet):
    dataset = IdFilter(field_name="dataset_id",
                       error_messages={"invalid": "Expected a dataset id.",
                                       "min_value": "Expected a dataset id.",
                                       "max_value": "Expected a dataset id."})
    status = django_filters.ChoiceFilter(
        choices=Status.choices,
        error_messages={"invalid_choice": "Unknown status; use one of "
                                          f"{', '.join(Status.values)}."})
    ordering = ordering_filter(ORDERINGS)

    class Meta:
        model = Experiment
        fields: list[str] = []  # the filters above, nothing derived from the model
