"""API routes of models under /api/v1/workspaces/<slug>/models/."""

from rest_framework.routers import SimpleRouter

from apps.core.api_urls import api_not_found_route
from apps.models.api import ModelViewSet

router = SimpleRouter()
router.register("", ModelViewSet, basename="model")

urlpatterns = [*router.urls, api_not_found_route()]
