"""The audit log: who did what in which workspace."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class AuditEvent(models.Model):
    workspace = models.ForeignKey(
        "accounts.Workspace", on_delete=models.CASCADE, related_name="audit_events"
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    # e.g. "dataset.upload", "experiment.run", "experiment.cancel", "model.download",
    # "dataset.delete", "member.invite"
    verb = models.CharField(max_length=40, db_index=True)
    target = models.CharField(max_length=200, blank=True)
    detail = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.actor} {self.verb} {self.target}"
