"""The job runner's supervisor, forking from the test process itself: a job's normal end, its
memory and time limits, a row deleted under it, and the announced files of a job killed."""

from __future__ import annotations

from typing import Any

import pytest

from apps.core import jobs
from apps.core.files import storage_path, storage_save
from apps.datasets.models import Dataset
from apps.datasets.services import DATASET_JOB, dataset_process

pytestmark = pytest.mark.django_db(transaction=True)  # the child sees only committed rows

CSV = b"a,b,c\n" + b"".join(f"{i},{i * 0.5},{'xy'[i % 2]}\n".encode() for i in range(500))


@pytest.fixture
def stored_files(settings: Any) -> Any:
    from tests.datasets.conftest import files_under

    location = settings.STORAGES["default"]["OPTIONS"]["location"]
    return lambda: files_under(location)


@pytest.fixture
def in_child(settings: Any) -> Any:
    settings.JOBS_IN_CHILD_PROCESS = True
    return settings


def _stored(workspace: Any) -> Dataset:
    name = storage_save(storage_path(workspace, "datasets", ".csv"), CSV)
    return Dataset.objects.create(workspace=workspace, name="d", file=name, size_bytes=len(CSV))


def test_a_job_runs_in_a_child_and_ends_as_the_child_wrote(workspace: Any, in_child: Any,
                                                             caplog: Any) -> None:
    caplog.set_level("INFO", logger="apps.core.jobs")
    dataset = _stored(workspace)
    assert dataset_process(dataset_id=dataset.pk) == "ready"
    dataset.refresh_from_db()
    assert (dataset.n_rows, dataset.attempts) == (500, 1) and dataset.parquet
    assert f"Dataset {dataset.pk} ended after" in caplog.text  # supervised, with its peak memory


def test_a_child_over_the_memory_limit_is_killed_and_fails_in_words(
    workspace: Any, in_child: Any, stored_files: Any
) -> None:
    in_child.JOB_MEMORY_LIMIT_MB = 0  # any child is over it at the first look
    dataset = _stored(workspace)
    before = stored_files()
    assert dataset_process(dataset_id=dataset.pk) == "failed"
    dataset.refresh_from_db()
    assert dataset.error == jobs.memory_message(0)
    assert not dataset.parquet
    assert stored_files() <= before  # nothing it began to write is left


def test_a_child_over_the_time_limit_is_killed_and_fails_saying_so(
    workspace: Any, in_child: Any
) -> None:
    in_child.JOB_TIME_LIMIT_S = 0
    dataset = _stored(workspace)
    assert dataset_process(dataset_id=dataset.pk) == "failed"
    dataset.refresh_from_db()
    assert "longer than its time limit of 0 seconds" in dataset.error


def test_the_supervisor_reads_files_announced_over_the_pipe() -> None:
    import os

    supervisor = jobs._Supervisor(DATASET_JOB, 1)
    read_fd, write_fd = os.pipe()
    os.set_blocking(read_fd, False)
    link = jobs._Link(write_fd)
    link.send("file", "workspaces/1/plots/a.png")
    os.write(write_fd, b"file\tworkspaces/1/plo")  # half a line arrives first
    supervisor._read(read_fd)
    os.write(write_fd, b"ts/b.png\nsaving\t\n")
    supervisor._read(read_fd)
    os.close(write_fd)
    os.close(read_fd)
    assert supervisor.files == ["workspaces/1/plots/a.png", "workspaces/1/plots/b.png"]
    assert supervisor.saving


def test_private_memory_is_measured_for_a_live_process_and_none_for_a_gone_one() -> None:
    import os

    assert (jobs.private_memory_mb(os.getpid()) or 0) > 1
    assert jobs.private_memory_mb(2**22 + 12345) is None
