"""Per-workspace quotas: jobs waiting or running, and bytes stored.

One workspace cannot fill the queue or the disk for everyone else: past
WORKSPACE_MAX_ACTIVE_JOBS a new job is refused with 429 and Retry-After (the API) or a
message (the pages); past WORKSPACE_MAX_STORAGE_BYTES uploads and training are refused. 0 turns
either off. The checks are soft (two requests at the same instant may both pass); they bound
what one tenant can do, not the last byte.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.conf import settings


class QuotaExceeded(Exception):
    """A workspace is at one of its limits; `status` is the HTTP answer (429 or 413)."""

    def __init__(self, message: str, *, status: int, retry_after: int | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.retry_after = retry_after


# Each app that runs jobs or stores files counts its own (registered in its AppConfig.ready):
# this module, on the ground floor, imports none of them.
_ACTIVE_JOBS: dict[str, Callable[[Any], int]] = {}
_STORED_BYTES: dict[str, Callable[[Any], int]] = {}


def quota_register(name: str, *, active_jobs: Callable[[Any], int] | None = None,
                   stored_bytes: Callable[[Any], int] | None = None) -> None:
    """Count `name`'s queued or running jobs and its stored bytes for a workspace's quotas."""
    if active_jobs is not None:
        _ACTIVE_JOBS[name] = active_jobs
    if stored_bytes is not None:
        _STORED_BYTES[name] = stored_bytes


def workspace_active_jobs(*, workspace: Any) -> int:
    """Count the workspace's jobs that are queued or running, of every kind."""
    return sum(count(workspace) for count in _ACTIVE_JOBS.values())


def workspace_stored_bytes(*, workspace: Any) -> int:
    """Bytes the workspace stores: its uploaded datasets and its model files."""
    return sum(int(count(workspace) or 0) for count in _STORED_BYTES.values())


def quota_check_jobs(*, workspace: Any) -> None:
    """Raise QuotaExceeded (429) when the workspace may not start another job now."""
    limit = settings.WORKSPACE_MAX_ACTIVE_JOBS
    if limit and workspace_active_jobs(workspace=workspace) >= limit:
        raise QuotaExceeded(
            f"This workspace already has {limit} jobs queued or running, its limit. Wait for "
            "one to finish (or cancel one), then try again.", status=429, retry_after=30)


def quota_check_storage(*, workspace: Any, adding: int = 0) -> None:
    """Raise QuotaExceeded (413) when storing `adding` more bytes would pass the limit."""
    limit = settings.WORKSPACE_MAX_STORAGE_BYTES
    if not limit:
        return
    used = workspace_stored_bytes(workspace=workspace)
    if used + adding > limit:
        from apps.core.uploads import _human_bytes

        raise QuotaExceeded(
            f"This workspace stores {_human_bytes(used)} of its {_human_bytes(limit)} "
            f"limit{f', and this file is {_human_bytes(adding)}' if adding else ''}. Delete "
            "datasets or models you no longer need, or ask an administrator to raise "
            "WORKSPACE_MAX_STORAGE_BYTES.", status=413)


def storage_summary(*, workspace: Any) -> dict[str, Any]:
    """Used and allowed bytes, for the dashboard."""
    limit = settings.WORKSPACE_MAX_STORAGE_BYTES
    used = workspace_stored_bytes(workspace=workspace)
    return {"used": used, "limit": limit or None,
            "pct": round(100 * used / limit, 1) if limit else None}
