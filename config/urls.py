"""URLs: pages, the v1 API, its schema and docs, and the operations endpoints."""

from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from apps.core.health import healthz
from apps.core.security import metrics

ws = "w/<slug:slug>/"
api_ws = "api/v1/workspaces/<slug:slug>/"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("accounts/", include("allauth.urls")),
    path("healthz", healthz, name="healthz"),
    path("metrics", metrics, name="metrics"),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="schema"), name="api-docs"),
    path("api/v1/", include("apps.core.api_urls")),
    path("api/v1/", include("apps.accounts.api_urls")),
    path(api_ws + "datasets/", include("apps.datasets.api_urls")),
    path(api_ws + "experiments/", include("apps.experiments.api_urls")),
    path(api_ws + "models/", include("apps.models.api_urls")),
    path(ws + "datasets/", include("apps.datasets.urls")),
    path(ws + "experiments/", include("apps.experiments.urls")),
    path(ws + "models/", include("apps.models.urls")),
    path("", include("apps.accounts.urls")),  # before home's w/<slug>/: it has w/new/
    path("", include("apps.home.urls")),
]
handler400 = "apps.core.views.bad_request"
handler404 = "apps.core.views.page_not_found"
