"""API routes of datasets under /api/v1/workspaces/<slug>/datasets/."""

from django.urls import path

from apps.datasets.api import DatasetViewSet

datasets = DatasetViewSet.as_view({"get": "list", "post": "create"})
dataset = DatasetViewSet.as_view(
    {"get": "retrieve", "patch": "partial_update", "delete": "destroy"}
)

urlpatterns = [
    path("", datasets, name="api-datasets"),
    path("<int:pk>/", dataset, name="api-dataset"),
    path("<int:pk>/preview/", DatasetViewSet.as_view({"get": "preview"}),
         name="api-dataset-preview"),
    path("<int:pk>/download/", DatasetViewSet.as_view({"get": "download"}),
         name="api-dataset-download"),
]
