"""Work one request can cause is bounded, and workspaces have quotas (security review, #14)."""

from __future__ import annotations

import io
from typing import Any

import pandas as pd
import pytest

from apps.experiments.models import Experiment, Status

pytestmark = pytest.mark.django_db


def _csv(text: str, name: str = "data.csv") -> io.BytesIO:
    upload = io.BytesIO(text.encode())
    upload.name = name
    return upload


# --- quotas ----------------------------------------------------------------------------------


def test_past_the_job_quota_a_new_experiment_is_429_with_retry_after(
    api: Any, iris: Any, settings: Any, workspace: Any, alice: Any
) -> None:
    settings.WORKSPACE_MAX_ACTIVE_JOBS = 2
    for _ in range(2):
        Experiment.objects.create(workspace=workspace, dataset=iris, created_by=alice,
                                  name="busy", target="species", task="classification",
                                  algorithm="linear", status=Status.QUEUED)
    body = {"dataset": iris.pk, "target": "species", "algorithm": "linear"}
    refused = api.post("/api/v1/workspaces/acme/experiments/", body, format="json")
    assert refused.status_code == 429
    assert int(refused["Retry-After"]) > 0 and "2 jobs queued or running" in refused.json()[
        "detail"]
    page = _page(alice).post("/w/acme/experiments/new/", {**body, "algorithm": "linear"})
    assert page.status_code == 429 and "2 jobs queued or running" in page.content.decode()
    upload = api.post("/api/v1/workspaces/acme/datasets/", {"file": _csv("a,b\n1,2\n")},
                      format="multipart")
    assert upload.status_code == 429
    Experiment.objects.filter(workspace=workspace).update(status=Status.SUCCEEDED)
    assert api.post("/api/v1/workspaces/acme/experiments/", body, format="json"
                    ).status_code == 201


def _page(user: Any) -> Any:
    from django.test import Client

    client = Client()
    client.force_login(user)
    return client


def test_past_the_storage_quota_uploads_and_training_are_refused(
    api: Any, iris: Any, settings: Any, client_as: Any, alice: Any
) -> None:
    iris.size_bytes = 5_000
    iris.save(update_fields=["size_bytes"])
    settings.WORKSPACE_MAX_STORAGE_BYTES = 6_000
    big = _csv("a,b\n" + "1,2\n" * 1000)
    refused = api.post("/api/v1/workspaces/acme/datasets/", {"file": big}, format="multipart")
    assert refused.status_code == 413 and "limit" in refused.json()["detail"]
    iris.size_bytes = 7_000
    iris.save(update_fields=["size_bytes"])
    train = api.post("/api/v1/workspaces/acme/experiments/",
                     {"dataset": iris.pk, "target": "species", "algorithm": "linear"},
                     format="json")
    assert train.status_code == 413 and "Delete" in train.json()["detail"]
    dashboard = client_as(alice).get("/w/acme/").content.decode()
    assert "Storage: 6.8" in dashboard and "of 5.9" in dashboard


# --- bounded work in the web process -----------------------------------------------------------


def test_an_experiment_request_reads_only_the_target_column(
    api: Any, make_dataset: Any, monkeypatch: Any
) -> None:
    import apps.datasets.services as datasets

    frame = pd.DataFrame({f"f{i}": range(300) for i in range(40)} | {"y": [0, 1] * 150})
    dataset = make_dataset(frame)
    read: list[Any] = []
    real = datasets.read_parquet

    def spy(fh: Any, **kwargs: Any) -> Any:
        out = real(fh, **kwargs)
        read.append(out.shape)
        return out

    monkeypatch.setattr(datasets, "read_parquet", spy)
    created = api.post("/api/v1/workspaces/acme/experiments/",
                       {"dataset": dataset.pk, "target": "y", "algorithm": "linear"},
                       format="json")
    assert created.status_code == 201, created.content
    assert read == [(300, 1)]
    unknown = api.post("/api/v1/workspaces/acme/experiments/",
                       {"dataset": dataset.pk, "target": "nope", "algorithm": "linear"},
                       format="json")
    assert unknown.status_code == 400 and "target" in unknown.json()


def test_the_form_report_reads_a_bounded_sample(
    client_as: Any, alice: Any, make_dataset: Any, settings: Any, monkeypatch: Any
) -> None:
    import apps.datasets.services as datasets

    settings.FORM_SAMPLE_CELLS = 10_000
    frame = pd.DataFrame({f"f{i}": range(5000) for i in range(10)} | {"y": [0, 1] * 2500})
    dataset = make_dataset(frame)
    shapes: list[Any] = []
    real = datasets.read_parquet

    def spy(fh: Any, **kwargs: Any) -> Any:
        out = real(fh, **kwargs)
        shapes.append(out.shape)
        return out

    monkeypatch.setattr(datasets, "read_parquet", spy)
    page = client_as(alice).get(f"/w/acme/experiments/new/fields/?dataset={dataset.pk}"
                                "&target=y&algorithm=linear")
    assert page.status_code == 200
    assert (5000, 1) in shapes  # the whole target: class counts are exact
    assert max(rows * cols for rows, cols in shapes) <= 11 * 1000  # the sample: 1,000 rows
    assert "2,500" in page.content.decode() or "2500" in page.content.decode()


def test_the_frame_cache_counts_the_strings_of_text_columns(
    make_dataset: Any, settings: Any, monkeypatch: Any
) -> None:
    import apps.datasets.services as datasets

    frame = pd.DataFrame({"text": ["x" * 2000] * 2000, "y": [0, 1] * 1000})
    dataset = make_dataset(frame)
    monkeypatch.setattr(datasets, "_CACHE_MAX_BYTES", 1_000_000)  # the text is ~4 MB
    datasets._CACHE.clear()
    datasets.dataset_load_frame(dataset=dataset)
    assert not datasets._CACHE


def test_the_model_cache_is_bounded_in_bytes(register: Any, clf_result: Any) -> None:
    from apps.models.cache import BundleCache

    first, second = register(clf_result, name="a"), register(clf_result, name="b")
    probe = BundleCache(maxsize=16)
    size = probe.get(first).nbytes
    assert size > 0
    cache = BundleCache(maxsize=16, max_bytes=int(size * 1.5))
    cache.get(first)
    cache.get(second)
    assert [pk for pk, _ in cache.stats().keys] == [second.pk]
    tiny = BundleCache(maxsize=16, max_bytes=size - 1)
    assert tiny.get(first) is not None and tiny.stats().keys == []


def test_a_keras_layer_list_has_a_length_cap(api: Any, iris: Any) -> None:
    body = {"dataset": iris.pk, "target": "species", "algorithm": "mlp",
            "params": {"hidden_layers": [8] * 1000}}
    refused = api.post("/api/v1/workspaces/acme/experiments/", body, format="json")
    assert refused.status_code == 400
    assert "1 to 8" in str(refused.json())


def test_the_api_refuses_a_csv_too_big_to_predict_at_once(
    api: Any, register: Any, reg_result: Any, settings: Any
) -> None:
    settings.MODEL_PREDICT_CSV_MAX_BYTES = 1000
    model = register(reg_result)
    upload = _csv("size,rooms\n" + "1.5,2\n" * 400)
    refused = api.post(f"/api/v1/workspaces/acme/models/{model.pk}/predict/", {"file": upload},
                       format="multipart")
    assert refused.status_code == 413 and "batch prediction" in refused.json()["detail"]


def test_the_page_sends_a_wide_file_to_the_background(
    client_as: Any, alice: Any, register: Any, reg_result: Any, settings: Any
) -> None:
    from apps.models.models import BatchPrediction

    settings.BATCH_PREDICT_INLINE_BYTES = 1000
    model = register(reg_result)
    upload = _csv("size,rooms\n" + "1.5,2\n" * 400)
    response = client_as(alice).post(f"/w/acme/models/{model.pk}/batch/", {"file": upload})
    assert response.status_code == 302
    assert BatchPrediction.objects.filter(model=model).count() == 1
