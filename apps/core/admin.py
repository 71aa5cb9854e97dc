from django.contrib import admin

from apps.core.models import AuditEvent


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    list_display = ["created_at", "workspace", "actor", "verb", "target"]
    list_filter = ["verb", "created_at"]
    search_fields = ["target", "actor__username", "workspace__name", "workspace__slug"]
    readonly_fields = ["workspace", "actor", "verb", "target", "detail", "created_at"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
