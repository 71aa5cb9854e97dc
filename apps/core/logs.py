"""Logs an operator can search: one JSON object per line (LOG_FORMAT=json), each carrying the
request id, user and workspace of the request it belongs to (web) or the job it ran in (worker).

The context is a per-thread/task variable: `RequestContextMiddleware` opens it for each request
(the id comes from an `X-Request-ID` header a proxy set, or is made here, and is sent back in
the answer), `log_bind` adds to it where something becomes known (the workspace resolver, the
job runner), and every record logged meanwhile carries it.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

import orjson
from django.http import HttpRequest, HttpResponse

_context: ContextVar[dict[str, Any] | None] = ContextVar("modelworks_log_context", default=None)
FIELDS = ("request_id", "user", "workspace", "job")
access_log = logging.getLogger("modelworks.access")


def log_bind(**fields: Any) -> None:
    """Add fields (user, workspace, job, ...) to the current request's or job's log context."""
    current = _context.get()
    if current is None:
        _context.set({**fields})
    else:
        current.update(fields)


def log_context() -> dict[str, Any]:
    return dict(_context.get() or {})


def log_clear(previous: dict[str, Any] | None = None) -> None:
    """End the current context (back to `previous`, e.g. a request's around an inline job)."""
    _context.set(dict(previous) if previous else None)


class ContextFilter(logging.Filter):
    """Copy the current context onto every record (the JSON formatter writes it)."""

    def filter(self, record: logging.LogRecord) -> bool:
        for key, value in (_context.get() or {}).items():
            if not hasattr(record, key):
                setattr(record, key, value)
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time, level, logger, message, context, exception."""

    def format(self, record: logging.LogRecord) -> str:
        event: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "process": record.process,
        }
        for key in (*FIELDS, "method", "path", "status", "duration_ms"):
            value = getattr(record, key, None)
            if value is not None:
                event[key] = value
        if record.exc_info:
            event["exception"] = self.formatException(record.exc_info)
        return orjson.dumps(event, default=str).decode()


class RequestContextMiddleware:
    """Give each request an id and a log context, and write one access line when it ends."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        given = request.headers.get("X-Request-ID", "")
        request_id = given[:64] if given.isprintable() and given else uuid.uuid4().hex
        _context.set({"request_id": request_id})
        started = time.perf_counter()
        try:
            response = self.get_response(request)
            response["X-Request-ID"] = request_id
            user = getattr(request, "user", None)
            if user is not None and user.is_authenticated:
                log_bind(user=user.get_username())
            access_log.info("%s %s %s", request.method, request.path, response.status_code,
                            extra={"method": request.method, "path": request.path,
                                   "status": response.status_code,
                                   "duration_ms": round((time.perf_counter() - started) * 1000,
                                                        1)})
            return response
        finally:
            log_clear()
