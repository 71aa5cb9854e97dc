"""The answer to a login attempt while its address is locked out (django-axes)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render


def lockout_response(request: HttpRequest, original_response: Any = None,
                     credentials: Any = None) -> HttpResponse:
    """429 with Retry-After: JSON under /api/, the sign-in page's own message elsewhere."""
    from axes.helpers import get_cool_off

    cool_off = get_cool_off(request)
    seconds = int(cool_off.total_seconds()) if cool_off else 3600
    minutes = max(1, round(seconds / 60))
    message = (f"Too many failed sign-in attempts from this address. Try again in {minutes} "
               f"minute{'s' if minutes != 1 else ''}, or reset your password.")
    if request.path.startswith("/api/"):
        response: HttpResponse = JsonResponse({"detail": message}, status=429)
    else:
        response = render(request, "429.html", {"message": message}, status=429)
    response["Retry-After"] = str(seconds)
    return response
