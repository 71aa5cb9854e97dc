"""The experiments API under /api/v1/workspaces/<slug>/experiments/."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.core.files.storage import default_storage
from django.http import FileResponse, Http404, HttpResponse
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
)
from rest_framework import exceptions, serializers, status
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.renderers import BaseRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.accounts.api_scoping import WorkspaceScopedMixin
from apps.core.api import (
    BaselineSerializer,
    OutputOnlyMixin,
    Pagination,
    baseline_out,
)
from apps.core.filters import filtered_or_400
from apps.core.renderers import FastJSONRenderer
from apps.experiments import exports, selectors, services
from apps.experiments.filters import ExperimentFilter
from apps.experiments.models import Experiment, Status


class PlotSerializer(serializers.Serializer):
    name = serializers.CharField()
    url = serializers.URLField()


class MeanStdSerializer(serializers.Serializer):
    mean = serializers.FloatField()
    std = serializers.FloatField()


class ExperimentOutputSerializer(OutputOnlyMixin, serializers.ModelSerializer):
    # The JSON columns, typed for the schema (the values are the stored ones).
    params = serializers.DictField(child=serializers.JSONField())
    metrics = serializers.DictField(child=serializers.FloatField(allow_null=True),
                                    help_text="Measured on the held-out test split.")
    cv_metrics = serializers.DictField(child=MeanStdSerializer())
    history = serializers.ListField(
        child=serializers.DictField(child=serializers.JSONField()),
        help_text='One object per epoch: {"epoch","loss","val_loss",...} (Keras jobs).')
    leaderboard = serializers.ListField(
        child=serializers.DictField(child=serializers.JSONField()),
        help_text="Trials of auto and tuning jobs, best first.")
    best_params = serializers.DictField(child=serializers.JSONField())
    timings = serializers.DictField(
        child=serializers.FloatField(),
        help_text="Seconds per phase (load, preprocess_and_fit, evaluate, importance, plots, "
                  "save), so a user sees where the time went.")
    feature_importance = serializers.JSONField()
    config = serializers.DictField(child=serializers.JSONField(),
                                   help_text="The normalised configuration, defaults filled in.")
    task = serializers.CharField(
        help_text="classification or regression once resolved (auto until then).")
    error = serializers.SerializerMethodField()
    plots = serializers.SerializerMethodField()
    model = serializers.SerializerMethodField()
    log = serializers.SerializerMethodField()
    baseline = serializers.SerializerMethodField()
    duration_s = serializers.FloatField(read_only=True, allow_null=True)

    class Meta:
        model = Experiment
        fields = [
            "id", "name", "dataset", "target", "task", "algorithm", "params", "status",
            "progress", "error", "metrics", "cv_metrics", "history", "leaderboard",
            "best_params", "timings", "feature_importance", "score", "baseline", "plots",
            "model", "config", "stop_requested",
            "log", "created_at", "started_at", "finished_at", "duration_s",
        ]
        # Output only: read-only fields are `required` in the schema, as they always appear.
        read_only_fields = fields

    @extend_schema_field(BaselineSerializer(allow_null=True))
    def get_baseline(self, obj: Experiment) -> dict[str, Any] | None:
        return baseline_out(obj.baseline)

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_error(self, obj: Experiment) -> str | None:
        return obj.error or None

    @extend_schema_field(PlotSerializer(many=True))
    def get_plots(self, obj: Experiment) -> list[dict[str, str]]:
        request = self.context.get("request")
        workspace = self.context.get("workspace") or obj.workspace
        plots = []
        for plot in obj.plots or []:
            url = reverse("api-experiment-plot", args=[workspace.slug, obj.pk, plot["name"]])
            plots.append({"name": plot["name"],
                          "url": request.build_absolute_uri(url) if request else url})
        return plots

    @extend_schema_field(serializers.IntegerField(allow_null=True))
    def get_model(self, obj: Experiment) -> int | None:
        return selectors.experiment_model_id(obj)

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_log(self, obj: Experiment) -> list[str]:
        request = self.context.get("request")
        return exports.visible_log(obj, getattr(request, "user", None))


class ExperimentPageSerializer(serializers.Serializer):
    """A page of experiments, the DRF way (for the schema)."""

    count = serializers.IntegerField()
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = ExperimentOutputSerializer(many=True)


class ExperimentInputSerializer(serializers.Serializer):
    """Documents the body; the service validates it against the dataset and the engine."""

    name = serializers.CharField(required=False, allow_blank=True)
    dataset = serializers.IntegerField()
    target = serializers.CharField()
    task = serializers.ChoiceField(["auto", "classification", "regression"], default="auto")
    algorithm = serializers.CharField()
    params = serializers.DictField(required=False, default=dict)
    features = serializers.ListField(child=serializers.CharField(), required=False,
                                     allow_null=True)
    preprocessing = serializers.DictField(required=False)
    feature_engineering = serializers.DictField(required=False)
    validation = serializers.DictField(required=False)
    tuning = serializers.DictField(required=False, allow_null=True)
    time_budget_s = serializers.FloatField(required=False, allow_null=True)


class _IgnoreFormatNegotiation(DefaultContentNegotiation):
    """Always answer with the first renderer: `?format=` here means the export format."""

    def select_renderer(self, request: Request, renderers: Iterable[BaseRenderer],
                        format_suffix: Any = None) -> tuple:
        first = next(iter(renderers))
        return first, first.media_type


class _ExperimentApi(WorkspaceScopedMixin, APIView):
    queryset = Experiment.objects.none()

    def get_workspace_queryset(self, workspace: Any) -> Any:
        return selectors.experiment_list(workspace=workspace)

    def get_experiment(self, pk: Any) -> Experiment:
        return selectors.experiment_get(workspace=self.workspace, pk=pk)

    def out(self, experiment: Experiment) -> dict[str, Any]:
        return ExperimentOutputSerializer(
            experiment, context={"request": self.request, "workspace": self.workspace}).data


class ExperimentListApi(_ExperimentApi):
    @extend_schema(
        operation_id="v1_workspaces_experiments_list",
        parameters=[
            OpenApiParameter("page", int),
            OpenApiParameter("page_size", int, description="At most 200."),
            OpenApiParameter("dataset", int, description="Only experiments on this dataset."),
            OpenApiParameter("status", str, enum=[s.value for s in Status]),
            OpenApiParameter("ordering", str, enum=list(selectors.ORDERINGS),
                             description="-score: best first, experiments without a score last."),
        ],
        responses=ExperimentPageSerializer,
    )
    def get(self, request: Request, slug: str) -> Response:
        qs = filtered_or_400(ExperimentFilter(
            request.query_params, queryset=selectors.experiment_list(workspace=self.workspace)))
        paginator = Pagination()
        page = paginator.paginate_queryset(qs, request, view=self)
        data = ExperimentOutputSerializer(
            page, many=True, context={"request": request, "workspace": self.workspace}).data
        return paginator.get_paginated_response(data)

    @extend_schema(request=ExperimentInputSerializer,
                   responses={201: ExperimentOutputSerializer})
    def post(self, request: Request, slug: str) -> Response:
        data = request.data
        if hasattr(data, "dict"):  # a form post's QueryDict
            data = data.dict()
        if not isinstance(data, dict):
            raise exceptions.ValidationError({"non_field_errors": [
                f"Invalid data. Expected a JSON object, but got {type(data).__name__}."]})
        experiment = services.experiment_create(
            workspace=self.workspace, user=request.user, data=dict(data))
        return Response(self.out(experiment), status=status.HTTP_201_CREATED)


class ExperimentDetailApi(_ExperimentApi):
    @extend_schema(responses=ExperimentOutputSerializer)
    def get(self, request: Request, slug: str, pk: int) -> Response:
        return Response(self.out(self.get_experiment(pk)))

    @extend_schema(responses={204: None})
    def delete(self, request: Request, slug: str, pk: int) -> Response:
        services.experiment_delete(experiment=self.get_experiment(pk), user=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class CancelInputSerializer(serializers.Serializer):
    keep_best = serializers.BooleanField(
        required=False, default=False,
        help_text="Stop a running auto or tuning job early, keep its leaderboard and register "
                  "its best model so far: it ends `stopped`. Without it, cancel discards.")


class ExperimentCancelApi(_ExperimentApi):
    @extend_schema(
        request=CancelInputSerializer,
        responses={202: ExperimentOutputSerializer,
                   400: OpenApiResponse(description="keep_best for a job that trains one "
                                                    "model, or a body that is not valid."),
                   409: OpenApiResponse(description="The experiment had already ended.")},
    )
    def post(self, request: Request, slug: str, pk: int) -> Response:
        experiment = self.get_experiment(pk)
        body = CancelInputSerializer(data=request.data if isinstance(request.data, dict) else {})
        body.is_valid(raise_exception=True)
        try:
            experiment = services.experiment_cancel(
                experiment=experiment, user=request.user,
                keep_best=body.validated_data["keep_best"])
        except services.NotASearch as exc:
            return Response({"keep_best": [str(exc)]}, status=status.HTTP_400_BAD_REQUEST)
        except services.ExperimentEnded as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_409_CONFLICT)
        return Response(self.out(experiment), status=status.HTTP_202_ACCEPTED)


class ExperimentPlotApi(_ExperimentApi):
    """One plot of the experiment as a PNG; readable by the workspace's members only."""

    content_negotiation_class = _IgnoreFormatNegotiation
    renderer_classes = [FastJSONRenderer]

    @extend_schema(responses={(200, "image/png"): OpenApiTypes.BINARY})
    def get(self, request: Request, slug: str, pk: int, name: str) -> FileResponse:
        experiment = self.get_experiment(pk)
        plot = next((p for p in experiment.plots or [] if p.get("name") == name), None)
        if plot is None:
            raise Http404("No such plot.")
        try:
            handle = default_storage.open(plot["file"], "rb")
        except FileNotFoundError:
            raise Http404("The plot file is missing.") from None
        response = FileResponse(handle, content_type="image/png")
        response["Cache-Control"] = "private, max-age=3600"
        return response


class ExperimentExportApi(_ExperimentApi):
    """The experiment's config and results as JSON (default) or CSV (`?format=csv`)."""

    content_negotiation_class = _IgnoreFormatNegotiation
    renderer_classes = [FastJSONRenderer]

    @extend_schema(
        parameters=[OpenApiParameter("format", str, enum=["json", "csv"])],
        responses={(200, "application/json"): OpenApiTypes.OBJECT,
                   (200, "text/csv"): OpenApiTypes.STR},
    )
    def get(self, request: Request, slug: str, pk: int) -> Any:
        experiment = self.get_experiment(pk)
        fmt = request.query_params.get("format", "json")
        filename = f"experiment-{experiment.pk}"
        if fmt == "csv":
            response = HttpResponse(exports.export_csv(experiment),
                                    content_type="text/csv; charset=utf-8")
            response["Content-Disposition"] = f'attachment; filename="{filename}.csv"'
            return response
        if fmt != "json":
            raise exceptions.ValidationError({"format": ["Use json or csv."]})
        response = Response(exports.export_dict(experiment))
        response["Content-Disposition"] = f'attachment; filename="{filename}.json"'
        return response
