"""The error pages every part of the site answers with."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render


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
