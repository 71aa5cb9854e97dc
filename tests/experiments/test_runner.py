"""The job runner with a real worker: a cancel stops a job inside a C-level fit, and a job over
its memory or time limit is killed and ends failed in words, while the worker carries on."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest

from apps.core.jobs import memory_message
from tests.conftest import Worker, queued_for_real, wait_for

pytestmark = pytest.mark.integration

URL = "/api/v1/workspaces/acme/experiments/"
# One long scikit-learn fit with no progress callback inside: only a kill can stop it at once.
LONG_FOREST = {"algorithm": "random_forest", "params": {"n_estimators": 5000},
               "validation": {"cv_folds": 0}}


def post(api: Any, dataset: Any, **extra: Any) -> int:
    data = {"dataset": dataset.pk, "target": "species", "algorithm": "decision_tree",
            "validation": {"cv_folds": 0}, **extra}
    response = api.post(URL, data, format="json")
    assert response.status_code == 201, response.content
    return int(response.json()["id"])


def ended(api: Any, pk: int) -> dict[str, Any] | None:
    data = api.get(f"{URL}{pk}/").json()
    return data if data["status"] in ("succeeded", "failed", "cancelled", "stopped") else None


def fitting(api: Any, pk: int) -> bool:
    data = api.get(f"{URL}{pk}/").json()
    return data["status"] == "running" and any("Fitting" in line for line in data["log"])


def stored_files() -> set[str]:
    root = Path(os.environ["DATA_DIR"]) / "files"
    return {str(p) for p in root.rglob("*") if p.is_file()} if root.exists() else set()


def job_processes(worker: Worker) -> set[int]:
    """The pids of job children: grandchildren of the cluster below its worker processes."""
    assert worker.proc is not None
    cluster = psutil.Process(worker.proc.pid)
    below = {p.pid for p in cluster.children(recursive=True)}
    workers = {p.pid for p in cluster.children(recursive=False)}
    # django-q2: qcluster -> sentinel -> workers/monitor/pusher -> (our job child)
    for sentinel in cluster.children():
        workers |= {p.pid for p in sentinel.children()}
    return below - workers - {p.pid for p in cluster.children()}


@pytest.fixture
def slow_data(make_dataset: Any) -> Any:
    """4,000 rows of 20 noisy features: 5,000 trees take minutes on it, not the second or two
    they take on iris, so a cancel or a time limit always lands inside the fit, however busy
    the machine is."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.normal(size=(4000, 20)), columns=[f"x{i}" for i in range(20)])
    frame["species"] = rng.choice(["a", "b", "c"], 4000)
    return make_dataset(frame, name="slow")


def test_a_cancel_stops_a_job_inside_its_fit_at_once(api: Any, iris: Any, slow_data: Any,
                                                     worker: Any) -> None:
    before = stored_files()
    pk = post(api, slow_data, **LONG_FOREST)
    wait_for(lambda: fitting(api, pk), timeout=60)
    children = wait_for(lambda: job_processes(worker), timeout=10)
    assert len(children) == 1
    assert api.post(f"{URL}{pk}/cancel/").status_code == 202
    data = wait_for(lambda: ended(api, pk), timeout=20, interval=0.1)
    assert data["status"] == "cancelled", data
    assert data["model"] is None and data["plots"] == [] and not data["error"]
    assert "Cancelled: the job was stopped at once." in data["log"]
    assert not any(psutil.pid_exists(pid) and psutil.Process(pid).status() != "zombie"
                   for pid in children)  # the child is gone
    assert stored_files() == before  # and nothing of it stays stored
    nxt = post(api, iris)  # the worker takes the next job
    assert wait_for(lambda: ended(api, nxt), timeout=60)["status"] == "succeeded"


def test_stop_and_keep_the_best_ends_a_running_auto_stopped_with_its_model(
    api: Any, slow_data: Any, worker: Any
) -> None:
    """The supervisor's SIGUSR1 reaches the search in the job's own process: it stops inside
    whatever candidate is fitting, keeps the leaderboard and registers the best so far."""
    pk = post(api, slow_data, algorithm="auto", time_budget_s=3600,
              validation={"cv_folds": 5})
    wait_for(lambda: api.get(f"{URL}{pk}/").json()["leaderboard"], timeout=120)
    response = api.post(f"{URL}{pk}/cancel/", {"keep_best": True}, format="json")
    assert response.status_code == 202, response.content
    data = wait_for(lambda: ended(api, pk), timeout=120, interval=0.2)
    assert data["status"] == "stopped", (data["error"], data["log"][-8:], worker.log_tail())
    assert data["model"] is not None and data["plots"] and data["metrics"]
    assert data["leaderboard"] and data["leaderboard"][0]["mean_score"] is not None
    assert "auto was stopped on request and kept the best model so far." in data["log"]
    assert api.get(f"/api/v1/workspaces/acme/models/{data['model']}/download/").status_code == 200
    # the portfolio holds 14 configurations: the stop came long before its end
    assert len([r for r in data["leaderboard"] if r["algorithm"] != "ensemble"]) < 14


@pytest.fixture(scope="module")
def limited_worker(_worker_session: Worker) -> Iterator[Worker]:
    """The cluster, started instead of the usual one, with jobs that may hold 400 MB and run
    6 s (the `worker` fixture starts the usual one again when a later test needs it)."""
    _worker_session.stop()
    limited = Worker(_worker_session.db_name, name="limited-worker",
                     JOB_MEMORY_LIMIT_MB="400", JOB_TIME_LIMIT_S="6")
    limited.start()
    try:
        yield limited
    finally:
        limited.stop()


@pytest.fixture
def limited(limited_worker: Worker, transactional_db: Any) -> Iterator[Worker]:
    with queued_for_real():
        yield limited_worker


def test_a_job_past_the_memory_limit_fails_in_words_and_the_next_one_runs(
    api: Any, iris: Any, limited: Worker
) -> None:
    # Keras alone (TensorFlow loaded in the job's process) needs more than 400 MB.
    pk = post(api, iris, algorithm="mlp", params={"epochs": 50, "hidden_layers": [8]})
    data = wait_for(lambda: ended(api, pk), timeout=90)
    assert data["status"] == "failed", (data, limited.log_tail())
    assert data["error"] == memory_message(400)
    assert "ran out of memory" in data["error"]
    assert data["model"] is None
    nxt = post(api, iris)
    assert wait_for(lambda: ended(api, nxt), timeout=60)["status"] == "succeeded"
    # the same worker, the one runner (its line follows the row's end by a moment)
    assert wait_for(lambda: limited.ran_in_a_job_process("Experiment", nxt), timeout=10)


def test_a_job_past_its_time_limit_is_killed_and_fails_saying_so(
    api: Any, iris: Any, slow_data: Any, limited: Worker
) -> None:
    pk = post(api, slow_data, **LONG_FOREST)
    data = wait_for(lambda: ended(api, pk), timeout=60)
    assert data["status"] == "failed", (data, limited.log_tail())
    assert "longer than its time limit of 6 seconds" in data["error"]
    nxt = post(api, iris)
    assert wait_for(lambda: ended(api, nxt), timeout=60)["status"] == "succeeded"
