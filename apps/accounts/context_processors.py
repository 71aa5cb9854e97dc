"""Template context: the user's workspaces for the switcher."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from apps.accounts.selectors import workspace_list_for_user


def workspaces(request: HttpRequest) -> dict[str, Any]:
    """Add `user_memberships` (lazy) and the current workspace, if any."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {
        "user_memberships": workspace_list_for_user(user=request.user),
        "workspace": getattr(request, "workspace", None),
        "membership": getattr(request, "membership", None),
    }
