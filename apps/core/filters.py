"""List filters, declared once per list as a django-filter FilterSet and used by both faces.

The API answers 400 naming each bad value (`filtered_or_400`); a page applies the valid values
and ignores a bad one (`FilterSet.qs` filters by the values that validated), as a person who
edited the address by hand expects.
"""

from __future__ import annotations

from typing import Any

import django_filters
from django import forms
from django.db.models import QuerySet
from rest_framework import exceptions

from apps.core.params import MAX_ID


class IdFilter(django_filters.NumberFilter):
    """A row id: digits only, within a 64-bit integer."""

    field_class = forms.IntegerField

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", MAX_ID)
        super().__init__(*args, **kwargs)


def ordering_filter(orderings: dict[str, Any], **kwargs: Any) -> django_filters.ChoiceFilter:
    """An `ordering` parameter taking the keys of `orderings` (each a list of order_by terms)."""
    return django_filters.ChoiceFilter(
        choices=[(key, key) for key in orderings],
        method=lambda qs, _name, value: qs.order_by(*orderings[value]),
        error_messages={"invalid_choice": f"Use one of {', '.join(orderings)}."}, **kwargs)


def filtered_or_400(filterset: django_filters.FilterSet) -> QuerySet[Any]:
    """The filtered queryset, or a ValidationError (400) naming each bad parameter."""
    if not filterset.is_valid():
        raise exceptions.ValidationError(
            {name: [str(m) for m in messages] for name, messages in filterset.errors.items()})
    return filterset.qs
