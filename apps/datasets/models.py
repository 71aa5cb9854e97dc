"""An uploaded CSV file, its Parquet copy and what we learned about its columns."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class DatasetStatus(models.TextChoices):
    PROCESSING = "processing", "Processing"
    READY = "ready", "Ready"
    FAILED = "failed", "Failed"


class Dataset(models.Model):
    workspace = models.ForeignKey(
        "accounts.Workspace", on_delete=models.CASCADE, related_name="datasets"
    )
    name = models.CharField(max_length=200)
    # The user's file name, shown as text only; the stored name is random (see `file`).
    original_filename = models.CharField(max_length=255, blank=True)
    file = models.CharField(max_length=255, help_text="Storage name of the uploaded CSV.")
    parquet = models.CharField(max_length=255, blank=True, help_text="Storage name of the Parquet.")
    status = models.CharField(
        max_length=12, choices=DatasetStatus.choices, default=DatasetStatus.PROCESSING,
        db_index=True,
    )
    error = models.TextField(null=True, blank=True)
    n_rows = models.PositiveBigIntegerField(null=True, blank=True)
    n_columns = models.PositiveIntegerField(null=True, blank=True)
    size_bytes = models.PositiveBigIntegerField(default=0)
    # [{"name", "dtype", "kind", "n_missing", "n_unique"}]
    columns = models.JSONField(default=list, blank=True)
    # {"missing_cells", "duplicate_rows", "warnings": [...]}
    quality = models.JSONField(default=dict, blank=True)
    # The whole ml.validation profile, with stats and histograms per column.
    profile = models.JSONField(default=dict, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)
    # Written by the worker outside any transaction so the sweeper can spot a dead worker.
    started_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["workspace", "-created_at"])]

    def __str__(self) -> str:
        return self.name

    @property
    def is_finished(self) -> bool:
        return self.status != DatasetStatus.PROCESSING
