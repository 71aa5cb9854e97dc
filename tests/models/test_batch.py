"""Batch prediction on the page: small files inline, big ones as a background job."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from typing import Any

import pytest
from django.core.files.storage import default_storage
from django.utils import timezone

from apps.core.models import AuditEvent
from apps.models.models import BatchPrediction, BatchStatus

pytestmark = pytest.mark.django_db

CLF_CSV = (
    "x1,x2,color,note\n"
    "1.5,0,red,=HYPERLINK(\"http://x\")\n"
    "-2,0.5,blue,fine\n"
    "0.1,-1,green,@SUM(A1)\n"
    "0.9,2,red,+1+2\n"
    "-0.3,0.3,blue,ok\n"
)


def page(model: Any, suffix: str = "", slug: str = "acme") -> str:
    return f"/w/{slug}/models/{model.pk}/batch/{suffix}"


def upload(text: str, name: str = "rows.csv") -> io.BytesIO:
    fh = io.BytesIO(text.encode())
    fh.name = name
    return fh


@pytest.fixture
def small_jobs(settings: Any) -> Any:
    """Files over 2 rows run as a job, predicted 2 rows per step."""
    settings.BATCH_PREDICT_INLINE_ROWS = 2
    settings.BATCH_PREDICT_CHUNK_ROWS = 2
    return settings


def _start(client: Any, model: Any, text: str, capture: Any) -> BatchPrediction:
    with capture(execute=True):
        response = client.post(page(model), {"file": upload(text)})
    assert response.status_code == 302, response.content
    job = BatchPrediction.objects.get(model=model)
    assert response["Location"] == page(model, f"{job.pk}/")
    return job


def _download(client: Any, model: Any, job: Any) -> Any:
    response = client.get(page(model, f"{job.pk}/download/"))
    assert response.status_code == 200
    return response


def test_small_files_still_download_at_once_without_a_background_job(
    client_as: Any, bob: Any, register: Any, clf_result: Any
) -> None:
    model = register(clf_result)
    response = client_as(bob).post(page(model), {"file": upload(CLF_CSV)})
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment;")
    assert len(list(csv.DictReader(io.StringIO(response.content.decode())))) == 5
    # Kept as a finished prediction (listed on the page), never queued as a job.
    kept = BatchPrediction.objects.get()
    assert kept.inline and kept.status == "succeeded" and not kept.input_file


def test_a_big_file_becomes_a_job_whose_csv_matches_the_json_api(
    client_as: Any, api: Any, bob: Any, register: Any, clf_result: Any, small_jobs: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    model = register(clf_result)
    client = client_as(bob)  # viewers may predict
    job = _start(client, model, CLF_CSV, django_capture_on_commit_callbacks)
    job.refresh_from_db()
    assert job.status == BatchStatus.SUCCEEDED, job.error
    assert job.progress == 1.0 and job.n_rows == 5 and job.created_by == bob
    assert job.started_at and job.finished_at and job.heartbeat_at
    assert job.input_file == "" and job.output_file.startswith(f"workspaces/{model.workspace_id}/")

    response = _download(client, model, job)
    assert response["Content-Disposition"].startswith("attachment;")
    assert response["X-Content-Type-Options"] == "nosniff"
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert [r["note"] for r in rows] == [
        "'=HYPERLINK(\"http://x\")", "fine", "'@SUM(A1)", "'+1+2", "ok"]

    sent = [{"x1": r["x1"], "x2": r["x2"], "color": r["color"]} for r in
            csv.DictReader(io.StringIO(CLF_CSV))]
    answer = api.post(f"/api/v1/workspaces/acme/models/{model.pk}/predict/", {"rows": sent},
                      format="json").json()
    assert [r["prediction"] for r in rows] == answer["predictions"]
    for i, label in enumerate(answer["classes"]):
        assert [float(r[f"proba_{label}"]) for r in rows] == [
            p[i] for p in answer["probabilities"]]
    verbs = set(AuditEvent.objects.values_list("verb", flat=True))
    assert {"model.batch_predict", "model.batch_download"} <= verbs


def test_the_status_fragment_polls_until_the_job_ends(
    client_as: Any, alice: Any, register: Any, clf_result: Any, small_jobs: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    model = register(clf_result)
    client = client_as(alice)
    with django_capture_on_commit_callbacks(execute=False):  # queued, never run
        client.post(page(model), {"file": upload(CLF_CSV)})
    job = BatchPrediction.objects.get(model=model)
    running = client.get(page(model, f"{job.pk}/"), HTTP_HX_REQUEST="true")
    html = running.content.decode()
    assert running.status_code == 200 and "<html" not in html
    assert 'hx-trigger="every 1s"' in html and "queued" in html

    from apps.models.services import batch_prediction_execute

    assert batch_prediction_execute(batch_id=job.pk) == BatchStatus.SUCCEEDED
    ended = client.get(page(model, f"{job.pk}/"), HTTP_HX_REQUEST="true")
    html = ended.content.decode()
    assert ended.status_code == 286  # htmx stops polling
    assert "hx-trigger" not in html and "100%" in html
    assert page(model, f"{job.pk}/download/") in html
    full = client.get(page(model)).content.decode()  # the recent-jobs list
    assert "succeeded" in full and page(model, f"{job.pk}/download/") in full


def test_a_job_with_missing_columns_fails_naming_them(
    client_as: Any, alice: Any, register: Any, clf_result: Any, small_jobs: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    model = register(clf_result)
    client = client_as(alice)
    job = _start(client, model, "x1,colour\n1,red\n2,blue\n3,red\n",
                 django_capture_on_commit_callbacks)
    job.refresh_from_db()
    assert job.status == BatchStatus.FAILED and job.output_file == ""
    assert "x2" in job.error and "color" in job.error
    html = client.get(page(model, f"{job.pk}/"), HTTP_HX_REQUEST="true").content.decode()
    assert "flash-error" in html and "x2" in html
    assert client.get(page(model, f"{job.pk}/download/")).status_code == 404


def test_a_damaged_bundle_fails_the_job_with_a_message(
    client_as: Any, alice: Any, register: Any, clf_result: Any, small_jobs: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    model = register(clf_result)
    with default_storage.open(model.file, "wb") as fh:
        fh.write(b"not a bundle")
    job = _start(client_as(alice), model, CLF_CSV, django_capture_on_commit_callbacks)
    job.refresh_from_db()
    assert job.status == BatchStatus.FAILED and "damaged" in job.error


def test_a_png_named_csv_is_refused_before_a_job_is_made(
    client_as: Any, alice: Any, register: Any, clf_result: Any, small_jobs: Any
) -> None:
    model = register(clf_result)
    png = io.BytesIO(b"\x89PNG\r\n\x1a\n" + b"\x00" * 64 + b"\n\n\n")
    png.name = "photo.csv"
    response = client_as(alice).post(page(model), {"file": png})
    assert response.status_code == 400 and b"flash-error" in response.content
    assert not BatchPrediction.objects.exists()


def test_outsiders_get_404_on_the_status_and_the_download(
    client_as: Any, alice: Any, charlie: Any, register: Any, clf_result: Any, small_jobs: Any,
    other_workspace: Any, django_capture_on_commit_callbacks: Any,
) -> None:
    model = register(clf_result)
    job = _start(client_as(alice), model, CLF_CSV, django_capture_on_commit_callbacks)
    theirs = register(clf_result, ws=other_workspace)
    client = client_as(charlie)
    for suffix in (f"{job.pk}/", f"{job.pk}/download/"):
        assert client.get(page(model, suffix)).status_code == 404
        assert client.get(page(model, suffix, slug="rival")).status_code == 404
        # Workspace A's job id under charlie's own model in workspace B.
        assert client.get(page(theirs, suffix, slug="rival")).status_code == 404
    assert client.post(page(model), {"file": upload(CLF_CSV)}).status_code == 404


def test_the_sweeper_fails_jobs_whose_worker_went_quiet(
    register: Any, clf_result: Any, workspace: Any, alice: Any, settings: Any
) -> None:
    from apps.models.services import BATCH_STALE_MESSAGE, batch_prediction_fail_stale

    settings.JOB_STALE_AFTER_S = 60
    model = register(clf_result)
    now = timezone.now()
    old = now - timedelta(seconds=300)
    quiet = BatchPrediction.objects.create(workspace=workspace, model=model, created_by=alice,
                                           status=BatchStatus.RUNNING, started_at=old,
                                           heartbeat_at=old, input_file="gone.csv")
    alive = BatchPrediction.objects.create(workspace=workspace, model=model,
                                           status=BatchStatus.RUNNING, started_at=old,
                                           heartbeat_at=now)
    done = BatchPrediction.objects.create(workspace=workspace, model=model,
                                          status=BatchStatus.SUCCEEDED, heartbeat_at=old)
    assert batch_prediction_fail_stale() == 1
    quiet.refresh_from_db()
    assert quiet.status == BatchStatus.FAILED and quiet.error == BATCH_STALE_MESSAGE
    assert quiet.finished_at is not None and quiet.input_file == ""
    assert BatchPrediction.objects.get(pk=alive.pk).status == BatchStatus.RUNNING
    assert BatchPrediction.objects.get(pk=done.pk).status == BatchStatus.SUCCEEDED
    assert batch_prediction_fail_stale() == 0


def test_deleting_the_model_deletes_its_jobs_and_their_files(
    client_as: Any, alice: Any, register: Any, clf_result: Any, small_jobs: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    from apps.models.services import model_delete

    model = register(clf_result)
    job = _start(client_as(alice), model, CLF_CSV, django_capture_on_commit_callbacks)
    job.refresh_from_db()
    assert default_storage.exists(job.output_file)
    with django_capture_on_commit_callbacks(execute=True):
        model_delete(model=model, user=alice)
    assert not BatchPrediction.objects.filter(pk=job.pk).exists()
    assert not default_storage.exists(job.output_file)


@pytest.mark.integration
def test_a_real_worker_runs_a_batch_job_to_a_downloadable_csv(
    worker: Any, client_as: Any, bob: Any, register: Any, clf_result: Any, settings: Any
) -> None:
    from tests.conftest import wait_for

    settings.BATCH_PREDICT_INLINE_ROWS = 2  # decided here, in the web process
    model = register(clf_result)
    client = client_as(bob)
    response = client.post(page(model), {"file": upload(CLF_CSV)})
    assert response.status_code == 302, response.content
    job = BatchPrediction.objects.get(model=model)

    def ended() -> bool:
        job.refresh_from_db()
        return job.status in (BatchStatus.SUCCEEDED, BatchStatus.FAILED)

    wait_for(ended, timeout=90)
    assert job.status == BatchStatus.SUCCEEDED, (job.error, worker.log_tail())
    # The one job runner; its end hook removes the input a moment after the row ends.
    assert wait_for(lambda: worker.ran_in_a_job_process("Batch prediction", job.pk), timeout=10)
    assert wait_for(lambda: not BatchPrediction.objects.get(pk=job.pk).input_file, timeout=10)
    rows = list(csv.DictReader(io.StringIO(_download(client, model, job).getvalue().decode())))
    assert len(rows) == 5 and all(r["prediction"] for r in rows)


def test_a_file_answered_at_once_is_listed_and_can_be_downloaded_again(
    client_as: Any, alice: Any, register: Any, reg_result: Any
) -> None:
    import io

    from apps.models.models import BatchPrediction

    model = register(reg_result)
    upload = io.BytesIO(b"size,rooms\n100,2\n150,3\n")
    upload.name = "few.csv"
    client = client_as(alice)
    answered = client.post(f"/w/acme/models/{model.pk}/batch/", {"file": upload})
    assert answered.status_code == 200 and answered["Content-Type"].startswith("text/csv")
    kept = BatchPrediction.objects.get(model=model)
    assert kept.inline and kept.status == "succeeded" and kept.n_rows == 2
    page = client.get(f"/w/acme/models/{model.pk}/batch/").content.decode()
    assert "few.csv" in page and "at once" in page
    again = client.get(f"/w/acme/models/{model.pk}/batch/{kept.pk}/download/")
    assert b"".join(again.streaming_content if again.streaming else [again.content]) == (
        answered.content)
