from django.apps import AppConfig


class ModelsConfig(AppConfig):
    name = "apps.models"
    label = "models"
    verbose_name = "Model registry"

    def ready(self) -> None:
        from django.db.models import Sum

        from apps.core.quotas import quota_register
        from apps.core.tasks import sweeper_register
        from apps.models.models import BatchPrediction, BatchStatus, Model

        quota_register(
            "batch_predictions",
            active_jobs=lambda ws: BatchPrediction.objects.filter(
                workspace=ws, status__in=(BatchStatus.QUEUED, BatchStatus.RUNNING)).count(),
            stored_bytes=lambda ws: Model.objects.filter(workspace=ws).aggregate(
                n=Sum("size_bytes"))["n"] or 0)
        sweeper_register("batch_predictions",
                         "apps.models.services.batch_prediction_fail_stale")
