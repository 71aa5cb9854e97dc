"""Pages of the model registry: list, model card, try-it form, batch prediction, downloads."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import HttpResponseStopPolling
from rest_framework.exceptions import APIException

from apps.accounts.models import Role
from apps.accounts.tenancy import WorkspaceRequest, workspace_view
from apps.core.files import workspace_prefix
from apps.core.quotas import QuotaExceeded
from apps.models import services
from apps.models.api import model_download_response
from apps.models.filters import ModelFilter
from apps.models.models import BatchStatus, Task
from apps.models.selectors import (
    batch_prediction_get,
    batch_prediction_list,
    model_algorithms,
    model_get,
    model_list,
    model_plot_file,
)
from ml.errors import BundleError, DataError, SchemaError

SORTS = {"-created_at": "Newest", "created_at": "Oldest", "-score": "Best score",
         "name": "Name"}


@workspace_view()
@require_GET
def list_page(request: WorkspaceRequest) -> HttpResponse:
    # The API's filters (the page calls ordering "sort"); a bad value is ignored here.
    filters = ModelFilter({**request.GET.dict(), "ordering": request.GET.get("sort", "")},
                          queryset=model_list(workspace=request.workspace))
    qs = filters.qs
    valid = filters.form.cleaned_data
    task, algorithm = valid.get("task") or "", valid.get("algorithm") or ""
    sort = valid.get("ordering") or "-created_at"
    page = Paginator(qs, 25).get_page(request.GET.get("page"))
    any_models = bool(page.object_list) or qs.exists() or bool(task or algorithm)
    return render(request, "models/list.html", {
        "page": page, "task": task, "algorithm": algorithm, "sort": sort, "sorts": SORTS,
        "tasks": Task.choices, "algorithms": model_algorithms(workspace=request.workspace),
        "any_models": any_models,
    })



def _card_context(request: WorkspaceRequest, model: Any) -> dict[str, Any]:
    experiment = getattr(model, "experiment", None)
    plots = [{"name": p.get("name", ""), "index": i}
             for i, p in enumerate(getattr(experiment, "plots", None) or [])
             if isinstance(p, dict) and p.get("file")]
    return {
        "model": model, "experiment": experiment, "plots": plots,
        "metrics": sorted((model.metrics or {}).items()),
        "onnx_possible": services.model_onnx_possible(model=model),
        "fields": _form_fields(model),
        "snippets": _api_snippets(request, model, _example_row(model)),
    }


def _typed(field: dict[str, Any], value: Any) -> Any:
    """A form value as the API takes it: numbers as numbers, true/false as booleans."""
    if value is None or value == "":
        return None
    if field["widget"] == "bool":
        return str(value).lower() == "true" if not isinstance(value, bool) else value
    if field["widget"] == "number" and not isinstance(value, (int, float)):
        try:
            number = float(value)
        except ValueError:
            return value  # the API names it as a bad value
        return int(number) if number.is_integer() and "." not in str(value) else number
    return value


def _example_row(model: Any) -> dict[str, Any]:
    return {f["name"]: _typed(f, f["example"]) for f in _form_fields(model)}


def _api_snippets(request: WorkspaceRequest, model: Any, row: dict[str, Any]) -> dict[str, str]:
    """`curl` and Python that send `row` to the model's predict API, ready to copy."""
    import json
    import shlex

    from apps.accounts.adapters import site_url

    url = site_url(request.build_absolute_uri(
        reverse("model-predict", kwargs={"slug": request.workspace.slug, "pk": model.pk})))
    body = json.dumps({"rows": [row]}, ensure_ascii=False)
    curl = "\n".join([
        f"curl -X POST {shlex.quote(url)} \\",
        '  -H "Authorization: Token $MODELWORKS_TOKEN" \\',
        "  -H 'Content-Type: application/json' \\",
        f"  -d {shlex.quote(body)}",
    ])
    python = ("import os, requests\n\n"
              f"answer = requests.post(\n    {url!r},\n"
              "    headers={\"Authorization\": f\"Token {os.environ['MODELWORKS_TOKEN']}\"},\n"
              f"    json={{\"rows\": [{row!r}]}},\n"
              "    timeout=30,\n)\nanswer.raise_for_status()\n"
              "print(answer.json()[\"predictions\"][0])")
    return {"curl": curl, "python": python}


def _shown(value: Any) -> Any:
    """A prediction as a person reads it: floats to 6 significant digits."""
    return f"{value:.6g}" if isinstance(value, float) else value


def _form_fields(model: Any) -> list[dict[str, Any]]:
    fields = []
    for i, col in enumerate(model.input_schema):
        kind = col.get("kind", "")
        dtype = str(col.get("dtype", ""))
        widget = "number" if dtype.startswith(("int", "uint", "float", "Int", "Float")) else (
            "bool" if kind == "boolean" or dtype.startswith("bool") else "text")
        example = col.get("example")
        fields.append({"key": f"f{i}", "name": col["name"], "kind": kind, "dtype": dtype,
                       "widget": widget, "example": "" if example is None else example})
    return fields


@workspace_view()
@require_GET
def detail_page(request: WorkspaceRequest, pk: int) -> HttpResponse:
    model = model_get(workspace=request.workspace, pk=pk)
    return render(request, "models/detail.html", _card_context(request, model))


@workspace_view()
@require_POST
def edit_page(request: WorkspaceRequest, pk: int) -> HttpResponse:
    model = model_get(workspace=request.workspace, pk=pk)
    try:
        if "name" in request.POST:
            services.model_rename(model=model, name=request.POST["name"], user=request.user)
        if "description" in request.POST:
            services.model_describe(model=model, description=request.POST["description"],
                                    user=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, f"Saved as “{model}”.")
    return redirect("models:detail", request.workspace.slug, model.pk)


@workspace_view()
@require_POST
def delete_page(request: WorkspaceRequest, pk: int) -> HttpResponse:
    model = model_get(workspace=request.workspace, pk=pk)
    label = str(model)
    services.model_delete(model=model, user=request.user)
    messages.success(request, f"Model “{label}” and its file were deleted.")
    return redirect("models:list", request.workspace.slug)


@workspace_view()
@require_GET
def download_page(request: WorkspaceRequest, pk: int) -> HttpResponseBase:
    model = model_get(workspace=request.workspace, pk=pk)
    try:
        return model_download_response(model=model, user=request.user,
                                       fmt=request.GET.get("format"))
    except APIException as exc:
        messages.error(request, str(exc.detail))
        return redirect("models:detail", request.workspace.slug, model.pk)


@workspace_view()
@require_GET
def plot_page(request: WorkspaceRequest, pk: int, index: int) -> HttpResponseBase:
    model = model_get(workspace=request.workspace, pk=pk)
    found = model_plot_file(model=model, index=index)
    # Only files under this workspace's prefix are served, whatever the row says.
    if found is None or not found[1].startswith(workspace_prefix(request.workspace) + "/"):
        raise Http404("No such plot.")
    try:
        fh = default_storage.open(found[1], "rb")
    except (FileNotFoundError, OSError) as exc:
        raise Http404("No such plot.") from exc
    response = FileResponse(fh, content_type="image/png")
    response["X-Content-Type-Options"] = "nosniff"
    return response


def _row_from_form(model: Any, data: Any) -> dict[str, Any]:
    """The form's inputs as one row; an empty input is None (filled in as in training)."""
    row: dict[str, Any] = {}
    for field in _form_fields(model):
        value = (data.get(field["key"]) or "").strip()
        row[field["name"]] = value if value != "" else None
    return row


# Viewers may use a model: trying it writes nothing.
@workspace_view(write_role=Role.VIEWER)
@require_POST
def try_page(request: WorkspaceRequest, pk: int) -> HttpResponse:
    model = model_get(workspace=request.workspace, pk=pk)
    context: dict[str, Any] = {"model": model}
    fields = _form_fields(model)
    try:
        row = _row_from_form(model, request.POST)
        answer = services.model_predict_rows(model=model, rows=[row])
    except (SchemaError, BundleError) as exc:
        context["error"] = str(exc)
    else:
        context["prediction"] = _shown(answer["predictions"][0])
        # Empty inputs are filled in as in training: say which, so no answer is silently a guess.
        context["filled_in"] = [name for name, value in row.items() if value is None]
        context["snippets"] = _api_snippets(
            request, model, {f["name"]: _typed(f, row[f["name"]]) for f in fields})
        if answer.get("probabilities"):
            context["probabilities"] = sorted(
                zip(answer["classes"], answer["probabilities"][0], strict=True),
                key=lambda pair: -(pair[1] or 0),
            )
    template = "models/detail.html#try-result" if request.htmx else "models/try_result.html"
    return render(request, template, context)


def _batch_context(request: WorkspaceRequest, model: Any, **extra: Any) -> dict[str, Any]:
    return {"model": model, "max_rows": services.batch_inline_rows(),
            "jobs": batch_prediction_list(workspace=request.workspace, model=model), **extra}


# Viewers may predict: the answer (and a batch job's file) is theirs, the model is unchanged.
@workspace_view(write_role=Role.VIEWER)
@require_http_methods(["GET", "POST"])
def batch_page(request: WorkspaceRequest, pk: int) -> HttpResponse:
    model = model_get(workspace=request.workspace, pk=pk)
    error = ""
    if request.method == "POST":
        upload = request.FILES.get("file")
        if upload is None:
            error = "Choose a CSV file to predict."
        elif not services.batch_inline(upload):
            try:
                batch = services.batch_prediction_start(
                    model=model, fileobj=upload, user=request.user, filename=upload.name or "")
            except (DataError, QuotaExceeded) as exc:
                error = str(exc)
            else:
                return redirect("models:batch_status", request.workspace.slug, model.pk, batch.pk)
        else:
            try:
                _, text = services.batch_prediction_inline(
                    model=model, fileobj=upload, user=request.user, filename=upload.name or "",
                    max_rows=services.batch_inline_rows())
            except (SchemaError, DataError, BundleError) as exc:
                error = str(exc)
            else:
                services.model_download_record(model=model, user=request.user, fmt="predictions")
                response = HttpResponse(text, content_type="text/csv; charset=utf-8")
                response["Content-Disposition"] = (
                    f'attachment; filename="{model.download_name}-predictions.csv"'
                )
                return response
    context = _batch_context(request, model, error=error)
    return render(request, "models/batch.html", context, status=400 if error else 200)


@workspace_view()
@require_GET
def batch_status_page(request: WorkspaceRequest, pk: int, batch_pk: int) -> HttpResponse:
    model = model_get(workspace=request.workspace, pk=pk)
    job = batch_prediction_get(workspace=request.workspace, model=model, pk=batch_pk)
    if not request.htmx:
        return render(request, "models/batch.html", _batch_context(request, model, job=job))
    html = render(request, "models/batch.html#job", {"model": model, "job": job}).content
    # 286 tells htmx to stop polling once the job has ended (the final state is still shown).
    return HttpResponseStopPolling(html) if job.is_ended else HttpResponse(html)


@workspace_view()
@require_GET
def batch_download_page(request: WorkspaceRequest, pk: int, batch_pk: int) -> HttpResponseBase:
    model = model_get(workspace=request.workspace, pk=pk)
    job = batch_prediction_get(workspace=request.workspace, model=model, pk=batch_pk)
    name = job.output_file
    # Only this workspace's files are served, whatever the row says.
    if job.status != BatchStatus.SUCCEEDED or not name.startswith(
        workspace_prefix(request.workspace) + "/"
    ):
        raise Http404("No predictions to download.")
    try:
        fh = default_storage.open(name, "rb")
    except (FileNotFoundError, OSError) as exc:
        raise Http404("The predictions file is gone.") from exc
    services.batch_prediction_download_record(batch=job, user=request.user)
    response = FileResponse(fh, as_attachment=True, content_type="text/csv; charset=utf-8",
                            filename=f"{model.download_name}-predictions-{job.pk}.csv")
    response["X-Content-Type-Options"] = "nosniff"
    return response
