"""The workspace's dashboard and audit log."""

from django.urls import path

from apps.home import views

urlpatterns = [
    path("w/<slug:slug>/", views.dashboard, name="workspace_dashboard"),
    path("w/<slug:slug>/audit/", views.audit_log, name="workspace_audit"),
]
