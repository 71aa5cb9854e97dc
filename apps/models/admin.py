from django.contrib import admin

from apps.models.models import BatchPrediction, Model


@admin.register(Model)
class ModelAdmin(admin.ModelAdmin):
    list_display = ("name", "version", "workspace", "task", "algorithm", "score", "created_at")
    list_filter = ("task", "algorithm", "created_at")
    search_fields = ("name", "target", "workspace__name", "sha256")
    readonly_fields = ("file", "sha256", "size_bytes", "library_versions", "created_at")
    raw_id_fields = ("workspace", "experiment", "created_by")


@admin.register(BatchPrediction)
class BatchPredictionAdmin(admin.ModelAdmin):
    list_display = ("pk", "model", "workspace", "status", "progress", "n_rows", "created_at")
    list_filter = ("status", "created_at")
    search_fields = ("model__name", "workspace__name", "input_name", "error")
    readonly_fields = ("input_file", "output_file", "created_at", "started_at", "finished_at",
                       "heartbeat_at")
    raw_id_fields = ("workspace", "model", "created_by")
