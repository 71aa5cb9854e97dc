"""Pages of datasets: list with upload, detail, status fragment, preview, rename, delete."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpResponse, StreamingHttpResponse
from django.middleware.csrf import CsrfViewMiddleware
from django.shortcuts import redirect, render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import HttpResponseClientRefresh, HttpResponseStopPolling

from apps.accounts.tenancy import WorkspaceRequest, workspace_view
from apps.core.params import int_param
from apps.core.quotas import QuotaExceeded
from apps.core.uploads import UploadTooLarge
from apps.datasets.exports import dataset_csv_response
from apps.datasets.forms import DatasetRenameForm
from apps.datasets.models import Dataset
from apps.datasets.presenters import column_rows, warning_groups
from apps.datasets.selectors import (
    PREVIEW_DEFAULT_ROWS,
    PREVIEW_MAX_ROWS,
    SORTS,
    dataset_get,
    dataset_list,
    dataset_preview,
)
from apps.datasets.services import dataset_create, dataset_delete, dataset_rename

PAGE_SIZE = 25
CHANGED = "datasets-changed"  # HTMX event: the datasets table on the list page reloads itself


def _errors_text(exc: ValidationError) -> str:
    return " ".join(exc.messages)


@require_GET
@workspace_view()
def dataset_list_view(request: WorkspaceRequest) -> HttpResponse:
    sort = request.GET.get("sort", "-created")
    sort = sort if sort in SORTS else "-created"
    page = Paginator(dataset_list(workspace=request.workspace, sort=sort), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    return render(request, "datasets/list.html", _list_context(request, page, sort))


def _list_context(request: WorkspaceRequest, page: Any, sort: str, **extra: Any) -> dict[str, Any]:
    return {"workspace": request.workspace, "membership": request.membership,
            "page_obj": page, "datasets": page.object_list, "sort": sort, **extra}


# The CSRF check runs inside, after reading the body: an oversized upload must get its clear
# 413 answer, and the middleware would read the body first and turn the refusal into a 500.
@csrf_exempt
@require_POST
@workspace_view()
def dataset_upload_view(request: WorkspaceRequest) -> HttpResponse:
    try:
        upload, name = request.FILES.get("file"), request.POST.get("name")
    except UploadTooLarge as exc:
        return _upload_error(request, str(exc.detail), status=413)
    refused = CsrfViewMiddleware(lambda r: HttpResponse()).process_view(
        request, lambda r: HttpResponse(), (), {})
    if refused is not None:
        return refused
    try:
        dataset = dataset_create(
            workspace=request.workspace, user=request.user, upload=upload, name=name
        )
    except UploadTooLarge as exc:
        return _upload_error(request, str(exc.detail), status=413)
    except QuotaExceeded as exc:
        return _upload_error(request, str(exc), status=exc.status)
    except ValidationError as exc:
        return _upload_error(request, _errors_text(exc), status=400)
    if request.htmx:
        response = render(request, "datasets/list.html#upload_result",
                          {"workspace": request.workspace, "dataset": dataset})
        response["HX-Trigger"] = CHANGED  # the list below reloads to show the new row
        return response
    messages.success(request, f"Uploaded “{dataset.name}”; it is being processed.")
    return redirect("datasets:detail", request.workspace.slug, dataset.pk)


def _upload_error(request: WorkspaceRequest, message: str, *, status: int) -> HttpResponse:
    if request.htmx:
        # HTMX swaps only 2xx answers; the fragment itself says what went wrong.
        return render(request, "datasets/list.html#upload_error", {"upload_error": message})
    page = Paginator(dataset_list(workspace=request.workspace), PAGE_SIZE).get_page(1)
    context = _list_context(request, page, "-created", upload_error=message)
    return render(request, "datasets/list.html", context, status=status)


# A 5,000-column table made a 210,000 px page: columns are paged, the preview is cut.
COLUMNS_PER_PAGE = 50
PREVIEW_COLUMNS = 50


@require_GET
@workspace_view()
def dataset_detail_view(request: WorkspaceRequest, pk: int) -> HttpResponse:
    dataset = dataset_get(workspace=request.workspace, pk=pk)
    # Wide tables: the columns are searched and paged, the preview shows the first ones.
    search = (request.GET.get("column") or "").strip()[:200]
    columns = [c for c in (dataset.profile or {}).get("columns", [])
               if search.lower() in str(c.get("name", "")).lower()]
    page = Paginator(columns, COLUMNS_PER_PAGE).get_page(request.GET.get("columns_page"))
    context = {
        "workspace": request.workspace, "membership": request.membership, "dataset": dataset,
        "column_rows": column_rows({"columns": list(page.object_list)}),
        "column_page": page, "column_search": search, "columns_found": len(columns),
        "warnings": warning_groups(dataset),
        "preview": dataset_preview(dataset=dataset, rows=PREVIEW_DEFAULT_ROWS,
                                   max_columns=PREVIEW_COLUMNS),
        "preview_columns": PREVIEW_COLUMNS,
    }
    return render(request, "datasets/detail.html", context)


@require_GET
@workspace_view()
def dataset_status_view(request: WorkspaceRequest, pk: int) -> HttpResponse:
    dataset = dataset_get(workspace=request.workspace, pk=pk)
    if dataset.is_finished and request.GET.get("refresh"):
        # The detail page reloads to show the schema, profile and preview.
        return HttpResponseClientRefresh()
    response = render(request, "datasets/list.html#status",
                      {"workspace": request.workspace, "dataset": dataset})
    if dataset.is_finished:
        stop = HttpResponseStopPolling(response.content)
        stop["HX-Trigger"] = CHANGED
        return stop
    return response


@require_GET
@workspace_view()
def dataset_preview_view(request: WorkspaceRequest, pk: int) -> HttpResponse:
    dataset = dataset_get(workspace=request.workspace, pk=pk)
    rows = int_param(request.GET, "rows", PREVIEW_DEFAULT_ROWS, low=1, high=PREVIEW_MAX_ROWS)
    preview = dataset_preview(dataset=dataset, rows=rows, max_columns=PREVIEW_COLUMNS)
    return render(request, "datasets/detail.html#preview",
                  {"workspace": request.workspace, "dataset": dataset, "preview": preview,
                   "preview_columns": PREVIEW_COLUMNS})


@require_http_methods(["GET", "POST"])
@workspace_view(role="member")
def dataset_rename_view(request: WorkspaceRequest, pk: int) -> HttpResponse:
    dataset = dataset_get(workspace=request.workspace, pk=pk)
    form = DatasetRenameForm(request.POST or None, initial={"name": dataset.name})
    if request.method == "POST" and form.is_valid():
        try:
            dataset_rename(dataset=dataset, user=request.user, name=form.cleaned_data["name"])
        except ValidationError as exc:
            form.add_error("name", _errors_text(exc))
        else:
            messages.success(request, f"Renamed to “{dataset.name}”.")
            return redirect("datasets:detail", request.workspace.slug, dataset.pk)
    context = {"workspace": request.workspace, "dataset": dataset, "form": form}
    return render(request, "datasets/rename.html", context, status=400 if form.errors else 200)


@require_http_methods(["GET", "POST"])
@workspace_view(role="member")
def dataset_delete_view(request: WorkspaceRequest, pk: int) -> HttpResponse:
    dataset = dataset_get(workspace=request.workspace, pk=pk)
    if request.method == "POST":
        name = dataset.name
        dataset_delete(dataset=dataset, user=request.user)
        messages.success(request, f"Deleted “{name}”.")
        return redirect("datasets:list", request.workspace.slug)
    context = {"workspace": request.workspace, "dataset": dataset,
               "n_experiments": _experiment_count(dataset)}
    return render(request, "datasets/delete.html", context)


def _experiment_count(dataset: Dataset) -> int:
    return dataset.experiments.count()


@require_GET
@workspace_view()
def dataset_download_view(
    request: WorkspaceRequest, pk: int
) -> HttpResponse | StreamingHttpResponse:
    dataset = dataset_get(workspace=request.workspace, pk=pk)
    try:
        return dataset_csv_response(dataset=dataset, user=request.user)
    except ValidationError as exc:
        messages.error(request, _errors_text(exc))
        return redirect("datasets:detail", request.workspace.slug, dataset.pk)
