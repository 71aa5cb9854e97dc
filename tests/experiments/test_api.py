"""The experiments API: create with validation, list/filter/order, detail, cancel, delete,
plots and exports, and tenancy on every endpoint (jobs run inline here)."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from django.core.files.storage import default_storage

from apps.experiments.models import Experiment

pytestmark = pytest.mark.django_db

URL = "/api/v1/workspaces/acme/experiments/"
FAST = {"validation": {"cv_folds": 2}}


def body(dataset: Any, **extra: Any) -> dict[str, Any]:
    return {"dataset": dataset.pk, "target": "species", "algorithm": "decision_tree", **extra}


def create(api: Any, data: dict[str, Any], capture: Any, *, run: bool = False) -> Any:
    with capture(execute=run):
        return api.post(URL, data, format="json")


# ---------------------------------------------------------------- create and run


def test_it_runs_a_decision_tree_to_succeeded_with_metrics_plots_and_history(
    api: Any, iris: Any, django_capture_on_commit_callbacks: Any
) -> None:
    response = create(api, body(iris, **FAST), django_capture_on_commit_callbacks, run=True)
    assert response.status_code == 201, response.content
    assert response.json()["status"] == "queued"
    assert response.json()["task"] == "classification"
    data = api.get(f"{URL}{response.json()['id']}/").json()
    assert data["status"] == "succeeded", data
    assert data["progress"] == 1.0
    assert data["error"] is None
    assert {"accuracy", "f1_macro", "balanced_accuracy"} <= set(data["metrics"])
    assert set(data["cv_metrics"]["accuracy"]) == {"mean", "std"}
    assert {p["name"] for p in data["plots"]} >= {"confusion_matrix"}
    assert data["started_at"] and data["finished_at"] and data["duration_s"] >= 0
    png = api.get(data["plots"][0]["url"])
    assert png.status_code == 200
    assert png["Content-Type"] == "image/png"
    assert b"".join(png.streaming_content).startswith(b"\x89PNG")
    assert data["model"] is not None  # registered in the model registry
    exp = Experiment.objects.get(pk=data["id"])
    assert exp.registered_model.pk == data["model"]
    assert exp.score == pytest.approx(data["metrics"]["f1_macro"])
    assert exp.attempts == 1


def test_it_stores_the_normalised_config_with_defaults(
    api: Any, iris: Any, django_capture_on_commit_callbacks: Any
) -> None:
    response = create(api, body(iris), django_capture_on_commit_callbacks)
    exp = Experiment.objects.get(pk=response.json()["id"])
    assert exp.config["validation"]["cv_folds"] == 5
    assert exp.config["preprocessing"]["scaler"] == "standard"
    assert exp.config["task"] == "classification"
    assert "max_depth" in exp.params  # defaults filled in
    assert exp.status == "queued"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"target": "nope"}, "target"),
        ({"features": ["sepal_length", "ghost"]}, "features"),
        ({"algorithm": "quantum_forest"}, "algorithm"),
        ({"algorithm": "ridge"}, "algorithm"),  # regression only, iris is classification
        ({"task": "regression"}, "target"),  # species is not numeric
        ({"params": {"max_depth": "deep"}}, "params"),
        ({"params": {"max_depth": -3}}, "params"),
        ({"params": {"no_such_param": 1}}, "params"),
        ({"validation": {"test_size": 2}}, "validation"),
        ({"preprocessing": {"scaler": "magic"}}, "preprocessing"),
        ({"tuning": {"method": "grid", "space": {"max_depth": {"low": 1, "high": 3}}}},
         "tuning"),
        ({"tuning": {"method": "random", "space": {"bogus": [1, 2]}}}, "tuning"),
        ({"time_budget_s": -1}, "time_budget_s"),
        ({"dataset": None}, "dataset"),
        ({"dataset": "abc"}, "dataset"),
        ({"dataset": 999999}, "dataset"),
    ],
)
def test_it_refuses_a_bad_config_naming_the_field(
    api: Any, iris: Any, django_capture_on_commit_callbacks: Any, change: dict, field: str
) -> None:
    response = create(api, {**body(iris), **change}, django_capture_on_commit_callbacks)
    assert response.status_code == 400, response.content
    assert field in response.json(), response.json()
    assert not Experiment.objects.exists()


def test_an_empty_body_names_every_missing_required_field(
    api: Any, iris: Any, django_capture_on_commit_callbacks: Any
) -> None:
    response = create(api, {}, django_capture_on_commit_callbacks)
    assert response.status_code == 400
    assert set(response.json()) == {"dataset", "target", "algorithm"}
    response = create(api, {"dataset": iris.pk}, django_capture_on_commit_callbacks)
    assert set(response.json()) == {"target", "algorithm"}


def test_it_refuses_a_dataset_that_is_not_ready(
    api: Any, make_dataset: Any, django_capture_on_commit_callbacks: Any
) -> None:
    processing = make_dataset("iris", status="processing")
    response = create(api, body(processing), django_capture_on_commit_callbacks)
    assert response.status_code == 400
    assert "not ready" in response.json()["dataset"][0]


def test_it_words_another_workspaces_dataset_as_missing(
    api: Any, make_dataset: Any, other_workspace: Any, django_capture_on_commit_callbacks: Any
) -> None:
    theirs = make_dataset("iris", ws=other_workspace)
    missing = create(api, body(theirs), django_capture_on_commit_callbacks)
    assert missing.status_code == 400
    assert missing.json()["dataset"] == [f'Invalid pk "{theirs.pk}" - object does not exist.']


def test_it_fails_a_job_with_the_engines_message(
    api: Any, make_dataset: Any, django_capture_on_commit_callbacks: Any
) -> None:
    import pandas as pd

    frame = pd.DataFrame({"x": range(12), "y": [0, 1] * 6})
    ds = make_dataset(frame)
    # knn with more neighbours than training rows: a DataError from the engine.
    data = {"dataset": ds.pk, "target": "y", "algorithm": "knn",
            "params": {"n_neighbors": 50}, "validation": {"cv_folds": 0}}
    response = create(api, data, django_capture_on_commit_callbacks, run=True)
    exp = Experiment.objects.get(pk=response.json()["id"])
    assert exp.status == "failed"
    assert exp.error and "Traceback" not in exp.error
    assert exp.finished_at is not None


# ---------------------------------------------------------------- list, filter, order


def test_it_lists_filters_and_orders_by_score_with_nulls_last(
    api: Any, iris: Any, make_dataset: Any, django_capture_on_commit_callbacks: Any
) -> None:
    other = make_dataset("iris", name="iris-2")
    a = create(api, body(iris), django_capture_on_commit_callbacks).json()["id"]
    b = create(api, body(iris), django_capture_on_commit_callbacks).json()["id"]
    c = create(api, body(other), django_capture_on_commit_callbacks).json()["id"]
    Experiment.objects.filter(pk=a).update(score=0.5, status="succeeded")
    Experiment.objects.filter(pk=b).update(score=0.9, status="succeeded")
    ordered = api.get(URL + "?ordering=-score").json()
    assert [e["id"] for e in ordered["results"]] == [b, a, c]
    assert ordered["count"] == 3
    assert [e["id"] for e in api.get(URL + f"?dataset={other.pk}").json()["results"]] == [c]
    assert [e["id"] for e in api.get(URL + "?status=queued").json()["results"]] == [c]
    assert api.get(URL + "?status=sleeping").status_code == 400
    assert api.get(URL + "?ordering=password").status_code == 400


def test_the_list_filters_are_one_filterset_strict_on_the_api_lenient_on_the_page(
    api: Any, client_as: Any, alice: Any, iris: Any, make_dataset: Any,
    django_capture_on_commit_callbacks: Any
) -> None:
    other = make_dataset("iris", name="iris-2")
    create(api, body(iris), django_capture_on_commit_callbacks)
    mine = create(api, body(other), django_capture_on_commit_callbacks).json()["id"]
    bad = api.get(URL + "?dataset=abc&status=sleeping&ordering=password")
    assert bad.status_code == 400
    assert bad.json() == {
        "dataset": ["Expected a dataset id."],
        "status": ["Unknown status; use one of queued, running, succeeded, failed, cancelled, "
                   "stopped."],
        "ordering": ["Use one of -score, score, -created_at, created_at, name, -name."]}
    assert api.get(URL + "?dataset=99999999999999999999").status_code == 400
    page = client_as(alice).get(f"/w/acme/experiments/?dataset={other.pk}&status=sleeping")
    assert page.status_code == 200  # the bad status is ignored, the dataset filter applies
    assert list(page.context["experiments"]) == list(
        Experiment.objects.filter(pk=mine))
    assert page.context["filters"] == {"dataset": other.pk, "status": None, "ordering": None}


# ---------------------------------------------------------------- cancel and delete


def test_it_cancels_a_queued_job_and_the_late_task_does_nothing(
    api: Any, iris: Any, django_capture_on_commit_callbacks: Any
) -> None:
    from apps.experiments.tasks import experiment_run_task

    pk = create(api, body(iris), django_capture_on_commit_callbacks).json()["id"]
    response = api.post(f"{URL}{pk}/cancel/")
    assert response.status_code == 202
    assert response.json()["status"] == "cancelled"
    assert experiment_run_task(pk) is None  # the task arrives later: nothing runs
    exp = Experiment.objects.get(pk=pk)
    assert exp.status == "cancelled" and exp.attempts == 0
    assert api.post(f"{URL}{pk}/cancel/").status_code == 409


def test_it_refuses_to_cancel_an_ended_job(
    api: Any, iris: Any, django_capture_on_commit_callbacks: Any
) -> None:
    pk = create(api, body(iris, **FAST), django_capture_on_commit_callbacks, run=True).json()["id"]
    response = api.post(f"{URL}{pk}/cancel/")
    assert response.status_code == 409
    assert "already ended" in response.json()["detail"]


def test_it_deletes_an_experiment_and_its_plot_files(
    api: Any, iris: Any, django_capture_on_commit_callbacks: Any
) -> None:
    pk = create(api, body(iris, **FAST), django_capture_on_commit_callbacks, run=True).json()["id"]
    files = [p["file"] for p in Experiment.objects.get(pk=pk).plots]
    assert files and all(default_storage.exists(f) for f in files)
    assert api.delete(f"{URL}{pk}/").status_code == 204
    assert not Experiment.objects.filter(pk=pk).exists()
    assert not any(default_storage.exists(f) for f in files)


# ---------------------------------------------------------------- exports


def test_it_exports_results_as_json_and_escaped_csv(
    api: Any, make_dataset: Any, django_capture_on_commit_callbacks: Any
) -> None:
    frame = __import__("tests.experiments.conftest", fromlist=["_frame"])._frame("iris")
    frame["species"] = "=" + frame["species"]  # a formula-looking label
    ds = make_dataset(frame)
    pk = create(api, body(ds, **FAST), django_capture_on_commit_callbacks, run=True).json()["id"]
    as_json = api.get(f"{URL}{pk}/export/")
    assert as_json.status_code == 200
    assert set(as_json.json()) >= {"config", "metrics", "cv_metrics", "leaderboard", "history"}
    as_csv = api.get(f"{URL}{pk}/export/?format=csv")
    assert as_csv.status_code == 200
    assert as_csv["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(as_csv.content.decode())))
    assert rows[0] == ["section", "item", "field", "value"]
    sections = {r[0] for r in rows[1:]}
    assert {"config", "metric", "cv_metric"} <= sections
    assert not any(cell.startswith("=") for row in rows for cell in row)
    assert api.get(f"{URL}{pk}/export/?format=xml").status_code == 400


# ---------------------------------------------------------------- tenancy


def test_outsiders_get_404_on_every_endpoint(
    api: Any, api_as: Any, charlie: Any, iris: Any, django_capture_on_commit_callbacks: Any
) -> None:
    pk = create(api, body(iris, **FAST), django_capture_on_commit_callbacks, run=True).json()["id"]
    plot = Experiment.objects.get(pk=pk).plots[0]["name"]
    outsider = api_as(charlie)
    with django_capture_on_commit_callbacks(execute=False):
        assert outsider.post(URL, body(iris), format="json").status_code == 404
    for url in (URL, f"{URL}{pk}/", f"{URL}{pk}/export/", f"{URL}{pk}/plots/{plot}/"):
        assert outsider.get(url).status_code == 404, url
    assert outsider.post(f"{URL}{pk}/cancel/").status_code == 404
    assert outsider.delete(f"{URL}{pk}/").status_code == 404
    # Acme's id under charlie's own workspace path is 404 too.
    rival = "/api/v1/workspaces/rival/experiments/"
    for url in (f"{rival}{pk}/", f"{rival}{pk}/export/", f"{rival}{pk}/plots/{plot}/"):
        assert outsider.get(url).status_code == 404, url
    assert outsider.post(f"{rival}{pk}/cancel/").status_code == 404
    assert outsider.delete(f"{rival}{pk}/").status_code == 404
    assert Experiment.objects.filter(pk=pk).exists()


def test_viewers_read_but_cannot_create_cancel_or_delete(
    api: Any, api_as: Any, bob: Any, dave: Any, iris: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    pk = create(api, body(iris), django_capture_on_commit_callbacks).json()["id"]
    viewer = api_as(bob)
    assert viewer.get(URL).status_code == 200
    assert viewer.get(f"{URL}{pk}/").status_code == 200
    with django_capture_on_commit_callbacks(execute=False):
        assert viewer.post(URL, body(iris), format="json").status_code == 403
    assert viewer.post(f"{URL}{pk}/cancel/").status_code == 403
    assert viewer.delete(f"{URL}{pk}/").status_code == 403
    member = api_as(dave)
    with django_capture_on_commit_callbacks(execute=False):
        assert member.post(URL, body(iris), format="json").status_code == 201
    assert member.post(f"{URL}{pk}/cancel/").status_code == 202


def test_it_needs_credentials(client: Any, iris: Any) -> None:
    assert client.get(URL).status_code in (401, 403)
