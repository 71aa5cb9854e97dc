"""Helpers for dataset tests: upload through the API with processing run inline."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile


def api_url(workspace: Any, suffix: str = "") -> str:
    return f"/api/v1/workspaces/{workspace.slug}/datasets/{suffix}"


def page_url(workspace: Any, suffix: str = "") -> str:
    return f"/w/{workspace.slug}/datasets/{suffix}"


def files_under(*folders: str | Path) -> set[str]:
    """Return every file path under the folders (to prove nothing was left behind)."""
    found: set[str] = set()
    for folder in folders:
        for root, _dirs, names in os.walk(folder):
            found.update(os.path.join(root, n) for n in names)
    return found


@pytest.fixture
def stored_files(settings: Any) -> Callable[[], set[str]]:
    """Return a function listing the files in storage and in the upload temp folder."""
    location = settings.STORAGES["default"]["OPTIONS"]["location"]
    return lambda: files_under(location, settings.FILE_UPLOAD_TEMP_DIR)


@pytest.fixture
def upload(api: Any, workspace: Any, django_capture_on_commit_callbacks: Any) -> Callable:
    """Upload bytes as `filename` through the API, processing inline; return the response."""

    def do(content: bytes, filename: str = "data.csv", client: Any = None, **extra: Any) -> Any:
        client = client or api
        body = {"file": SimpleUploadedFile(filename, content, content_type="text/csv"), **extra}
        with django_capture_on_commit_callbacks(execute=True):
            return client.post(api_url(workspace), body, format="multipart")

    return do
