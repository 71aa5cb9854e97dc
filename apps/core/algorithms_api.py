"""GET /api/v1/algorithms/: the model factory's catalogue (not paginated, not tenant data)."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView


class AlgorithmListApi(APIView):
    @extend_schema(
        responses=OpenApiResponse(
            description='A list of {"key","task","family","label","params"} (not paginated).'
        )
    )
    def get(self, request: Request) -> Response:
        from ml.algorithms import list_algorithms

        return Response(list_algorithms())
