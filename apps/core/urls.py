"""Workspace pages owned by core (the audit log)."""

from django.urls import path

urlpatterns: list = []
