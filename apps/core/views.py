"""Workspace pages owned by core: the audit log."""

from __future__ import annotations

from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from apps.accounts.models import Role, Workspace
from apps.accounts.tenancy import workspace_view
from apps.core.models import AuditEvent, Verb

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
def audit_log(request: HttpRequest) -> HttpResponse:
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


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """Answer a malformed request: JSON under /api/, the 400 page elsewhere.

    Only our own BadRequest messages are shown; a SuspiciousOperation's text stays in the log.
    """
    from django.core.exceptions import BadRequest

    message = str(exception) if type(exception) is BadRequest else ""
    message = message or "The address or the form sent holds a value this page cannot read."
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": message}, status=400)
    return render(request, "400.html", {"exception": message}, status=400)


def page_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """Answer unknown URLs: JSON under /api/ (clients parse it), the 404 page elsewhere."""
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": "No such API endpoint or object."}, status=404)
    return render(request, "404.html", status=404)
