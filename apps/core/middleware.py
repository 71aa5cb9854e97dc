"""Refuse oversized request bodies before anything reads them."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template.loader import render_to_string

from apps.core.uploads import UploadTooLarge


class RequestSizeLimitMiddleware:
    """Answer 413 for a declared body over `MAX_UPLOAD_BYTES`, for every view.

    It runs before the CSRF middleware, which would otherwise read the body first and turn the
    upload handler's refusal into a server error. Chunked bodies without a length are still
    stopped by the upload handler while streaming.
    """

    slack = 64 * 1024

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length > settings.MAX_UPLOAD_BYTES + self.slack:
            message = str(UploadTooLarge().detail)
            if request.path.startswith("/api/"):
                return JsonResponse({"detail": message}, status=413)
            html = render_to_string("413.html", {"message": message})
            return HttpResponse(html, status=413)
        return self.get_response(request)
