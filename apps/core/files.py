"""Stored files: every file lives under its workspace's prefix in Django's default storage."""

from __future__ import annotations

import logging
import secrets
from collections.abc import Iterable
from typing import IO, Any

from django.core.files import File
from django.core.files.storage import default_storage

log = logging.getLogger(__name__)


STORAGE_DOWN = ("The file store is not answering, so nothing was saved or read. Try again in a "
                "moment; if it goes on, an administrator should check the storage service.")
STORAGE_DOWN_IN_JOB = ("The file store stopped answering while this job read or saved its "
                       "files; nothing of it was kept. Run it again once the store is back.")


def storage_outage(exc: BaseException) -> bool:
    """Whether `exc` is the file store failing (unreachable, timing out, answering 5xx), as
    opposed to a bug of ours or a missing file."""
    try:
        from botocore.exceptions import BotoCoreError, ClientError
    except ImportError:  # pragma: no cover - boto3 is pinned in requirements/base.txt
        return False
    if isinstance(exc, BotoCoreError):
        return True
    if isinstance(exc, ClientError):
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0
        return int(status) >= 500 or exc.response.get("Error", {}).get("Code") == "NoSuchBucket"
    return False


def workspace_prefix(workspace: Any) -> str:
    """Return the storage prefix that holds all files of `workspace`."""
    return f"workspaces/{workspace.pk}"


def storage_path(workspace: Any, area: str, suffix: str) -> str:
    """Return a new random storage name under the workspace, e.g. for an upload or a model."""
    return f"{workspace_prefix(workspace)}/{area}/{secrets.token_hex(16)}{suffix}"


def storage_save(name: str, content: IO[bytes] | bytes) -> str:
    """Save bytes or a file object under `name`; return the name actually used.

    Inside a job's process the name is announced first, so a job killed while saving leaves
    no file behind (see apps.core.jobs).
    """
    from apps.core.jobs import job_file_created

    job_file_created(name)
    if isinstance(content, bytes):
        from django.core.files.base import ContentFile

        saved = default_storage.save(name, ContentFile(content))
    else:
        saved = default_storage.save(name, File(content))
    if saved != name:
        job_file_created(saved)
    return saved


def storage_delete(name: str | None) -> None:
    """Delete a stored file if it exists; never raise for a missing one."""
    if not name:
        return
    try:
        default_storage.delete(name)
    except OSError:  # already gone, or a read-only store: log, don't fail the request
        log.warning("Could not delete stored file %s", name, exc_info=True)


def storage_delete_all(names: Iterable[str | None]) -> None:
    """Delete each stored file that exists (e.g. once a deletion is committed)."""
    for name in names:
        storage_delete(name)


def storage_delete_prefix(prefix: str) -> None:
    """Delete every file under `prefix` (recursively)."""
    try:
        dirs, files = default_storage.listdir(prefix)
    except (FileNotFoundError, NotADirectoryError):
        return
    for name in files:
        storage_delete(f"{prefix}/{name}")
    for sub in dirs:
        storage_delete_prefix(f"{prefix}/{sub}")
    # FileSystemStorage leaves empty folders behind; remove them where we can.
    try:
        import os

        path = default_storage.path(prefix)
        if os.path.isdir(path) and not os.listdir(path):
            os.rmdir(path)
    except (NotImplementedError, OSError):
        pass
