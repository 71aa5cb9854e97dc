"""Cross-app writes: the audit log."""

from __future__ import annotations

from typing import Any

from apps.core.models import AuditEvent


def audit_record(
    *, workspace: Any, actor: Any, verb: str, target: Any = "", detail: dict | None = None
) -> AuditEvent:
    """Record that `actor` did `verb` (a Verb) to `target` in `workspace`."""
    from apps.core.models import Verb

    if verb not in Verb.values:
        raise ValueError(f"{verb!r} is not an audit Verb: add it to apps.core.models.Verb.")
    user = actor if getattr(actor, "is_authenticated", False) else None
    return AuditEvent.objects.create(
        workspace=workspace, actor=user, verb=verb, target=str(target)[:200], detail=detail or {}
    )
