from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "apps.core"
    label = "core"

    def ready(self) -> None:
        from django.db.models.signals import post_migrate
        from prometheus_client import REGISTRY

        from apps.core.schedules import ensure_schedules

        post_migrate.connect(ensure_schedules, sender=self)

        from apps.core.health import JobsCollector

        # ready() can run twice in some test setups; register once.
        if not getattr(REGISTRY, "_modelworks_jobs", False):
            REGISTRY.register(JobsCollector())
            REGISTRY._modelworks_jobs = True  # type: ignore[attr-defined]
