"""Refuse oversized bodies and unreadable addresses before anything reads them."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template.loader import render_to_string
from django.urls import Resolver404, resolve

from apps.core.uploads import UploadTooLarge, _human_bytes

# Routes that take a file upload (multipart) up to MAX_UPLOAD_BYTES.
UPLOAD_ROUTES = frozenset({"api-datasets", "model-predict", "datasets:upload", "models:batch"})
# Routes that take a large JSON body (prediction rows) up to DATA_UPLOAD_MAX_MEMORY_SIZE.
JSON_ROUTES = frozenset({"model-predict"})


def body_limit(request: HttpRequest) -> tuple[int, str]:
    """Return the largest body this request's route accepts, and what to say past it."""
    try:
        route = resolve(request.path_info).view_name
    except Resolver404:
        route = ""
    content_type = request.META.get("CONTENT_TYPE", "")
    if route in UPLOAD_ROUTES and content_type.startswith("multipart/"):
        # Multipart framing around the file, as the upload handler allows.
        return settings.MAX_UPLOAD_BYTES + 64 * 1024, str(UploadTooLarge().detail)
    if route in JSON_ROUTES:
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        return limit, (
            f"The request body is larger than the {_human_bytes(limit)} JSON bodies are "
            "limited to. Send fewer rows per call, or upload a CSV file."
        )
    limit = settings.MAX_REQUEST_BYTES
    return limit, (
        f"The request body is larger than the {_human_bytes(limit)} this address accepts."
    )


class RequestGuardMiddleware:
    """Answer 413 for a declared body over what its route accepts, before it is read.

    Only file uploads may be big (MAX_UPLOAD_BYTES), and prediction rows as JSON
    (DATA_UPLOAD_MAX_MEMORY_SIZE); every other body, anonymous or not, is limited to
    MAX_REQUEST_BYTES, so no request can make a web process read and parse hundreds of
    megabytes. It runs before the CSRF middleware, which would otherwise read the body first.
    A body without a length is not read by Django at all; chunked uploads are still stopped by
    the upload handler while streaming.

    An address whose path or query string holds a NUL character is a 400 here: PostgreSQL
    refuses NUL in a string, so it would otherwise surface as a server error in any filter.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        query = request.META.get("QUERY_STRING", "")
        if "\x00" in request.path_info or "%00" in query or "\x00" in query:
            return _refuse(request, 400, "The address holds a NUL character.")
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return _refuse(request, 400, "The Content-Length header is not a number.")
        smallest = min(settings.MAX_REQUEST_BYTES, settings.MAX_UPLOAD_BYTES,
                       settings.DATA_UPLOAD_MAX_MEMORY_SIZE or settings.MAX_REQUEST_BYTES)
        if length > smallest:  # only then is the route looked up
            limit, message = body_limit(request)
            if length > limit:
                return _refuse(request, 413, message)
        return self.get_response(request)


def _refuse(request: HttpRequest, status: int, message: str) -> HttpResponse:
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": message}, status=status)
    title = {413: "Request too large", 503: "Service unavailable"}.get(status, "Bad request")
    html = render_to_string("413.html", {"message": message, "title": title})
    return HttpResponse(html, status=status)


class StorageOutageMiddleware:
    """A page whose view met a file store that does not answer gets a 503 that says so."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exc: Exception) -> HttpResponse | None:
        from apps.core.files import STORAGE_DOWN, storage_outage

        if not storage_outage(exc):
            return None
        response = _refuse(request, 503, STORAGE_DOWN)
        response["Retry-After"] = "30"
        return response
