"""Django admin for experiments: find a job, read its log and error (tracebacks for staff)."""

from django.contrib import admin

from apps.experiments.models import Experiment


@admin.register(Experiment)
class ExperimentAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "name",
        "workspace",
        "algorithm",
        "task",
        "status",
        "score",
        "created_by",
        "created_at",
    ]
    list_filter = ["status", "task", "algorithm", "created_at"]
    search_fields = [
        "name",
        "target",
        "algorithm",
        "workspace__name",
        "workspace__slug",
        "created_by__username",
    ]
    list_select_related = ["workspace", "created_by"]
    readonly_fields = [
        "workspace",
        "dataset",
        "created_by",
        "created_at",
        "started_at",
        "finished_at",
        "heartbeat_at",
        "attempts",
        "task_id",
        "progress",
        "metrics",
        "cv_metrics",
        "history",
        "leaderboard",
        "best_params",
        "feature_importance",
        "plots",
        "score",
        "log",
        "error",
        "config",
    ]
