"""The audit log: who did what in which workspace."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class Verb(models.TextChoices):
    """Every action the audit log records: one list for the recorders and the page's filter."""

    DATASET_UPLOAD = "dataset.upload"
    DATASET_DOWNLOAD = "dataset.download"
    DATASET_RENAME = "dataset.rename"
    DATASET_DELETE = "dataset.delete"
    EXPERIMENT_RUN = "experiment.run"
    EXPERIMENT_CANCEL = "experiment.cancel"
    EXPERIMENT_DELETE = "experiment.delete"
    MODEL_REGISTER = "model.register"
    MODEL_RENAME = "model.rename"
    MODEL_DOWNLOAD = "model.download"
    MODEL_DELETE = "model.delete"
    MODEL_BATCH_PREDICT = "model.batch_predict"
    MODEL_BATCH_DOWNLOAD = "model.batch_download"
    MEMBER_INVITE = "member.invite"
    MEMBER_ROLE = "member.role"
    MEMBER_REMOVE = "member.remove"
    WORKSPACE_RENAME = "workspace.rename"


class AuditEvent(models.Model):
    workspace = models.ForeignKey(
        "accounts.Workspace", on_delete=models.CASCADE, related_name="audit_events"
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    verb = models.CharField(max_length=40, db_index=True)  # a Verb
    target = models.CharField(max_length=200, blank=True)
    detail = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.actor} {self.verb} {self.target}"
