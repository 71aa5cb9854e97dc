"""Non-tenant API routes (the algorithm catalogue) and the JSON 404 for unknown API paths."""

from typing import Any

from django.urls import path, re_path
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.core.algorithms_api import AlgorithmListApi


# Here rather than in apps.core.api: that module is DRF's pagination setting, and decorating a
# view there at import time would import the schema machinery in a cycle.
@extend_schema(exclude=True)
class ApiNotFound(APIView):
    """Answer a JSON 404 for an API path that names no endpoint (not Django's HTML page)."""

    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        raise exceptions.NotFound("No such API endpoint or object.")

    post = put = patch = delete = get


def api_not_found_route(exclude: str = "") -> Any:
    """Return a catch-all route for the end of an API urlconf (`exclude`: a prefix regex)."""
    prefix = f"(?!{exclude})" if exclude else ""
    # Only paths ending in a slash: without one, APPEND_SLASH still redirects to the endpoint.
    return re_path(rf"^{prefix}.*/$", ApiNotFound.as_view())


urlpatterns = [path("algorithms/", AlgorithmListApi.as_view(), name="api-algorithms")]
