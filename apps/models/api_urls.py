"""API routes of models under /api/v1/workspaces/<slug>/models/."""

urlpatterns: list = []
