"""The workspace's own pages that read every app: the dashboard and the audit log."""

from __future__ import annotations

from django.conf import settings
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from apps.accounts.models import Role, Workspace
from apps.accounts.tenancy import WorkspaceRequest, workspace_view
from apps.core.models import AuditEvent, Verb
from apps.core.quotas import storage_summary, workspace_active_jobs
from apps.home.selectors import dashboard_summary


@workspace_view()
def dashboard(request: WorkspaceRequest) -> HttpResponse:
    summary = dashboard_summary(workspace=request.workspace)
    return render(request, "accounts/dashboard.html", {
        "summary": summary, "storage": storage_summary(workspace=request.workspace),
        "active_jobs": workspace_active_jobs(workspace=request.workspace),
        "max_jobs": settings.WORKSPACE_MAX_ACTIVE_JOBS or None})


AUDIT_PAGE_SIZE = 50

def _audit_events(*, workspace: Workspace, verb: str = "") -> QuerySet[AuditEvent]:
    """Return the workspace's audit events, newest first, optionally of one verb."""
    qs = AuditEvent.objects.filter(workspace=workspace).select_related("actor")
    if verb:
        qs = qs.filter(verb=verb)
    return qs.order_by("-created_at", "-pk")


def _verb_choices(*, workspace: Workspace) -> list[str]:
    """Return the known verbs plus any other verb recorded in this workspace, sorted."""
    recorded = AuditEvent.objects.filter(workspace=workspace).values_list("verb", flat=True)
    return sorted(set(Verb.values) | set(recorded.distinct()))


@workspace_view(role=Role.ADMIN)
@require_GET
def audit_log(request: WorkspaceRequest) -> HttpResponse:
    """Show who did what in the workspace, newest first, filterable by verb."""
    verb = request.GET.get("verb", "").strip()[:40]
    events = _audit_events(workspace=request.workspace, verb=verb)
    page = Paginator(events, AUDIT_PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "page": page,
        "verb": verb,
        "verbs": _verb_choices(workspace=request.workspace),
    }
    return render(request, "core/audit.html", context)


