"""Workspace pages owned by core (the audit log)."""

from django.urls import path

from apps.core import views

urlpatterns = [
    path("audit/", views.audit_log, name="workspace_audit"),
]
