"""The one place that answers "which workspace, and what may this user do in it".

Pages (`workspace_view`) and the API (`apps.accounts.api_scoping.WorkspaceScopedMixin`) both call
`workspace_resolve`, so a non-member always gets the same 404 as a missing workspace.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest
from django.http.response import HttpResponseBase

from apps.accounts.models import Membership, Role, Workspace
from apps.core.logs import log_bind

if TYPE_CHECKING:
    from django_htmx.middleware import HtmxDetails


class WorkspaceRequest(HttpRequest):
    """A page request inside a workspace, as `workspace_view` hands it to the view.

    For type checking only: the object is Django's own request, given these attributes by
    `workspace_view` (workspace, membership) and django-htmx's middleware (htmx).
    """

    workspace: Workspace
    membership: Membership
    htmx: HtmxDetails


def workspace_resolve(*, user: Any, slug: str) -> Membership:
    """Return the user's membership in the workspace `slug`, or raise Http404."""
    if not getattr(user, "is_authenticated", False):
        raise Http404("No such workspace.")
    try:
        # (user, workspace) is unique and so is the slug: at most one row, no ordering needed.
        membership = Membership.objects.select_related("workspace").get(
            user=user, workspace__slug=slug
        )
    except Membership.DoesNotExist:
        raise Http404("No such workspace.") from None
    membership.user = user  # already loaded by authentication; saves a join
    log_bind(user=user.get_username(), workspace=slug)
    return membership


def require_role(membership: Membership, role: str) -> None:
    """Raise PermissionDenied unless the membership has at least `role`."""
    if not membership.has_role(role):
        raise PermissionDenied(
            "Your role in this workspace is "
            f"{membership.role}; this needs {Role(role).label.lower()} or above."
        )


def workspace_view(
    *, role: str = Role.VIEWER, write_role: str = Role.MEMBER
) -> Callable[[Callable[..., HttpResponseBase]], Callable[..., HttpResponseBase]]:
    """Decorate a page view taking `slug`: resolve the workspace and check the role.

    GET/HEAD need `role`; other methods need `write_role`. The view receives
    `request.workspace` and `request.membership`.
    """

    def decorator(view: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
        @login_required
        @functools.wraps(view)
        def wrapper(
            request: HttpRequest, slug: str, *args: Any, **kwargs: Any
        ) -> HttpResponseBase:
            membership = workspace_resolve(user=request.user, slug=slug)
            needed = role if request.method in ("GET", "HEAD", "OPTIONS") else write_role
            require_role(membership, needed)
            request.membership = membership  # type: ignore[attr-defined]  # WorkspaceRequest
            request.workspace = membership.workspace  # type: ignore[attr-defined]
            return view(request, *args, **kwargs)

        return wrapper

    return decorator


def require_workspace(workspace: Any) -> Workspace:
    """Return `workspace`, or raise TypeError: tenant reads never run without one.

    `filter(workspace=None)` would quietly match nothing (or, with a bad join, too much);
    failing loudly makes a forgotten workspace a bug found in tests, not in production.
    """
    if not isinstance(workspace, Workspace):
        raise TypeError(f"A workspace is required, got {type(workspace).__name__}.")
    return workspace
