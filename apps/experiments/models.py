"""An experiment is one training job: its config, its state while it runs, and its results."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class Status(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"
    # An auto or tuning job asked to stop early that kept its leaderboard and best model.
    STOPPED = "stopped", "Stopped (best kept)"


ENDED = (Status.SUCCEEDED, Status.FAILED, Status.CANCELLED, Status.STOPPED)
# Ended with a registered model and results to show.
WITH_RESULTS = (Status.SUCCEEDED, Status.STOPPED)


def is_search(algorithm: str, config: dict | None) -> bool:
    """An auto or tuning job: one that tries several models and keeps the best."""
    return algorithm == "auto" or bool((config or {}).get("tuning"))


class Experiment(models.Model):
    workspace = models.ForeignKey(
        "accounts.Workspace", on_delete=models.CASCADE, related_name="experiments"
    )
    dataset = models.ForeignKey(
        "datasets.Dataset", null=True, on_delete=models.SET_NULL, related_name="experiments"
    )
    name = models.CharField(max_length=200, blank=True)
    target = models.CharField(max_length=500)
    # "auto" until the data says which; the resolved task is stored at creation.
    task = models.CharField(max_length=20, default="auto")
    algorithm = models.CharField(max_length=50)
    params = models.JSONField(default=dict, blank=True)
    # The whole normalised request body; the job rebuilds its TrainConfig from it.
    config = models.JSONField(default=dict, blank=True)

    status = models.CharField(
        max_length=20, choices=Status.choices, default=Status.QUEUED, db_index=True
    )
    progress = models.FloatField(default=0.0)
    error = models.TextField(blank=True, default="")
    log = models.JSONField(default=list, blank=True)

    metrics = models.JSONField(default=dict, blank=True)
    cv_metrics = models.JSONField(default=dict, blank=True)
    # Seconds per phase: load, preprocess_and_fit, evaluate, importance, plots, save.
    timings = models.JSONField(default=dict, blank=True)
    history = models.JSONField(default=list, blank=True)
    leaderboard = models.JSONField(default=list, blank=True)
    best_params = models.JSONField(default=dict, blank=True)
    feature_importance = models.JSONField(default=list, blank=True)
    plots = models.JSONField(default=list, blank=True)  # [{"name", "file"}] storage names
    # The trivial model on the same split: {"strategy", "description", "metric", "score",
    # "metrics", "beaten"} (ml.evaluation.baseline); empty before the job ends.
    baseline = models.JSONField(default=dict, blank=True)
    # The task's primary metric, oriented so that higher is better (for ?ordering=-score).
    score = models.FloatField(null=True, blank=True, db_index=True)

    # Reliability: our own delivery count and a liveness timestamp (django-q2 #327).
    attempts = models.PositiveIntegerField(default=0)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    cancel_requested = models.BooleanField(default=False)
    # "Stop and keep the best so far": the search ends early and its best model is kept.
    stop_requested = models.BooleanField(default=False)
    task_id = models.CharField(max_length=64, blank=True, default="")

    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["workspace", "status"])]

    def __str__(self) -> str:
        return self.name or f"Experiment {self.pk}"

    @property
    def is_ended(self) -> bool:
        return self.status in ENDED

    @property
    def has_results(self) -> bool:
        return self.status in WITH_RESULTS

    @property
    def is_search(self) -> bool:
        """An auto or tuning job, which can stop early and keep its best model."""
        return is_search(self.algorithm, self.config)

    @property
    def duration_s(self) -> float | None:
        """Seconds from start to finish (or until now while running)."""
        if self.started_at is None:
            return None
        if self.finished_at is None:
            if self.status != Status.RUNNING:
                return None
            from django.utils import timezone

            return round((timezone.now() - self.started_at).total_seconds(), 3)
        return round((self.finished_at - self.started_at).total_seconds(), 3)

    @property
    def worse_than_baseline(self) -> bool:
        """True when the model does not beat the trivial model (False when unknown)."""
        return (self.baseline or {}).get("beaten") is False
