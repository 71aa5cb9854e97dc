"""Non-tenant API routes (the algorithm catalogue)."""

from django.urls import path

from apps.core.algorithms_api import AlgorithmListApi

urlpatterns = [path("algorithms/", AlgorithmListApi.as_view(), name="api-algorithms")]
