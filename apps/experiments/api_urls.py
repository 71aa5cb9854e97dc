"""API routes of experiments under /api/v1/workspaces/<slug>/experiments/."""

urlpatterns: list = []
