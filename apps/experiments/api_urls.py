"""API routes of experiments under /api/v1/workspaces/<slug>/experiments/."""

from django.urls import path

from apps.experiments import api

urlpatterns = [
    path("", api.ExperimentListApi.as_view(), name="api-experiments"),
    path("<int:pk>/", api.ExperimentDetailApi.as_view(), name="api-experiment"),
    path("<int:pk>/cancel/", api.ExperimentCancelApi.as_view(), name="api-experiment-cancel"),
    path("<int:pk>/export/", api.ExperimentExportApi.as_view(), name="api-experiment-export"),
    path("<int:pk>/plots/<str:name>/", api.ExperimentPlotApi.as_view(),
         name="api-experiment-plot"),
]
