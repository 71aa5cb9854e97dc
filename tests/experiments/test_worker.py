"""Experiments through a real django-q2 worker: every kind of job, a worker killed mid-run,
cancelling a running job, and (with REDIS_TEST_URL) the Redis broker."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from apps.experiments.models import Experiment
from apps.experiments.services import STALE_MESSAGE, experiment_fail_stale
from tests.conftest import ROOT, wait_for

pytestmark = pytest.mark.integration

URL = "/api/v1/workspaces/acme/experiments/"
LONG_MLP = {"algorithm": "mlp", "params": {"epochs": 5000, "early_stopping_patience": 0,
                                            "hidden_layers": [16]},
            "validation": {"cv_folds": 0}}


def post(api: Any, dataset: Any, **extra: Any) -> int:
    data = {"dataset": dataset.pk, "target": "species", "algorithm": "decision_tree", **extra}
    response = api.post(URL, data, format="json")
    assert response.status_code == 201, response.content
    return response.json()["id"]


def ended(api: Any, pk: int) -> dict[str, Any] | None:
    data = api.get(f"{URL}{pk}/").json()
    return data if data["status"] in ("succeeded", "failed", "cancelled") else None


def test_every_kind_of_job_runs_to_succeeded_on_a_real_worker(
    api: Any, iris: Any, worker: Any
) -> None:
    jobs = {
        "sklearn": post(api, iris, algorithm="random_forest", params={"n_estimators": 20},
                        validation={"cv_folds": 2}),
        "mlp": post(api, iris, algorithm="mlp", params={"epochs": 3, "hidden_layers": [8]}),
        "auto": post(api, iris, algorithm="auto", time_budget_s=4,
                     params={"candidates": ["linear", "decision_tree"]},
                     validation={"cv_folds": 2}),
        "tuning": post(api, iris, tuning={"method": "random", "n_trials": 3},
                       validation={"cv_folds": 2}),
    }
    results = {}
    for kind, pk in jobs.items():
        results[kind] = wait_for(lambda pk=pk: ended(api, pk), timeout=150)
        assert results[kind]["status"] == "succeeded", (kind, results[kind], worker.log_tail())
    for kind, data in results.items():
        assert data["metrics"]["f1_macro"] > 0.5, kind
        assert data["plots"], kind
        assert data["model"] is not None, kind
        assert api.get(data["plots"][0]["url"]).status_code == 200, (kind, data, worker.log_tail())
        phases = {"load", "preprocess_and_fit", "evaluate", "importance", "plots", "save"}
        if kind == "auto":
            phases.add("search")  # auto's search, refit included: what its budget bounds
        assert set(data["timings"]) == phases, kind  # where the time went, phase by phase
        assert all(seconds >= 0 for seconds in data["timings"].values())
        assert any(line.startswith("Time per phase: ") for line in data["log"]), kind
    assert [h["epoch"] for h in results["mlp"]["history"]] == [1, 2, 3]  # epochs count from 1
    assert "loss" in results["mlp"]["history"][0]
    assert "learning_curve" in {p["name"] for p in results["mlp"]["plots"]}
    assert len(results["tuning"]["leaderboard"]) == 3
    assert results["tuning"]["best_params"]
    assert len(results["auto"]["leaderboard"]) >= 1
    assert results["auto"]["best_params"]["algorithm"] in ("linear", "decision_tree", "ensemble")


def _running_with_epochs(api: Any, pk: int) -> bool:
    data = api.get(f"{URL}{pk}/").json()
    return data["status"] == "running" and data["progress"] > 0 and len(data["history"]) >= 2


def test_a_worker_killed_mid_job_leaves_it_failed_and_the_next_job_runs(
    api: Any, iris: Any, worker: Any
) -> None:
    pk = post(api, iris, **LONG_MLP)
    wait_for(lambda: _running_with_epochs(api, pk), timeout=60)
    # While it lives, the heartbeat keeps it from being taken for dead.
    time.sleep(2.5)
    assert experiment_fail_stale(stale_after_s=2) == 0
    worker.kill()
    time.sleep(2.5)
    assert experiment_fail_stale(stale_after_s=2) == 1
    data = api.get(f"{URL}{pk}/").json()
    assert data["status"] == "failed"
    assert data["error"] == STALE_MESSAGE
    assert data["finished_at"] is not None
    worker.start()
    nxt = post(api, iris, validation={"cv_folds": 0})
    assert wait_for(lambda: ended(api, nxt), timeout=60)["status"] == "succeeded"
    assert api.get(f"{URL}{pk}/").json()["status"] == "failed"  # not run again


def test_it_cancels_a_running_job(api: Any, iris: Any, worker: Any) -> None:
    pk = post(api, iris, **LONG_MLP)
    wait_for(lambda: _running_with_epochs(api, pk), timeout=60)
    response = api.post(f"{URL}{pk}/cancel/")
    assert response.status_code == 202
    started = time.monotonic()
    data = wait_for(lambda: ended(api, pk), timeout=30)
    assert data["status"] == "cancelled", data
    assert time.monotonic() - started < 15
    assert data["model"] is None and data["plots"] == []
    assert api.post(f"{URL}{pk}/cancel/").status_code == 409


if os.environ.get("REDIS_TEST_URL"):

    def test_a_job_runs_through_the_redis_broker(
        api: Any, iris: Any, transactional_db: Any, django_capture_on_commit_callbacks: Any
    ) -> None:
        """Runs only where REDIS_TEST_URL is set (CI sets redis://127.0.0.1:6379/15).

        Without it this test is not defined at all: it is neither run nor reported as skipped.
        """
        import redis
        from django.db import connection
        from django_q.brokers.redis_broker import Redis
        from django_q.tasks import async_task

        url = os.environ["REDIS_TEST_URL"]
        broker = Redis()
        broker.connection = redis.Redis.from_url(url)
        broker.purge_queue()
        with django_capture_on_commit_callbacks(execute=False):  # don't enqueue on the ORM
            pk = post(api, iris, validation={"cv_folds": 0})
        log_path = Path(os.environ["DATA_DIR"]) / "redis-worker.log"
        env = dict(os.environ, REDIS_URL=url, Q_SYNC="0", Q_WORKERS="1",
                   DJANGO_SETTINGS_MODULE="config.settings.test",
                   MODELWORKS_TEST_DB_NAME=str(connection.settings_dict["NAME"]))
        with open(log_path, "ab") as log:
            proc = subprocess.Popen([sys.executable, str(ROOT / "manage.py"), "qcluster"],
                                    cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                                    start_new_session=True)
        try:
            async_task("apps.experiments.tasks.experiment_run_task", pk, broker=broker,
                       sync=False)
            data = wait_for(lambda: ended(api, pk), timeout=90)
            assert data["status"] == "succeeded", log_path.read_text()[-3000:]
            assert Experiment.objects.get(pk=pk).attempts == 1
        finally:
            os.killpg(proc.pid, 15)
            proc.wait(timeout=20)
