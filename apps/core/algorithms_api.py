"""GET /api/v1/algorithms/: the model factory's catalogue (not paginated, not tenant data)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

# Bounds and choices a param does not have are left out (as in the contract's example),
# rather than sent as null: `"max" in spec` then means there is a maximum.
_OPTIONAL_KEYS = ("min", "max", "choices", "max_items")


class ParamSpecSerializer(serializers.Serializer):
    type = serializers.CharField(help_text="int, float, str, bool, list[int] or list[str].")
    default = serializers.JSONField(allow_null=True)
    min = serializers.FloatField(required=False, help_text="Absent when unbounded.")
    max = serializers.FloatField(required=False, help_text="Absent when unbounded.")
    nullable = serializers.BooleanField()
    choices = serializers.ListField(child=serializers.JSONField(), required=False)
    help = serializers.CharField(required=False)
    max_items = serializers.IntegerField(
        required=False, help_text="Lists: the most items allowed (absent when not a list).")


class AlgorithmSerializer(serializers.Serializer):
    key = serializers.CharField()
    task = serializers.ChoiceField(["classification", "regression"])
    family = serializers.ChoiceField(["sklearn", "keras"])
    label = serializers.CharField()  # type: ignore[assignment]  # a field named like Field.label
    params = serializers.DictField(child=ParamSpecSerializer())


def _param_out(spec: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in spec.items() if not (k in _OPTIONAL_KEYS and v is None)}


def algorithm_catalogue() -> list[dict[str, Any]]:
    """Return the engine's catalogue as the API shows it."""
    from ml.algorithms import list_algorithms

    return [
        {**entry, "params": {name: _param_out(spec) for name, spec in entry["params"].items()}}
        for entry in list_algorithms()
    ]


class AlgorithmListApi(APIView):
    pagination_class = None

    @extend_schema(responses=AlgorithmSerializer(many=True))
    def get(self, request: Request) -> Response:
        return Response(algorithm_catalogue())
