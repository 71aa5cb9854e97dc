"""API: datasets under /api/v1/workspaces/<slug>/datasets/ (see the contract's "Datasets")."""

from __future__ import annotations

from typing import Any

from django.http import StreamingHttpResponse
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
    inline_serializer,
)
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from apps.accounts.api_scoping import WorkspaceScopedMixin
from apps.core.params import int_param
from apps.core.renderers import FastJSONParser
from apps.datasets.exports import dataset_csv_response
from apps.datasets.models import Dataset
from apps.datasets.selectors import (
    PREVIEW_DEFAULT_ROWS,
    PREVIEW_MAX_ROWS,
    dataset_list,
    dataset_preview,
)
from apps.datasets.services import dataset_create, dataset_delete, dataset_rename


class ColumnSerializer(serializers.Serializer):
    name = serializers.CharField()
    dtype = serializers.CharField()
    kind = serializers.ChoiceField(
        choices=["numeric", "categorical", "boolean", "datetime", "text"]
    )
    n_missing = serializers.IntegerField()
    n_unique = serializers.IntegerField()


class QualityWarningSerializer(serializers.Serializer):
    column = serializers.CharField(allow_null=True)
    code = serializers.CharField()
    message = serializers.CharField()
    severity = serializers.CharField(required=False)


class QualitySerializer(serializers.Serializer):
    missing_cells = serializers.IntegerField()
    duplicate_rows = serializers.IntegerField()
    warnings = QualityWarningSerializer(many=True)


class DatasetSerializer(serializers.ModelSerializer):
    columns = ColumnSerializer(many=True, read_only=True)
    quality = serializers.SerializerMethodField()
    created_by: serializers.SlugRelatedField = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True)

    class Meta:
        model = Dataset
        fields = ["id", "name", "status", "error", "n_rows", "n_columns", "size_bytes",
                  "created_at", "columns", "quality", "original_filename", "created_by"]
        read_only_fields = fields

    @extend_schema_field(QualitySerializer(allow_null=True))
    def get_quality(self, obj: Dataset) -> dict[str, Any] | None:
        # Filled once the dataset is ready.
        return obj.quality or None


class DatasetUploadSerializer(serializers.Serializer):
    file = serializers.FileField(allow_empty_file=True)
    name = serializers.CharField(max_length=200, required=False, allow_blank=True)


class DatasetRenameSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200)


PreviewSerializer = inline_serializer(
    "DatasetPreview",
    {
        "columns": serializers.ListField(child=serializers.CharField()),
        "rows": serializers.ListField(child=serializers.ListField(child=serializers.JSONField())),
    },
)


class DatasetViewSet(
    WorkspaceScopedMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    """Upload, list, read, preview, rename, export and delete a workspace's datasets."""

    queryset = Dataset.objects.none()
    serializer_class = DatasetSerializer

    def get_workspace_queryset(self, workspace: Any) -> Any:
        return dataset_list(workspace=workspace)

    parser_classes = [MultiPartParser, FormParser, FastJSONParser]

    @extend_schema(
        request={"multipart/form-data": DatasetUploadSerializer},
        responses={
            201: DatasetSerializer,
            400: OpenApiResponse(description="Not a CSV file, or no file."),
            413: OpenApiResponse(description="Larger than the upload limit."),
        },
    )
    def create(self, request: Request, slug: str) -> Response:
        data = DatasetUploadSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        dataset = dataset_create(
            workspace=self.workspace, user=request.user,
            upload=data.validated_data["file"], name=data.validated_data.get("name"),
        )
        return Response(DatasetSerializer(dataset).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=DatasetRenameSerializer, responses=DatasetSerializer)
    def partial_update(self, request: Request, slug: str, pk: str) -> Response:
        dataset = self.get_object()
        data = DatasetRenameSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        dataset_rename(dataset=dataset, user=request.user, name=data.validated_data["name"])
        return Response(DatasetSerializer(dataset).data)

    @extend_schema(responses={204: None})
    def destroy(self, request: Request, slug: str, pk: str) -> Response:
        dataset_delete(dataset=self.get_object(), user=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "rows", int, description=f"How many rows (default {PREVIEW_DEFAULT_ROWS}, "
                f"at most {PREVIEW_MAX_ROWS})."
            )
        ],
        responses=PreviewSerializer,
    )
    @action(detail=True, methods=["get"])
    def preview(self, request: Request, slug: str, pk: str) -> Response:
        dataset = self.get_object()
        rows = _rows_param(request.query_params)
        return Response(dataset_preview(dataset=dataset, rows=rows))

    @extend_schema(
        responses={(200, "text/csv"): OpenApiResponse(description="The dataset as CSV.")}
    )
    @action(detail=True, methods=["get"])
    def download(self, request: Request, slug: str, pk: str) -> StreamingHttpResponse:
        return dataset_csv_response(dataset=self.get_object(), user=request.user)


def _rows_param(params: Any) -> int:
    """?rows= as apps.core.params reads it, refused as a field error naming `rows`."""
    from django.core.exceptions import BadRequest
    from rest_framework.exceptions import ValidationError

    try:
        return int_param(params, "rows", PREVIEW_DEFAULT_ROWS, low=1, high=PREVIEW_MAX_ROWS)
    except BadRequest:
        raise ValidationError({"rows": ["Give a whole number of rows."]}) from None
