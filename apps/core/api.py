"""The API base: pagination, error bodies, shared serializers (the tenant-scoped view mixin
is apps.accounts.api_scoping's: tenancy lives with the workspaces)."""

from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import BadRequest
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from rest_framework import exceptions, pagination, serializers
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from apps.core.files import STORAGE_DOWN, storage_outage
from apps.core.quotas import QuotaExceeded

log = logging.getLogger(__name__)


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


class _QuotaError(exceptions.APIException):
    wait: float | None = None  # DRF's handler sends it as Retry-After


def _quota_error(exc: QuotaExceeded) -> exceptions.APIException:
    error = _QuotaError(str(exc))
    error.status_code = exc.status
    if exc.retry_after:
        error.wait = exc.retry_after
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
    elif storage_outage(exc):
        log.warning("File store unavailable: %s", exc)
        return Response({"detail": STORAGE_DOWN}, status=503, headers={"Retry-After": "30"})
    return drf_exception_handler(exc, context)


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
