"""The datasets API: contract shape, preview, rename, delete, and tenancy on every endpoint."""

from __future__ import annotations

import os

import pytest
from django.core.files.storage import default_storage

from apps.datasets.models import Dataset
from tests.datasets.conftest import api_url

pytestmark = pytest.mark.django_db

CSV = b"x,y,label\n1,2.5,a\n2,,b\n3,1.0,a\n4,NaN,b\n"
FIELDS = {"id", "name", "status", "error", "n_rows", "n_columns", "size_bytes", "created_at",
          "columns", "quality"}


@pytest.fixture
def dataset(upload):
    response = upload(CSV, "points.csv")
    assert response.status_code == 201
    return Dataset.objects.get(pk=response.json()["id"])


def test_upload_answers_201_with_the_dataset_processing(upload):
    response = upload(CSV, "points.csv", name="My points")
    body = response.json()
    assert response.status_code == 201
    assert FIELDS <= set(body)
    assert body["status"] == "processing" and body["name"] == "My points"
    assert body["size_bytes"] == len(CSV)


def test_detail_has_the_contract_fields_once_ready(api, workspace, dataset):
    body = api.get(api_url(workspace, f"{dataset.pk}/")).json()
    assert FIELDS <= set(body)
    assert body["status"] == "ready" and body["error"] is None
    assert (body["n_rows"], body["n_columns"]) == (4, 3)
    assert body["columns"][1] == {"name": "y", "dtype": "float64", "kind": "numeric",
                                  "n_missing": 2, "n_unique": 2}
    assert body["quality"]["missing_cells"] == 2
    assert set(body["quality"]) == {"missing_cells", "duplicate_rows", "warnings"}


def test_list_is_paginated_the_drf_way(api, workspace, dataset):
    body = api.get(api_url(workspace)).json()
    assert body["count"] == 1 and body["next"] is None
    assert body["results"][0]["id"] == dataset.pk


def test_preview_returns_json_safe_rows(api, workspace, dataset):
    response = api.get(api_url(workspace, f"{dataset.pk}/preview/?rows=2"))
    assert response.status_code == 200
    assert response.json() == {"columns": ["x", "y", "label"],
                               "rows": [[1, 2.5, "a"], [2, None, "b"]]}
    everything = api.get(api_url(workspace, f"{dataset.pk}/preview/")).json()
    assert len(everything["rows"]) == 4 and everything["rows"][3][1] is None


def test_preview_caps_rows_at_500_and_refuses_words(api, workspace, upload):
    body = b"n\n" + b"".join(f"{i}\n".encode() for i in range(700))
    pk = upload(body).json()["id"]
    assert len(api.get(api_url(workspace, f"{pk}/preview/?rows=100000")).json()["rows"]) == 500
    assert len(api.get(api_url(workspace, f"{pk}/preview/")).json()["rows"]) == 20
    assert api.get(api_url(workspace, f"{pk}/preview/?rows=lots")).status_code == 400


def test_delete_answers_204_and_removes_the_stored_files(api, workspace, dataset,
                                                       django_capture_on_commit_callbacks):
    names = [dataset.file, dataset.parquet]
    assert all(default_storage.exists(n) for n in names)
    with django_capture_on_commit_callbacks(execute=True):
        response = api.delete(api_url(workspace, f"{dataset.pk}/"))
    assert response.status_code == 204
    assert not Dataset.objects.filter(pk=dataset.pk).exists()
    assert not any(default_storage.exists(n) for n in names)


def test_rename_changes_the_name(api, workspace, dataset):
    response = api.patch(api_url(workspace, f"{dataset.pk}/"), {"name": "Renamed"}, format="json")
    assert response.status_code == 200 and response.json()["name"] == "Renamed"
    assert api.patch(api_url(workspace, f"{dataset.pk}/"), {"name": " "},
                     format="json").status_code == 400


def test_a_failed_dataset_says_why(upload, api, workspace):
    pk = upload(b"a,b\n").json()["id"]
    body = api.get(api_url(workspace, f"{pk}/")).json()
    assert body["status"] == "failed" and "no data rows" in body["error"]
    assert body["n_rows"] is None and body["quality"] is None


def test_the_upload_temp_file_is_gone_after_the_request(upload, settings):
    upload(CSV)
    assert os.listdir(settings.FILE_UPLOAD_TEMP_DIR) == []


# ---------------------------------------------------------------- tenancy

READS = ["", "{pk}/", "{pk}/preview/", "{pk}/download/"]


@pytest.mark.parametrize("suffix", READS)
def test_an_outsider_gets_404_on_every_read(api_as, charlie, workspace, dataset, suffix):
    response = api_as(charlie).get(api_url(workspace, suffix.format(pk=dataset.pk)))
    assert response.status_code == 404


@pytest.mark.parametrize("suffix", READS)
def test_a_viewer_and_a_member_can_read(api_as, bob, dave, workspace, dataset, suffix):
    for user in (bob, dave):
        response = api_as(user).get(api_url(workspace, suffix.format(pk=dataset.pk)))
        assert response.status_code == 200, (user, suffix)


def test_an_outsider_cannot_upload_delete_or_rename(api_as, charlie, workspace, dataset, upload):
    client = api_as(charlie)
    assert upload(CSV, client=client).status_code == 404
    assert client.delete(api_url(workspace, f"{dataset.pk}/")).status_code == 404
    assert client.patch(api_url(workspace, f"{dataset.pk}/"), {"name": "x"},
                        format="json").status_code == 404
    assert Dataset.objects.count() == 1


def test_a_viewer_gets_403_on_upload_delete_and_rename(api_as, bob, workspace, dataset, upload,
                                                       stored_files):
    client = api_as(bob)
    before = stored_files()
    assert upload(CSV, client=client).status_code == 403
    assert stored_files() == before
    assert client.delete(api_url(workspace, f"{dataset.pk}/")).status_code == 403
    assert client.patch(api_url(workspace, f"{dataset.pk}/"), {"name": "x"},
                        format="json").status_code == 403
    assert Dataset.objects.get().name == "points"


def test_a_member_can_upload_rename_and_delete(api_as, dave, workspace, upload):
    client = api_as(dave)
    response = upload(CSV, client=client)
    assert response.status_code == 201
    pk = response.json()["id"]
    assert client.patch(api_url(workspace, f"{pk}/"), {"name": "d"},
                        format="json").status_code == 200
    assert client.delete(api_url(workspace, f"{pk}/")).status_code == 204


def test_an_id_from_another_workspace_is_404(api_as, charlie, other_workspace, workspace,
                                             dataset):
    client = api_as(charlie)
    for suffix in ("{pk}/", "{pk}/preview/", "{pk}/download/"):
        url = api_url(other_workspace, suffix.format(pk=dataset.pk))
        assert client.get(url).status_code == 404
    assert client.delete(api_url(other_workspace, f"{dataset.pk}/")).status_code == 404
    assert Dataset.objects.filter(pk=dataset.pk).exists()


def test_no_credentials_is_401(client, workspace):
    assert client.get(api_url(workspace)).status_code == 401


def test_the_schema_describes_the_dataset_endpoints(api):
    schema = api.get("/api/schema/?format=json").json()
    paths = schema["paths"]
    base = "/api/v1/workspaces/{slug}/datasets/"
    assert {"get", "post"} <= set(paths[base])
    assert {"get", "delete"} <= set(paths[base + "{id}/"])
    assert "get" in paths[base + "{id}/preview/"]
    body = paths[base]["post"]["requestBody"]["content"]
    assert "multipart/form-data" in body
