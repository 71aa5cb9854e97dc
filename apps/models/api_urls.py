"""API routes of models under /api/v1/workspaces/<slug>/models/."""

from rest_framework.routers import SimpleRouter

from apps.models.api import ModelViewSet

router = SimpleRouter()
router.register("", ModelViewSet, basename="model")

urlpatterns = router.urls
