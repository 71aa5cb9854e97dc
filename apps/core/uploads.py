"""Upload handling: stream to a temporary file and stop early past the size limit."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.files.uploadhandler import TemporaryFileUploadHandler
from rest_framework import status
from rest_framework.exceptions import APIException


class UploadTooLarge(APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "too_large"

    def __init__(self, limit: int | None = None) -> None:
        limit = limit or settings.MAX_UPLOAD_BYTES
        super().__init__(
            f"The file is larger than the upload limit of {_human_bytes(limit)}. "
            "Split it or ask an administrator to raise MAX_UPLOAD_BYTES."
        )


def _human_bytes(size: int) -> str:
    n = float(size)
    for unit in ("bytes", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n} bytes"


class LimitedTemporaryFileUploadHandler(TemporaryFileUploadHandler):
    """Stream each upload to a temp file; refuse bodies over `MAX_UPLOAD_BYTES`.

    The check runs on Content-Length before anything is written, and again on every chunk
    (for chunked bodies); the partial temp file is closed, which deletes it.
    """

    # Multipart framing and small form fields around the file.
    _slack = 64 * 1024

    def handle_raw_input(self, input_data: Any, META: Any, content_length: int, *a: Any) -> None:
        if content_length and content_length > settings.MAX_UPLOAD_BYTES + self._slack:
            raise UploadTooLarge()
        self._received = 0
        return None

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes | None:
        self._received = start + len(raw_data)
        if self._received > settings.MAX_UPLOAD_BYTES:
            self.file.close()
            raise UploadTooLarge()
        return super().receive_data_chunk(raw_data, start)
