"""API routes of datasets under /api/v1/workspaces/<slug>/datasets/."""

urlpatterns: list = []
