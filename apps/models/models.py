"""The model registry: one row per fitted pipeline, its signed bundle file in storage."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class Task(models.TextChoices):
    CLASSIFICATION = "classification", "Classification"
    REGRESSION = "regression", "Regression"


class Model(models.Model):
    """A registered model: a signed bundle (pipeline + metadata) and what it needs as input."""

    workspace = models.ForeignKey(
        "accounts.Workspace", on_delete=models.CASCADE, related_name="models"
    )
    name = models.CharField(max_length=200)
    # Increases per name within a workspace; the unique constraint settles concurrent registers.
    version = models.PositiveIntegerField(default=1)
    description = models.TextField(blank=True)
    experiment = models.OneToOneField(
        "experiments.Experiment",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="registered_model",
    )
    algorithm = models.CharField(max_length=60)
    task = models.CharField(max_length=20, choices=Task.choices)
    target = models.CharField(max_length=300)
    # [{"name", "kind", "dtype", "example"}] — the raw columns the pipeline takes, in order.
    input_schema = models.JSONField(default=list)
    classes = models.JSONField(null=True, blank=True)
    metrics = models.JSONField(default=dict, blank=True)
    primary_metric = models.CharField(max_length=40, blank=True)
    score = models.FloatField(null=True, blank=True)
    file = models.CharField(max_length=300)  # a name in default_storage, never a raw path
    sha256 = models.CharField(max_length=64)
    size_bytes = models.BigIntegerField(default=0)
    library_versions = models.JSONField(default=dict, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "name", "version"], name="unique_model_version"
            )
        ]
        indexes = [models.Index(fields=["workspace", "task", "algorithm"])]

    def __str__(self) -> str:
        return f"{self.name} v{self.version}"

    @property
    def feature_names(self) -> list[str]:
        return [col["name"] for col in self.input_schema]

    @property
    def download_name(self) -> str:
        """Return a safe file name for downloads, e.g. `iris-classifier-v3`."""
        from django.utils.text import slugify

        return f"{slugify(self.name)[:80] or 'model'}-v{self.version}"
