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
    # The experiment's baseline (ml.evaluation.baseline), kept with the model.
    baseline = models.JSONField(default=dict, blank=True)
    file = models.CharField(max_length=300)  # a name in default_storage, never a raw path
    sha256 = models.CharField(max_length=64)
    size_bytes = models.BigIntegerField(default=0)
    library_versions = models.JSONField(default=dict, blank=True)
    # auto's ensemble: [{"member", "algorithm", "weight"}]; empty for a single model.
    ensemble = models.JSONField(default=list, blank=True)
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

    @property
    def worse_than_baseline(self) -> bool:
        """True when the model does not beat the trivial model (False when unknown)."""
        return (self.baseline or {}).get("beaten") is False


class BatchStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"


class BatchPrediction(models.Model):
    """A CSV file predicted from the batch page: in the background (too big to answer within
    one request), or at once (`inline`), kept so it is listed and can be downloaded again."""

    workspace = models.ForeignKey(
        "accounts.Workspace", on_delete=models.CASCADE, related_name="batch_predictions"
    )
    model = models.ForeignKey(Model, on_delete=models.CASCADE, related_name="batch_predictions")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    # Storage names, never raw paths. The input is deleted (and cleared) once the job ends.
    input_file = models.CharField(max_length=300, blank=True)
    input_name = models.CharField(max_length=255, blank=True)  # the uploaded file's name
    output_file = models.CharField(max_length=300, blank=True)
    status = models.CharField(
        max_length=12, choices=BatchStatus.choices, default=BatchStatus.QUEUED, db_index=True
    )
    progress = models.FloatField(default=0.0)  # 0..1
    error = models.TextField(blank=True)
    n_rows = models.PositiveIntegerField(null=True, blank=True)
    # Answered at once on the page (recorded so it is listed and can be downloaded again).
    inline = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["workspace", "model", "created_at"])]

    def __str__(self) -> str:
        return f"batch prediction {self.pk} of model {self.model_id}"

    @property
    def is_ended(self) -> bool:
        return self.status in (BatchStatus.SUCCEEDED, BatchStatus.FAILED)

    @property
    def percent(self) -> int:
        return round(max(0.0, min(1.0, self.progress or 0.0)) * 100)


class ServingProcess(models.Model):
    """A web process that serves predictions, and the models it holds loaded.

    Its model warmer writes the row (at start, whenever what it holds changes, and every few
    seconds as a sign of life). A finished experiment waits, briefly and boundedly, until every
    live serving process holds its new model, so the first prediction after "succeeded" is not
    the one that loads it. Bookkeeping of processes, not tenant data: it names model ids only.
    """

    name = models.CharField(max_length=200, unique=True, help_text="host:pid")
    seen_at = models.DateTimeField(db_index=True)
    loaded = models.JSONField(default=list, help_text="Ids of the models in its cache.")

    def __str__(self) -> str:
        return f"serving process {self.name}"
