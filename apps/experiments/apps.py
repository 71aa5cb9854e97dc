from django.apps import AppConfig


class ExperimentsConfig(AppConfig):
    name = "apps.experiments"
    label = "experiments"

    def ready(self) -> None:
        from apps.core.quotas import quota_register
        from apps.core.tasks import sweeper_register
        from apps.experiments.models import Experiment, Status

        quota_register("experiments", active_jobs=lambda ws: Experiment.objects.filter(
            workspace=ws, status__in=(Status.QUEUED, Status.RUNNING)).count())
        sweeper_register("experiments", "apps.experiments.services.experiment_fail_stale")
