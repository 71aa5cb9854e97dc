from django.contrib import admin

from apps.models.models import Model


@admin.register(Model)
class ModelAdmin(admin.ModelAdmin):
    list_display = ("name", "version", "workspace", "task", "algorithm", "score", "created_at")
    list_filter = ("task", "algorithm", "created_at")
    search_fields = ("name", "target", "workspace__name", "sha256")
    readonly_fields = ("file", "sha256", "size_bytes", "library_versions", "created_at")
    raw_id_fields = ("workspace", "experiment", "created_by")
