"""Warm a new web process's request path before it serves its first caller.

The first request a process answers pays for what Django, DRF and the apps set up on first use
(URL patterns compiled, renderers, parsers, the token query, middleware instances): ~0.4 s on
these machines, measured as a first prediction 20-30x slower than the next. One internal
request with a token that cannot exist takes that path and ends in a 401 before any
throttle, write or workspace is touched.
"""

from __future__ import annotations

import io
import logging
import sys
from typing import Any

logger = logging.getLogger(__name__)

WARM_PATH = "/api/v1/workspaces/warm-up/models/1/predict/"


def warm_request_path(application: Any) -> int | None:
    """Send one request through `application` in-process; return its status (None on error)."""
    body = b'{"rows": [{}]}'
    environ = {
        "REQUEST_METHOD": "POST", "PATH_INFO": WARM_PATH, "QUERY_STRING": "",
        "SERVER_NAME": "localhost", "SERVER_PORT": "80", "HTTP_HOST": "localhost",
        "REMOTE_ADDR": "127.0.0.1", "wsgi.url_scheme": "http", "wsgi.input": io.BytesIO(body),
        "wsgi.errors": sys.stderr, "CONTENT_TYPE": "application/json",
        "CONTENT_LENGTH": str(len(body)),
        "HTTP_AUTHORIZATION": "Token warm-up-not-a-token",
    }
    status: list[str] = []
    request_log = logging.getLogger("django.request")
    level = request_log.level
    request_log.setLevel(logging.ERROR)  # its expected 401 is not a warning worth logging
    try:
        chunks = application(environ, lambda s, _headers, _exc=None: status.append(s))
        b"".join(chunks)
        if hasattr(chunks, "close"):
            chunks.close()
    except Exception:  # noqa: BLE001 - best effort: serving goes on without it
        logger.exception("Warming the request path failed")
        return None
    finally:
        request_log.setLevel(level)
    return int(status[0].split()[0]) if status else None
