"""The API base: pagination, error bodies, and the tenant-scoped view mixin."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import BadRequest
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import QuerySet
from django.http import Http404
from rest_framework import exceptions, pagination, serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from apps.accounts.models import Membership, Role, Workspace
from apps.accounts.tenancy import workspace_resolve
from apps.core.quotas import QuotaExceeded


class OutputOnlyMixin:
    """For serializers that only answer: every field read-only, so the schema marks it required.

    drf-spectacular lists read-only fields as required in responses, which is true here: an
    answer always carries them.
    """

    def get_fields(self) -> dict[str, Any]:
        fields = super().get_fields()  # type: ignore[misc]
        for field in fields.values():
            field.read_only = True
        return fields


class Pagination(pagination.PageNumberPagination):
    page_size = 20
    page_size_query_param = "page_size"
    max_page_size = 200


def _validation_detail(exc: DjangoValidationError) -> Any:
    if hasattr(exc, "message_dict"):
        errors = exc.message_dict
        if set(errors) <= {"detail", "__all__"}:
            return {"detail": " ".join(m for msgs in errors.values() for m in msgs)}
        return errors
    return {"detail": " ".join(exc.messages)}


def _quota_error(exc: QuotaExceeded) -> exceptions.APIException:
    error = exceptions.APIException(str(exc))
    error.status_code = exc.status
    if exc.retry_after:
        error.wait = exc.retry_after  # DRF's handler sends it as Retry-After
    return error


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """Turn Django errors into DRF ones so every error has a JSON body a person can read."""
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(_validation_detail(exc))
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound("Not found.")
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied(str(exc) or None)
    elif type(exc) is BadRequest:
        exc = exceptions.ParseError(str(exc))
    elif isinstance(exc, QuotaExceeded):
        exc = _quota_error(exc)
    return drf_exception_handler(exc, context)


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


class BaselineSerializer(serializers.Serializer):
    """The trivial model scored on the same test split, and whether the model beats it."""

    strategy = serializers.ChoiceField(["most_frequent", "mean"])
    description = serializers.CharField()
    metric = serializers.CharField(help_text="The task's primary metric.")
    score = serializers.FloatField(allow_null=True)
    metrics = serializers.DictField(child=serializers.FloatField(allow_null=True))
    beaten = serializers.BooleanField(
        allow_null=True, help_text="false: the model is no better than the trivial one.")


def baseline_out(value: dict[str, Any] | None) -> dict[str, Any] | None:
    """The stored baseline, or None before the job ended (or for runs from before baselines)."""
    return dict(value) if value else None
