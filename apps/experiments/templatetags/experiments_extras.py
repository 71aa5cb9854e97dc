"""Template filters for experiments."""

from __future__ import annotations

import functools

from django import template

register = template.Library()


@functools.cache
def _labels() -> dict[tuple[str, str], str]:
    from ml.algorithms import list_algorithms

    return {(a["key"], a["task"]): a["label"] for a in list_algorithms()}


@register.filter
def algorithm_label(key: str, task: str = "") -> str:
    """Return the algorithm's human label ("Random forest"), or the key if unknown."""
    if key == "ensemble":  # auto's weighted blend of several models
        return "Ensemble (weighted blend)"
    labels = _labels()
    return labels.get((key, task)) or next(
        (label for (k, _t), label in labels.items() if k == key), key
    )


@register.filter
def get_item(mapping: object, key: str) -> object:
    """Return mapping[key] (None when absent): `{{ metrics|get_item:name }}`."""
    return mapping.get(key) if isinstance(mapping, dict) else None
