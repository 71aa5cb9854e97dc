from django.contrib import admin

from apps.datasets.models import Dataset


@admin.register(Dataset)
class DatasetAdmin(admin.ModelAdmin):
    list_display = ("name", "workspace", "status", "n_rows", "n_columns", "size_bytes",
                    "created_by", "created_at")
    list_filter = ("status", "workspace")
    search_fields = ("name", "original_filename", "workspace__name", "created_by__username")
    readonly_fields = ("file", "parquet", "created_at", "updated_at", "started_at",
                       "heartbeat_at", "attempts")
    raw_id_fields = ("workspace", "created_by")
