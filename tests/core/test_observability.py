"""JSON logs with request id, user and workspace; job metrics read from the rows at scrape time."""

from __future__ import annotations

import json
import logging
from datetime import timedelta

import pytest
from django.utils import timezone

from apps.core.logs import ContextFilter, JsonFormatter, log_bind, log_clear

pytestmark = pytest.mark.django_db


class Lines(logging.Handler):
    """The JSON lines the production handler would write."""

    def __init__(self) -> None:
        super().__init__()
        self.addFilter(ContextFilter())
        self.setFormatter(JsonFormatter())
        self.lines: list[dict] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(json.loads(self.format(record)))


@pytest.fixture
def lines():
    handler = Lines()
    root = logging.getLogger()
    access = logging.getLogger("modelworks.access")
    level = access.level
    access.setLevel(logging.INFO)
    root.addHandler(handler)
    try:
        yield handler.lines
    finally:
        root.removeHandler(handler)
        access.setLevel(level)


def test_each_request_logs_one_json_line_with_its_id_user_and_workspace(api, workspace, lines):
    response = api.get(f"/api/v1/workspaces/{workspace.slug}/datasets/",
                       HTTP_X_REQUEST_ID="edge-42")
    assert response.status_code == 200
    assert response["X-Request-ID"] == "edge-42"  # a proxy's id is kept and sent back
    access = [line for line in lines if line["logger"] == "modelworks.access"]
    assert len(access) == 1
    line = access[0]
    assert line["request_id"] == "edge-42" and line["user"] == "alice"
    assert line["workspace"] == workspace.slug
    assert line["method"] == "GET" and line["status"] == 200 and line["duration_ms"] >= 0
    assert line["path"] == f"/api/v1/workspaces/{workspace.slug}/datasets/"


def test_a_request_without_an_id_gets_one_and_a_warning_inside_it_carries_it(client, lines):
    response = client.get("/healthz")
    request_id = response["X-Request-ID"]
    assert len(request_id) == 32
    assert [line["request_id"] for line in lines if line["logger"] == "modelworks.access"] == [
        request_id]
    assert "user" not in lines[-1]  # anonymous
    log_bind(job="experiment 7")
    logging.getLogger("apps.test").warning("inside a job")
    log_clear()
    assert lines[-1]["job"] == "experiment 7" and lines[-1]["message"] == "inside a job"


def test_an_exception_is_one_line_too(lines):
    try:
        raise ValueError("boom")
    except ValueError:
        logging.getLogger("apps.test").exception("it failed")
    assert "ValueError: boom" in lines[-1]["exception"]


def test_metrics_count_recent_job_ends_and_their_durations(client, workspace, alice):
    from apps.datasets.models import Dataset
    from apps.experiments.models import Experiment

    dataset = Dataset.objects.create(workspace=workspace, name="d", file="f.csv", parquet="p",
                                     status="ready", created_by=alice)
    now = timezone.now()
    for seconds, status in ((4, "succeeded"), (10, "succeeded"), (2, "failed")):
        Experiment.objects.create(workspace=workspace, dataset=dataset, target="y",
                                  task="classification", algorithm="linear", status=status,
                                  started_at=now - timedelta(seconds=seconds), finished_at=now)
    old = now - timedelta(hours=3)
    Experiment.objects.create(workspace=workspace, dataset=dataset, target="y",
                              task="classification", algorithm="linear", status="failed",
                              started_at=old, finished_at=old)
    text = client.get("/metrics").content.decode()
    assert 'modelworks_jobs_ended_last_hour{kind="experiment",status="succeeded"} 2.0' in text
    assert 'modelworks_jobs_ended_last_hour{kind="experiment",status="failed"} 1.0' in text
    assert 'modelworks_job_duration_seconds{kind="experiment",quantile="1.0"} 10.0' in text
    assert 'modelworks_job_duration_seconds{kind="experiment",quantile="0.5"} 4.0' in text
    assert 'modelworks_jobs{kind="experiment",status="failed"} 2.0' in text
    assert "django_http_requests_latency_seconds_by_view_method_bucket" in text


def test_a_job_run_inline_logs_its_job_and_gives_the_request_its_context_back(
        api, workspace, lines, django_capture_on_commit_callbacks):
    from apps.core import jobs
    from apps.datasets.services import DATASET_JOB

    log_bind(request_id="r-1")
    try:
        assert jobs.run(DATASET_JOB, 123456) is None  # no such row: not claimed
        assert lines[-1]["job"] == "dataset 123456"
        logging.getLogger("apps.test").warning("after the job")
        assert lines[-1]["request_id"] == "r-1" and "job" not in lines[-1]
    finally:
        log_clear()
