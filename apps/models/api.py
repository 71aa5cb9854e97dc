"""API of the model registry (see the contract's "Models")."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.files.storage import default_storage
from django.db.models import QuerySet
from django.http import FileResponse, HttpResponse
from django.http.response import HttpResponseBase
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    PolymorphicProxySerializer,
    extend_schema,
    extend_schema_field,
    inline_serializer,
)
from rest_framework import exceptions, mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from apps.accounts.api_scoping import WorkspaceScopedMixin
from apps.accounts.models import Role
from apps.core.api import (
    BaselineSerializer,
    OutputOnlyMixin,
    baseline_out,
)
from apps.core.filters import filtered_or_400
from apps.core.renderers import FastJSONParser
from apps.models import services
from apps.models.cache import bundle_file_check
from apps.models.filters import ModelFilter
from apps.models.models import Model
from apps.models.selectors import ORDERINGS, model_list
from ml.errors import BundleError, DataError, ExportError, SchemaError

CSV_TYPE = "text/csv; charset=utf-8"


class ModelFileDamaged(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_code = "model_file_damaged"
    default_detail = (
        "The model file is damaged or was not written by this platform; it was not loaded."
    )


class NotConvertible(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_code = "not_convertible"


class CsvTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "too_large"


class FeatureSerializer(serializers.Serializer):
    name = serializers.CharField()
    kind = serializers.CharField()


class ModelOutputSerializer(OutputOnlyMixin, serializers.ModelSerializer):
    experiment = serializers.SerializerMethodField()
    features = serializers.SerializerMethodField()
    # The JSON columns, typed for the schema.
    input_schema = serializers.ListField(child=serializers.DictField(child=serializers.JSONField()))
    classes = serializers.ListField(child=serializers.JSONField(), allow_null=True,
                                    help_text="The class labels (classification), else null.")
    metrics = serializers.DictField(child=serializers.FloatField(allow_null=True))
    library_versions = serializers.DictField(child=serializers.JSONField())
    baseline = serializers.SerializerMethodField()
    ensemble = serializers.ListField(
        child=serializers.DictField(child=serializers.JSONField()),
        help_text='auto\'s ensemble: [{"member","algorithm","weight"}], weights summing to 1; '
                  "empty for a single model.")

    class Meta:
        model = Model
        fields = [
            "id", "name", "version", "description", "experiment", "algorithm", "task", "target",
            "features", "input_schema", "classes", "metrics", "primary_metric", "score",
            "baseline", "sha256", "size_bytes", "library_versions", "ensemble", "created_at",
        ]
        # Output only: read-only fields are `required` in the schema, as they always appear.
        read_only_fields = fields

    @extend_schema_field(BaselineSerializer(allow_null=True))
    def get_baseline(self, obj: Model) -> dict[str, Any] | None:
        return baseline_out(obj.baseline)

    @extend_schema_field(serializers.IntegerField(allow_null=True))
    def get_experiment(self, obj: Model) -> int | None:
        return getattr(obj, "experiment_id", None)

    @extend_schema_field(FeatureSerializer(many=True))
    def get_features(self, obj: Model) -> list[dict[str, str]]:
        return [{"name": c["name"], "kind": c.get("kind", "")} for c in obj.input_schema]


class ModelUpdateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200, required=False)
    description = serializers.CharField(max_length=5000, required=False, allow_blank=True)


class PredictJsonSerializer(serializers.Serializer):
    rows = serializers.ListField(child=serializers.DictField(), allow_empty=False,
                                 help_text="One object per row, mapping column names to values.")


class PredictColumnsSerializer(serializers.Serializer):
    columns = serializers.ListField(child=serializers.CharField(), allow_empty=False,
                                    help_text="The column names, once each.")
    data = serializers.ListField(  # type: ignore[assignment]  # the layout's name, not .data
        child=serializers.ListField(child=serializers.JSONField()), allow_empty=False,
        help_text="One list of values per row, in the order of `columns` "
                  "(pandas' \"split\" layout; MLflow's `dataframe_split`).")


PredictInput = PolymorphicProxySerializer(
    component_name="PredictInput",
    serializers=[PredictJsonSerializer, PredictColumnsSerializer],
    resource_type_field_name=None,
)


def _json_body(data: Any) -> dict[str, Any]:
    """Return {"rows": [...]} or {"columns": [...], "data": [...]}, or a 400 naming the field.

    Checked by hand, not with a serializer: on 10,000 rows DRF's per-value field validation
    cost more than the prediction itself, and ml.predict checks every value anyway.
    """
    if isinstance(data, dict) and ("columns" in data or "data" in data):
        if "rows" in data:
            raise exceptions.ValidationError({"rows": [
                "Send either rows or columns and data, not both."]})
        for field in ("columns", "data"):
            if field not in data:
                raise exceptions.ValidationError({field: ["This field is required."]})
        return {"columns": data["columns"], "data": data["data"]}
    return {"rows": _json_rows(data)}


def _json_rows(data: Any) -> list[dict[str, Any]]:
    """Return the body's `rows`: a non-empty list of objects, or a 400 naming `rows`."""
    rows = data.get("rows") if isinstance(data, dict) else None
    if rows is None:
        raise exceptions.ValidationError({"rows": ["This field is required."]})
    if not isinstance(rows, list) or not rows or not all(isinstance(r, dict) for r in rows):
        raise exceptions.ValidationError(
            {"rows": ["Send a non-empty list of objects, one per row: {\"rows\": [{...}]}."]}
        )
    return rows


class PredictCsvSerializer(serializers.Serializer):
    file = serializers.FileField()


PredictOutput = inline_serializer(
    "PredictOutput",
    {
        "predictions": serializers.ListField(child=serializers.JSONField()),
        "probabilities": serializers.ListField(
            child=serializers.ListField(child=serializers.FloatField()), allow_null=True
        ),
        "classes": serializers.ListField(child=serializers.JSONField(), allow_null=True),
    },
)


def _schema_error(exc: SchemaError) -> exceptions.ValidationError:
    return exceptions.ValidationError({"detail": str(exc), "columns": list(exc.columns or [])})


@extend_schema(parameters=[OpenApiParameter("slug", str, OpenApiParameter.PATH)])
class ModelViewSet(
    WorkspaceScopedMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """The workspace's registered models: read, rename, delete, download and predict."""

    queryset = Model.objects.none()
    lookup_value_regex = r"\d+"
    serializer_class = ModelOutputSerializer
    parser_classes = [FastJSONParser, MultiPartParser]
    # Viewers may use a model (predict, download) but not change it.
    role_for_action = {"predict": Role.VIEWER, "download": Role.VIEWER}

    def get_workspace_queryset(self, workspace: Any) -> QuerySet[Model]:
        if getattr(self, "action", None) != "list":
            return model_list(workspace=workspace)
        return filtered_or_400(ModelFilter(self.request.query_params,
                                           queryset=model_list(workspace=workspace)))

    def perform_content_negotiation(self, request: Request, force: bool = False) -> Any:
        # `?format=onnx` on download names a file format, not a DRF renderer.
        return super().perform_content_negotiation(
            request, force=force or getattr(self, "action", None) == "download"
        )

    @extend_schema(
        parameters=[
            OpenApiParameter("task", str, enum=["classification", "regression"]),
            OpenApiParameter("algorithm", str),
            OpenApiParameter("name", str),
            OpenApiParameter("ordering", str, enum=list(ORDERINGS)),
        ]
    )
    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """The filters are ModelFilter's (apps/models/filters.py), as on the models page."""
        return super().list(request, *args, **kwargs)

    @extend_schema(request=ModelUpdateSerializer, responses=ModelOutputSerializer)
    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        model = self.get_object()
        data = ModelUpdateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        if "name" in data.validated_data:
            services.model_rename(model=model, name=data.validated_data["name"],
                                  user=request.user)
        if "description" in data.validated_data:
            services.model_describe(model=model, description=data.validated_data["description"],
                                    user=request.user)
        return Response(ModelOutputSerializer(model).data)

    def perform_destroy(self, instance: Model) -> None:
        services.model_delete(model=instance, user=self.request.user)

    @extend_schema(
        parameters=[OpenApiParameter("format", str, enum=["bundle", "onnx"],
                                     description="`onnx` where the model converts")],
        responses={
            (200, "application/octet-stream"): OpenApiTypes.BINARY,
            409: OpenApiResponse(description="The model cannot be converted, or its file "
                                             "is damaged"),
        },
    )
    @action(detail=True, methods=["get"])
    def download(self, request: Request, *args: Any, **kwargs: Any) -> HttpResponseBase:
        """Download the signed bundle, or `?format=onnx`."""
        return model_download_response(
            model=self.get_object(), user=request.user, fmt=request.query_params.get("format")
        )

    @extend_schema(
        request={"application/json": PredictInput,
                 "multipart/form-data": PredictCsvSerializer},
        responses={(200, "application/json"): PredictOutput,
                   (200, "text/csv"): OpenApiTypes.STR},
    )
    @action(detail=True, methods=["post"])
    def predict(self, request: Request, *args: Any, **kwargs: Any) -> HttpResponse:
        """Predict JSON rows (`rows`, or `columns` + `data`), or every row of a CSV file."""
        model = self.get_object()
        if request.content_type.startswith("multipart/"):
            return self._predict_csv(model, request)
        body = _json_body(request.data)
        try:
            answer = services.model_predict_rows(model=model, **body)
        except SchemaError as exc:
            raise _schema_error(exc) from exc
        except BundleError as exc:
            raise ModelFileDamaged(str(exc)) from exc
        return Response(answer)

    def _predict_csv(self, model: Model, request: Request) -> HttpResponse:
        data = PredictCsvSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        upload = data.validated_data["file"]
        limit = services.csv_max_bytes()
        if upload.size > limit:
            raise CsvTooLarge(
                f"The file is {upload.size:,} bytes; a CSV predicted in one call may hold at "
                f"most {limit:,} bytes (MODEL_PREDICT_CSV_MAX_BYTES). Split it, or use the "
                "model's batch prediction page, which predicts big files in the background.")
        try:
            text = services.model_predict_csv(
                model=model, fileobj=upload, max_rows=services.csv_max_rows()
            )
        except SchemaError as exc:
            raise _schema_error(exc) from exc
        except services.NotCsv as exc:
            raise exceptions.UnsupportedMediaType(
                upload.content_type or "file", detail=f"Only CSV files are accepted. {exc}"
            ) from exc
        except DataError as exc:
            raise exceptions.ValidationError({"file": [str(exc)]}) from exc
        except BundleError as exc:
            raise ModelFileDamaged(str(exc)) from exc
        response = HttpResponse(text, content_type=CSV_TYPE)
        name = f"{model.download_name}-predictions.csv"
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        return response


def model_download_response(*, model: Model, user: Any, fmt: str | None) -> HttpResponseBase:
    """Return the bundle (or ONNX) as an attachment; record the download."""
    fmt = (fmt or "bundle").lower()
    if fmt not in ("bundle", "mwm", "onnx"):
        raise exceptions.ValidationError({"format": ["Use format=bundle or format=onnx."]})
    response: HttpResponseBase
    try:
        if fmt == "onnx":
            response = _onnx_response(model)
        else:
            bundle_file_check(model)
            response = _redirect_to_store(model) or FileResponse(
                default_storage.open(model.file, "rb"),
                as_attachment=True,
                filename=f"{model.download_name}.mwm",
                content_type="application/octet-stream",
            )
    except BundleError as exc:
        raise ModelFileDamaged(str(exc)) from exc
    response["X-Content-Type-Options"] = "nosniff"
    fmt = "onnx" if fmt == "onnx" else "bundle"
    services.model_download_record(model=model, user=user, fmt=fmt)
    return response


def _redirect_to_store(model: Model) -> HttpResponse | None:
    """A redirect to a short-lived signed URL of the bundle in object storage, where enabled."""
    if not getattr(settings, "S3_REDIRECT_DOWNLOADS", False):
        return None
    from django.http import HttpResponseRedirect

    name = f"{model.download_name}.mwm"
    return HttpResponseRedirect(default_storage.url(model.file, parameters={  # type: ignore[call-arg]  # S3Storage's
        "ResponseContentDisposition": f'attachment; filename="{name}"',
        "ResponseContentType": "application/octet-stream"}))


def _onnx_response(model: Model) -> HttpResponse:
    try:
        data = services.model_onnx_bytes(model=model)
    except ExportError as exc:
        raise NotConvertible(str(exc)) from exc
    response = HttpResponse(data, content_type="application/octet-stream")
    response["Content-Disposition"] = f'attachment; filename="{model.download_name}.onnx"'
    return response
