"""Pages of experiments: list and compare, new experiment form, live detail page."""

from __future__ import annotations

import copy
import json
import threading
from collections import OrderedDict
from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django_htmx.http import HttpResponseStopPolling

from apps.accounts.tenancy import WorkspaceRequest, workspace_view
from apps.core.params import id_list_param, id_param, int_param, parse_id
from apps.core.quotas import QuotaExceeded
from apps.experiments import charts, exports, forms, selectors, services
from apps.experiments.filters import ExperimentFilter
from apps.experiments.models import Status

TEMPLATE_FORM = "experiments/create.html"


# ---------------------------------------------------------------- list and compare


@workspace_view()
def experiment_list_view(request: WorkspaceRequest) -> HttpResponse:
    params = request.GET
    id_param(params, "dataset")  # a malformed id is a 400 that says so, as everywhere
    # The API's filters; a status or ordering that does not validate is ignored here (the API
    # says 400).
    filters = ExperimentFilter(params, queryset=selectors.experiment_list(
        workspace=request.workspace))
    experiments = list(filters.qs[:500])
    valid = filters.form.cleaned_data
    dataset, state, ordering = (valid.get("dataset"), valid.get("status") or None,
                                valid.get("ordering") or None)
    chosen = set(id_list_param(params, "compare"))
    compared = [e for e in experiments if e.pk in chosen]
    table = exports.compare_table(compared) if compared else None
    if params.get("export") == "csv":
        response = HttpResponse(exports.compare_csv(compared or experiments),
                                content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = 'attachment; filename="experiments.csv"'
        return response
    from apps.datasets.selectors import dataset_list

    return render(request, "experiments/list.html", {
        "experiments": experiments, "datasets": dataset_list(workspace=request.workspace),
        "statuses": Status.choices, "filters": {"dataset": dataset, "status": state,
                                               "ordering": ordering},
        "chosen": chosen, "compare": table,
        "compare_plots": _compare_plots(request, table["rows"]) if table else [],
    })


def _compare_plots(request: WorkspaceRequest, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each plot name the compared runs drew, with each run's image (or a gap) beside."""
    slug = request.workspace.slug
    names: list[str] = []
    for row in rows:
        names += [p["name"] for p in row["experiment"].plots or [] if p["name"] not in names]
    groups = []
    for name in names:
        items = []
        for row in rows:
            exp = row["experiment"]
            has = any(p["name"] == name for p in exp.plots or [])
            items.append({"experiment": exp, "url": reverse(
                "api-experiment-plot", args=[slug, exp.pk, name]) if has else None})
        groups.append({"name": name.replace("_", " "), "items": items})
    return groups


# ---------------------------------------------------------------- the new experiment form


def _algorithms(task: str | None) -> list[dict[str, Any]]:
    from ml.algorithms import list_algorithms

    catalogue = list_algorithms()
    if task in ("classification", "regression"):
        return [a for a in catalogue if a["task"] == task]
    seen: dict[str, dict[str, Any]] = {}
    for entry in catalogue:
        seen.setdefault(entry["key"], entry)
    return list(seen.values())


# Target reports of recent (dataset file, target) pairs: every change in the form (algorithm,
# task, a parameter) redraws it, and only a new dataset or target changes the report.
_REPORTS: OrderedDict[tuple[int, str, str], dict[str, Any]] = OrderedDict()
_REPORTS_LOCK = threading.Lock()
_REPORTS_KEPT = 32


def _target_info(request: HttpRequest, dataset: Any, target: str) -> dict[str, Any] | None:
    """Return the target report the form shows: computed once per dataset file and target (it
    reads the data), then kept for the form's other refreshes."""
    if dataset is None or not target:
        return None
    key = (dataset.pk, str(dataset.parquet), target)
    with _REPORTS_LOCK:
        if key in _REPORTS:
            _REPORTS.move_to_end(key)
            return copy.deepcopy(_REPORTS[key])
    report = _target_report(dataset, target)
    with _REPORTS_LOCK:
        _REPORTS[key] = report
        while len(_REPORTS) > _REPORTS_KEPT:
            _REPORTS.popitem(last=False)
    return copy.deepcopy(report)


def _target_report(dataset: Any, target: str) -> dict[str, Any]:
    from django.conf import settings

    from apps.datasets.services import dataset_load_part
    from ml.errors import MLError
    from ml.targets import target_report

    try:
        # The whole target column (classes and their counts), and a bounded sample of every
        # column for the leakage checks: the web process never holds the whole dataset.
        full = dataset_load_part(dataset=dataset, columns=[target]) if target in {
            str(c["name"]) for c in dataset.columns or []} else None
        sample = dataset_load_part(dataset=dataset, max_cells=settings.FORM_SAMPLE_CELLS)
        report = target_report(sample, target, full_target=None if full is None
                               else full[target])
    except MLError as exc:
        return {"error": str(exc)}
    counts = report.get("class_counts") or {}
    total = sum(counts.values()) or 1
    report["balance"] = [{"label": k, "count": v, "pct": round(100 * v / total, 1)}
                         for k, v in list(counts.items())[:20]]
    return report


def _param_fields(algorithm: dict[str, Any] | None, values: dict[str, Any]) -> list[dict]:
    if algorithm is None:
        return []
    fields = []
    for name, spec in algorithm["params"].items():
        value = values.get(name, spec.get("default"))
        if isinstance(value, list) and spec["type"] != "list[str]":
            value = ", ".join(str(v) for v in value)
        fields.append({"name": name, "spec": spec, "value": value,
                       "input": _input_kind(spec), "selected": value or []})
    return fields


def _input_kind(spec: dict[str, Any]) -> str:
    if spec["type"] == "bool":
        return "checkbox"
    if spec.get("choices") and spec["type"] == "str":
        return "select"
    if spec.get("choices"):
        return "multi"
    return "number" if spec["type"] in ("int", "float") else "text"


def _form_context(request: WorkspaceRequest, body: dict[str, Any],
                  errors: dict[str, list[str]] | None = None, *,
                  default_target: bool = False) -> dict[str, Any]:
    from apps.datasets.selectors import dataset_list_ready

    datasets = list(dataset_list_ready(workspace=request.workspace))
    dataset = next((d for d in datasets if str(d.pk) == str(body.get("dataset") or "")), None)
    columns = [c["name"] for c in dataset.columns] if dataset else []
    target = body.get("target") if body.get("target") in columns else ""
    target_reason = ""
    if default_target and not target and dataset is not None:
        from ml.targets import likely_target

        # The profile knows which columns are ids or free text: never preselect those.
        profiled = (dataset.profile or {}).get("columns") or dataset.columns
        picked = likely_target(profiled)
        if picked is not None:
            target, target_reason = picked
    info = _target_info(request, dataset, str(target or ""))
    task = body.get("task") if body.get("task") in ("classification", "regression") else (
        (info or {}).get("task"))
    algorithms = _algorithms(task)
    algorithm = next((a for a in algorithms if a["key"] == body.get("algorithm")), None)
    features = body.get("features") or []
    return {
        "datasets": datasets, "dataset": dataset, "columns": columns, "target": target,
        "target_reason": target_reason,
        "info": info, "task": task, "algorithms": algorithms, "algorithm": algorithm,
        "params": _param_fields(algorithm, body.get("params") or {}),
        "features": features, "body": forms.initial_from_body(body), "errors": errors or {},
        "preprocessing_fields": [
            {"name": k, "choices": choices,
             "value": (body.get("preprocessing") or {}).get(k, default)}
            for k, (default, choices) in forms.PREPROCESSING.items()],
        "tuning_methods": forms.TUNING_METHODS,
        "validation_defaults": forms.VALIDATION_DEFAULTS,
    }


def _resolved_task(request: WorkspaceRequest, source: Any) -> str:
    """Return the task the form means: the chosen one, else the one its target implies."""
    task = source.get("task", "")
    if task in ("classification", "regression"):
        return task
    from apps.datasets.selectors import dataset_list_ready

    try:
        pk = parse_id(source.get("dataset"))
    except ValueError:
        pk = None
    dataset = dataset_list_ready(workspace=request.workspace).filter(
        pk=pk).first() if pk is not None else None
    return str((_target_info(request, dataset, source.get("target", "")) or {}).get("task")
               or "")


def _body(request: WorkspaceRequest, source: Any, *, refresh: bool = False) -> dict[str, Any]:
    """Read the form (GET for HTMX refreshes, POST for "Run") into an experiment body.

    Parameter fields are read with the schema of the algorithm they were drawn for
    (`params_for`); after a change of algorithm or task they belong to another one, and the
    new algorithm starts from its own defaults, exactly as the API's.
    """
    from ml.algorithms import list_algorithms

    catalogue = {(a["key"], a["task"]): a for a in list_algorithms()}
    key, task = source.get("algorithm", ""), _resolved_task(request, source)
    spec = catalogue.get((key, task)) or next(
        (a for (k, _), a in catalogue.items() if k == key), None)
    body = forms.body_from_post(source, spec["params"] if spec else {}, [])
    # No params_for: a refresh of a form that had no param fields yet (defaults), or a
    # hand-made POST (its fields are read as they are).
    drawn_for = source.get("params_for", "" if refresh else None)
    if spec is None or drawn_for is not None and drawn_for != f"{spec['key']}:{spec['task']}":
        body["params"] = {}
    return body


@workspace_view()
def experiment_create_view(request: WorkspaceRequest) -> HttpResponse:
    if request.method == "POST":
        body = _body(request, request.POST)
        try:
            experiment = services.experiment_create(
                workspace=request.workspace, user=request.user, data=body)
        except ValidationError as exc:
            errors = exc.message_dict if hasattr(exc, "error_dict") else {
                "non_field_errors": exc.messages}
            context = _form_context(request, body, errors)
            return render(request, TEMPLATE_FORM, context, status=400)
        except QuotaExceeded as exc:
            context = _form_context(request, body, {"non_field_errors": [str(exc)]})
            return render(request, TEMPLATE_FORM, context, status=exc.status)
        # Shown while the job waits; the live part removes it once the job runs (app.js).
        messages.success(request, f"“{experiment}” is queued.", extra_tags="while-queued")
        return redirect("experiments:detail", request.workspace.slug, experiment.pk)
    body = {"dataset": request.GET.get("dataset")}
    source_pk = id_param(request.GET, "from")
    if source_pk is not None:
        source = selectors.experiment_get(workspace=request.workspace, pk=source_pk)
        body = services.experiment_rerun_body(experiment=source)
    return render(request, TEMPLATE_FORM, _form_context(request, body, default_target=True))


@workspace_view()
def experiment_form_fields_view(request: WorkspaceRequest) -> HttpResponse:
    """Re-render the dataset-dependent part of the form (HTMX, on any change)."""
    body = _body(request, request.GET, refresh=True)
    body["features"] = request.GET.getlist("features")
    chose_dataset = request.GET.get("changed") == "id_dataset" or (
        request.htmx and request.htmx.trigger == "id_dataset")
    context = _form_context(request, body, default_target=bool(chose_dataset))
    # Echoed into the part, so the page can refuse a response older than its latest choice.
    context["refresh_seq"] = int_param(request.GET, "refresh_seq", 0, low=0, high=2**31)
    return render(request, TEMPLATE_FORM + "#dynamic", context)


# ---------------------------------------------------------------- detail, live part, actions


def _detail_context(request: WorkspaceRequest, pk: int) -> dict[str, Any]:
    experiment = selectors.experiment_get(workspace=request.workspace, pk=pk)
    slug = request.workspace.slug
    plots = [{"name": p["name"], "url": reverse("api-experiment-plot",
                                                  args=[slug, experiment.pk, p["name"]])}
             for p in experiment.plots or []]
    importance = (experiment.feature_importance or [])[:20]
    top = max((abs(float(f.get("importance") or 0)) for f in importance), default=0) or 1
    return {
        "experiment": experiment, "plots": plots,
        "algorithm_label": _algorithm_label(experiment.algorithm, experiment.task),
        "expects_curve": _algorithm_family(experiment.algorithm) == "keras",
        "log": exports.visible_log(experiment, request.user),
        "curve": charts.learning_curve(experiment.history or []),
        "model_id": selectors.experiment_model_id(experiment),
        "importance": [{**f, "pct": round(100 * abs(float(f.get("importance") or 0)) / top, 1)}
                       for f in importance],
        "leaderboard": _leaderboard(experiment.leaderboard or [], experiment.task),
        "live_trials": _live_trials(experiment),
        "primary": exports.primary_metric(experiment),
        "best_params": json.dumps(experiment.best_params or {}, indent=2),
    }


def _algorithm_label(key: str, task: str) -> str:
    from apps.experiments.templatetags.experiments_extras import algorithm_label

    return algorithm_label(key, task)


def _algorithm_family(key: str) -> str:
    from ml.algorithms import list_algorithms

    return next((a["family"] for a in list_algorithms() if a["key"] == key), "")


# Leaderboard keys shown in their own columns; any other key is listed with the parameters.
_BOARD_KEYS = ("rank", "algorithm", "mean_score", "std_score", "score", "fit_time_s", "params",
               "trial", "state", "status", "note", "error", "in_ensemble", "weight")


def _leaderboard(rows: list[dict[str, Any]], task: str) -> dict[str, Any]:
    """Trials or candidates as a person reads them: one rank column, the algorithm's label,
    the score to 4 digits (± its spread), the fit time, the parameters as `name = value`."""
    shown = []
    for position, row in enumerate(rows, 1):
        params = dict(row.get("params") or {})
        params.update({k: v for k, v in row.items() if k not in _BOARD_KEYS})
        mean = row.get("mean_score", row.get("score"))
        members = params.get("members") if row.get("algorithm") == "ensemble" else None
        shown.append({
            "rank": row.get("rank", position),
            "algorithm": _algorithm_label(row["algorithm"], task) if row.get("algorithm")
            else "",
            "score": _four(mean), "std": _four(row.get("std_score")),
            "fit_time_s": row.get("fit_time_s"),
            "params": (_members_text(members, task) if isinstance(members, dict)
                       else _params_text(params)),
            "note": row.get("note") or row.get("error") or row.get("state") or "",
            "weight": (f"{float(row['weight']):.2f}" if row.get("in_ensemble")
                       and row.get("weight") is not None else ""),
            "is_ensemble": row.get("algorithm") == "ensemble",
        })
    return {"rows": shown, "has_algorithm": any(r["algorithm"] for r in shown),
            "has_note": any(r["note"] for r in shown),
            "has_ensemble": any(r["weight"] for r in shown)}


def _members_text(members: dict[str, Any], task: str) -> str:
    """An ensemble's members as a person reads them: "LightGBM 0.74 + k-nearest neighbours
    0.26" (members are named "<candidate number>_<algorithm key>")."""
    return " + ".join(f"{_algorithm_label(name.partition('_')[2] or name, task)} {float(w):.2f}"
                      for name, w in members.items())


def _live_trials(experiment: Any) -> list[dict[str, Any]]:
    """Trials or candidates finished so far (while running, and what was tried before a
    cancel or a failure), in the order they ended, with the best score so far."""
    if experiment.has_results:
        return []
    rows = [r for r in experiment.leaderboard or [] if isinstance(r, dict) and "trial" in r]
    return [{"trial": r["trial"],
             "algorithm": _algorithm_label(r["algorithm"], experiment.task)
             if r.get("algorithm") else "",
             "score": _four(r.get("mean_score")), "std": _four(r.get("std_score")),
             "best": _four(r.get("best_so_far")),
             "is_best": r.get("mean_score") is not None
             and r.get("mean_score") == r.get("best_so_far"),
             "fit_time_s": r.get("fit_time_s"), "error": r.get("error", ""),
             "params": _params_text(r.get("params") or {})}
            for r in rows]


def _four(value: Any) -> str | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return f"{number:.4f}"


def _params_text(params: dict[str, Any]) -> str:
    return ", ".join(f"{k} = {_param_text(v)}" for k, v in params.items())


def _param_text(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    if value is None:
        return "none"
    if isinstance(value, (list, tuple, dict)):
        return json.dumps(value)
    return str(value)


@workspace_view()
def experiment_detail_view(request: WorkspaceRequest, pk: int) -> HttpResponse:
    return render(request, "experiments/detail.html", _detail_context(request, pk))


@workspace_view()
def experiment_live_view(request: WorkspaceRequest, pk: int) -> HttpResponse:
    """The polled part of the detail page; status 286 stops polling once the job ended."""
    context = _detail_context(request, pk)
    response = render(request, "experiments/detail.html#live", context)
    if context["experiment"].is_ended:
        stop = HttpResponseStopPolling(response.content)
        stop["HX-Refresh"] = "true"  # reload once to show the results sections
        return stop
    return response


@workspace_view()
def experiment_cancel_view(request: WorkspaceRequest, pk: int) -> HttpResponse:
    if request.method != "POST":
        raise Http404
    experiment = selectors.experiment_get(workspace=request.workspace, pk=pk)
    keep_best = request.POST.get("keep_best") == "1"
    try:
        services.experiment_cancel(experiment=experiment, user=request.user,
                                   keep_best=keep_best)
        messages.success(request, "Stopping the search: the best model so far will be kept."
                         if keep_best else "Cancelling the experiment.")
    except (services.ExperimentEnded, services.NotASearch) as exc:
        messages.warning(request, str(exc))
    return redirect("experiments:detail", request.workspace.slug, pk)


@workspace_view()
def experiment_delete_view(request: WorkspaceRequest, pk: int) -> HttpResponse:
    if request.method != "POST":
        raise Http404
    experiment = selectors.experiment_get(workspace=request.workspace, pk=pk)
    services.experiment_delete(experiment=experiment, user=request.user)
    messages.success(request, f"Deleted “{experiment}”.")
    return redirect("experiments:list", request.workspace.slug)
