"""/healthz, /metrics, the OpenAPI schema, the algorithm catalogue, and the file helpers."""

import pytest
from django.core.files.storage import default_storage

from apps.core.csvsafe import csv_frame_to_text, csv_safe_cell
from apps.core.files import storage_delete_prefix, storage_path, storage_save, workspace_prefix

pytestmark = pytest.mark.django_db


def test_healthz_reports_database_queue_and_storage(client, settings):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "queue": "ok", "storage": "ok"}
    from pathlib import Path

    assert not list((Path(settings.MEDIA_ROOT) / "health").glob("*"))  # the probe is removed


def test_healthz_says_503_naming_the_storage_when_files_cannot_be_written(
    client, settings, tmp_path
):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the storage folder should be")
    settings.STORAGES = {**settings.STORAGES, "default": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(blocker / "files")}}}
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json() == {"status": "error", "database": "ok", "queue": "ok",
                               "storage": "error"}


def test_healthz_says_503_when_the_database_is_down(client, monkeypatch):
    from apps.core import health

    monkeypatch.setattr(health, "_check_database", lambda: "error")
    response = client.get("/healthz")
    assert response.status_code == 503 and response.json()["database"] == "error"


def test_metrics_exposes_requests_jobs_and_queue(client):
    client.get("/healthz")
    text = client.get("/metrics").content.decode()
    assert "django_http_requests_total_by_method_total" in text
    assert "modelworks_queue_length" in text
    assert "# TYPE modelworks_jobs gauge" in text


def test_the_schema_describes_the_workspace_endpoints(client):
    response = client.get("/api/schema/", HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    paths = response.json()["paths"]
    for path in (
        "/api/v1/auth/token/",
        "/api/v1/workspaces/",
        "/api/v1/workspaces/{slug}/",
        "/api/v1/workspaces/{slug}/members/",
        "/api/v1/workspaces/{slug}/members/{username}/",
        "/api/v1/algorithms/",
        "/api/v1/workspaces/{slug}/datasets/",
        "/api/v1/workspaces/{slug}/datasets/{id}/",
        "/api/v1/workspaces/{slug}/datasets/{id}/preview/",
        "/api/v1/workspaces/{slug}/experiments/",
        "/api/v1/workspaces/{slug}/experiments/{id}/",
        "/api/v1/workspaces/{slug}/experiments/{id}/cancel/",
        "/api/v1/workspaces/{slug}/models/",
        "/api/v1/workspaces/{slug}/models/{id}/",
        "/api/v1/workspaces/{slug}/models/{id}/download/",
        "/api/v1/workspaces/{slug}/models/{id}/predict/",
    ):
        assert path in paths, path
    assert client.get("/api/docs/").status_code == 200
    assert set(paths["/api/v1/workspaces/{slug}/experiments/{id}/"]) >= {"get", "delete"}
    assert set(paths["/api/v1/workspaces/{slug}/members/{username}/"]) >= {"patch", "delete"}


def test_the_docs_page_loads_its_assets_locally(client):
    html = client.get("/api/docs/").content.decode()
    assert "cdn" not in html.lower()


def test_algorithms_list_every_required_key(api):
    body = api.get("/api/v1/algorithms/").json()
    have = {(a["key"], a["task"]) for a in body}
    both = [
        "linear",
        "random_forest",
        "extra_trees",
        "gradient_boosting",
        "hist_gradient_boosting",
        "svm",
        "knn",
        "decision_tree",
        "mlp",
        "cnn",
        "auto",
    ]
    for key in both:
        assert (key, "classification") in have and (key, "regression") in have, key
    assert ("ridge", "regression") in have and ("naive_bayes", "classification") in have
    rf = next(a for a in body if a["key"] == "random_forest")
    assert rf["params"]["n_estimators"]["type"] == "int"


def test_formula_cells_are_escaped_but_numbers_are_not():
    assert csv_safe_cell("=1+1") == "'=1+1"
    assert csv_safe_cell("@SUM(A1)") == "'@SUM(A1)"
    assert csv_safe_cell("-3.5") == "-3.5"
    assert csv_safe_cell(-3) == -3
    assert csv_safe_cell("+cmd|' /C calc'!A0") == "'+cmd|' /C calc'!A0"
    assert csv_safe_cell(None) == ""
    import pandas as pd

    text = csv_frame_to_text(pd.DataFrame({"a": ["=HYPERLINK()", "ok"], "b": [1, 2]}))
    assert "'=HYPERLINK()" in text


def test_workspace_files_are_deleted_with_the_prefix(workspace):
    name = storage_save(storage_path(workspace, "datasets", ".csv"), b"a,b\n1,2\n")
    assert default_storage.exists(name)
    assert name.startswith(workspace_prefix(workspace) + "/datasets/")
    storage_delete_prefix(workspace_prefix(workspace))
    assert not default_storage.exists(name)


def test_an_oversized_body_is_413_before_csrf_reads_it(client_as, alice, settings):
    settings.MAX_UPLOAD_BYTES = 1000
    c = client_as(alice)
    c.handler.enforce_csrf_checks = True
    body = b"x" * 200_000
    page = c.generic(
        "POST", "/w/acme/datasets/upload/", body, content_type="multipart/form-data; boundary=x"
    )
    assert page.status_code == 413 and "larger than the upload limit" in page.content.decode()
    api = c.generic(
        "POST",
        "/api/v1/workspaces/acme/datasets/",
        body,
        content_type="multipart/form-data; boundary=x",
    )
    assert api.status_code == 413 and "upload limit" in api.json()["detail"]


def test_every_model_change_has_a_migration():
    from io import StringIO

    from django.core.management import call_command

    out = StringIO()
    call_command("makemigrations", "--check", "--dry-run", stdout=out)
    assert "No changes detected" in out.getvalue()
