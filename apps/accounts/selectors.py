"""Tenant-scoped reads for accounts."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from apps.accounts.models import ApiToken, Membership, Workspace
from apps.accounts.tenancy import require_workspace


def workspace_list_for_user(*, user: Any) -> QuerySet[Membership]:
    """Return the user's memberships (with their workspaces), by workspace name."""
    return Membership.objects.filter(user=user).select_related("workspace")


def membership_list(*, workspace: Workspace) -> QuerySet[Membership]:
    """Return a workspace's memberships with their users."""
    return (
        require_workspace(workspace).memberships.select_related("user").order_by("user__username")
    )


def membership_get(*, workspace: Workspace, username: str) -> Membership:
    """Return the membership of `username` in the workspace, or raise Membership.DoesNotExist."""
    return membership_list(workspace=workspace).get(user__username=username)


def token_list(*, user: Any) -> QuerySet[ApiToken]:
    """Return a user's API tokens, newest first."""
    return ApiToken.objects.filter(user=user)
