"""The API's tenant-scoped view mixin: every workspace endpoint resolves its workspace here."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from rest_framework import exceptions
from rest_framework.request import Request

from apps.accounts.models import Membership, Role, Workspace
from apps.accounts.tenancy import workspace_resolve

# Which role each HTTP method needs unless a view says otherwise.
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


class WorkspaceScopedMixin:
    """Resolve the workspace from the URL's `slug` once per request and check the role.

    Subclasses implement `get_workspace_queryset(workspace)`; `get_queryset()` is final here, so
    no view can forget the workspace. `read_role` / `write_role` set who may do what;
    `role_for_action` (a dict action -> role) overrides per ViewSet action. Set the class's
    `queryset = Model.objects.none()` so the schema generator knows the model.
    """

    read_role: str = Role.VIEWER
    write_role: str = Role.MEMBER
    role_for_action: dict[str, str] = {}
    workspace: Workspace
    membership: Membership

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)  # type: ignore[misc]  # authn + IsAuthenticated
        self.membership = workspace_resolve(user=request.user, slug=kwargs["slug"])
        self.workspace = self.membership.workspace
        action = getattr(self, "action", None)
        needed = self.role_for_action.get(action or "") if action else None
        if needed is None:
            needed = self.read_role if request.method in SAFE_METHODS else self.write_role
        if not self.membership.has_role(needed):
            raise exceptions.PermissionDenied(
                f"Your role in this workspace is {self.membership.role}; "
                f"this needs {Role(needed).label.lower()} or above."
            )

    def get_workspace_queryset(self, workspace: Workspace) -> QuerySet[Any]:
        raise NotImplementedError

    def get_queryset(self) -> QuerySet[Any]:
        if getattr(self, "swagger_fake_view", False):
            # Schema generation has no request: the class's `queryset` (an empty .none()) is
            # only there to tell drf-spectacular the model.
            return self.queryset.none()  # type: ignore[attr-defined]
        return self.get_workspace_queryset(self.workspace)

    def get_serializer_context(self) -> dict[str, Any]:
        context = super().get_serializer_context()  # type: ignore[misc]
        if hasattr(self, "workspace"):
            context["workspace"] = self.workspace
        return context
