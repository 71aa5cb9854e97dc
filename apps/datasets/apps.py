from django.apps import AppConfig


class DatasetsConfig(AppConfig):
    name = "apps.datasets"
    label = "datasets"

    def ready(self) -> None:
        from django.db.models import Sum

        from apps.core.quotas import quota_register
        from apps.core.tasks import sweeper_register
        from apps.datasets.models import Dataset, DatasetStatus

        quota_register(
            "datasets",
            active_jobs=lambda ws: Dataset.objects.filter(
                workspace=ws, status=DatasetStatus.PROCESSING).count(),
            stored_bytes=lambda ws: Dataset.objects.filter(workspace=ws).aggregate(
                n=Sum("size_bytes"))["n"] or 0)
        sweeper_register("datasets", "apps.datasets.services.dataset_fail_stale")
