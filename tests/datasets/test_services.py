"""Dataset services: the stale sweeper, redelivery limits, failures, and loading for training."""

from __future__ import annotations

from datetime import timedelta

import pandas as pd
import pytest
from django.core.files.storage import default_storage
from django.utils import timezone

from apps.core.files import storage_path, storage_save
from apps.datasets import services
from apps.datasets.models import Dataset
from apps.datasets.selectors import dataset_get, dataset_list_ready
from apps.datasets.services import (
    dataset_fail_stale,
    dataset_load_frame,
    dataset_process,
)
from ml.errors import DataError

pytestmark = pytest.mark.django_db


def _stored(workspace, content: bytes, **fields) -> Dataset:
    name = storage_save(storage_path(workspace, "datasets", ".csv"), content)
    return Dataset.objects.create(workspace=workspace, name="d", file=name,
                                  size_bytes=len(content), **fields)


def _age(dataset: Dataset, **fields_minutes_ago: int) -> None:
    now = timezone.now()
    Dataset.objects.filter(pk=dataset.pk).update(
        **{f: now - timedelta(minutes=m) for f, m in fields_minutes_ago.items()}
    )


def test_fail_stale_fails_a_dataset_whose_worker_stopped_beating(workspace):
    dead = _stored(workspace, b"a\n1\n")
    _age(dead, started_at=30, heartbeat_at=20)
    alive = _stored(workspace, b"a\n1\n")
    _age(alive, started_at=30, heartbeat_at=1)
    assert dataset_fail_stale() == 1
    dead.refresh_from_db()
    alive.refresh_from_db()
    assert dead.status == "failed" and "stopped responding" in dead.error
    assert alive.status == "processing"


def test_fail_stale_fails_a_dataset_never_picked_up(workspace, settings):
    settings.DATASET_QUEUE_TIMEOUT_S = 3600
    waiting = _stored(workspace, b"a\n1\n")
    _age(waiting, created_at=120)
    fresh = _stored(workspace, b"a\n1\n")
    assert dataset_fail_stale() == 1
    waiting.refresh_from_db()
    assert waiting.status == "failed" and "never started" in waiting.error
    assert Dataset.objects.get(pk=fresh.pk).status == "processing"


def test_fail_stale_leaves_finished_datasets_alone(workspace):
    done = _stored(workspace, b"a\n1\n", status="ready")
    _age(done, created_at=10_000, heartbeat_at=10_000)
    assert dataset_fail_stale() == 0
    assert Dataset.objects.get(pk=done.pk).status == "ready"


def test_a_stale_failed_dataset_is_not_revived_by_a_late_worker(workspace):
    dataset = _stored(workspace, b"a\n1\n", status="failed", error="stopped")
    dataset_process(dataset_id=dataset.pk)
    dataset.refresh_from_db()
    assert dataset.status == "failed" and dataset.attempts == 0 and not dataset.parquet


def test_a_job_redelivered_too_often_fails_instead_of_looping(workspace):
    dataset = _stored(workspace, b"a\n1\n", attempts=2)
    dataset_process(dataset_id=dataset.pk)
    dataset.refresh_from_db()
    assert dataset.status == "failed" and dataset.attempts == 3
    assert "interrupted" in dataset.error and not dataset.parquet


def test_processing_counts_attempts_and_records_start_and_heartbeat(workspace):
    dataset = _stored(workspace, b"a,b\n1,2\n3,4\n")
    dataset_process(dataset_id=dataset.pk)
    dataset.refresh_from_db()
    assert dataset.status == "ready" and dataset.attempts == 1
    assert dataset.started_at and dataset.heartbeat_at >= dataset.started_at
    assert dataset.profile["columns"][0]["histogram"]


def test_an_unexpected_error_gives_a_generic_message_and_logs_the_traceback(
    workspace, monkeypatch, caplog
):
    dataset = _stored(workspace, b"a,b\n1,2\n")

    def broken(df):
        raise RuntimeError("secret internal detail")

    monkeypatch.setattr("ml.validation.profile_dataframe", broken)
    dataset_process(dataset_id=dataset.pk)
    dataset.refresh_from_db()
    assert dataset.status == "failed" and dataset.error == services.GENERIC_ERROR
    assert "secret" not in dataset.error
    assert "secret internal detail" in caplog.text


def test_a_dataset_deleted_during_processing_leaves_no_parquet(workspace, monkeypatch,
                                                                stored_files):
    dataset = _stored(workspace, b"a,b\n1,2\n")
    before = stored_files()
    import ml.validation

    real = ml.validation.profile_dataframe

    def profile_then_delete(df):
        Dataset.objects.filter(pk=dataset.pk).delete()  # deleted by a user meanwhile
        return real(df)

    monkeypatch.setattr(ml.validation, "profile_dataframe", profile_then_delete)
    dataset_process(dataset_id=dataset.pk)
    assert stored_files() == before


def test_load_frame_reads_the_parquet_not_the_csv(workspace, upload):
    dataset = Dataset.objects.get(pk=upload(b"a,b\n1,x\n2,y\n").json()["id"])
    default_storage.delete(dataset.file)  # training never needs the CSV again
    frame = dataset_load_frame(dataset=dataset)
    assert list(frame.columns) == ["a", "b"] and frame["a"].tolist() == [1, 2]
    frame.loc[0, "a"] = 99  # a caller's change does not leak into the cache
    assert dataset_load_frame(dataset=dataset)["a"].tolist() == [1, 2]


def test_load_frame_refuses_a_dataset_that_is_not_ready(workspace):
    dataset = _stored(workspace, b"a\n1\n")
    with pytest.raises(DataError, match="not ready"):
        dataset_load_frame(dataset=dataset)


def test_selectors_are_scoped_to_the_workspace(workspace, other_workspace, upload):
    pk = upload(b"a\n1\n").json()["id"]
    _stored(workspace, b"a\n1\n")  # still processing
    assert [d.pk for d in dataset_list_ready(workspace=workspace)] == [pk]
    assert dataset_get(workspace=workspace, pk=pk).pk == pk
    from django.http import Http404

    with pytest.raises(Http404):
        dataset_get(workspace=other_workspace, pk=pk)
    assert isinstance(dataset_load_frame(dataset=Dataset.objects.get(pk=pk)), pd.DataFrame)


def test_the_sweeper_entry_point_calls_dataset_fail_stale(workspace):
    dead = _stored(workspace, b"a\n1\n")
    _age(dead, started_at=60, heartbeat_at=60)
    from apps.core.tasks import sweep_stale_jobs

    assert sweep_stale_jobs()["datasets"] == 1
    assert Dataset.objects.get(pk=dead.pk).status == "failed"
