"""Benchmark: what the job queue adds to a small training run.

Run: .venv/bin/python bench/queue.py [--jobs 5]

Sets up a throw-away database and data folder, starts a real `manage.py qcluster` subprocess
(ORM broker, one worker), then for each job POSTs an experiment through the API and polls the
row. It prints the median time from POST to `running` (queue pick-up latency, from the row's own
timestamps) and the median time from POST to `succeeded`, against the median time of the engine
alone (`ml.train.train`) on the same data and config, as a ratio.
"""

from __future__ import annotations

import sys

# This file is named like the standard library's `queue`: keep its folder off the import path.
sys.path[:] = [p for p in sys.path if p not in ("", __file__.rsplit("/", 1)[0])]

import argparse  # noqa: E402
import io  # noqa: E402
import os  # noqa: E402
import secrets  # noqa: E402
import signal  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DATA = tempfile.mkdtemp(prefix="modelworks-bench-queue-")
os.environ.update(DATA_DIR=DATA, DJANGO_SETTINGS_MODULE="config.settings.base",
                  DJANGO_SECRET_KEY=secrets.token_urlsafe(64), DJANGO_HTTPS="false",
                  OMP_NUM_THREADS="1", TF_CPP_MIN_LOG_LEVEL="2", Q_WORKERS="1")
os.environ.pop("DATABASE_URL", None)
os.environ.pop("REDIS_URL", None)

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402

CONFIG = {"target": "species", "algorithm": "random_forest", "params": {"n_estimators": 50},
          "validation": {"cv_folds": 3}}


def _setup() -> tuple[object, object, object]:
    """Create a user, workspace, token client and a ready iris dataset."""
    from django.contrib.auth import get_user_model
    from rest_framework.test import APIClient
    from sklearn.datasets import load_iris

    from apps.accounts.services import token_create, workspace_create
    from apps.core.files import storage_path, storage_save
    from apps.datasets.models import Dataset
    from ml.data import column_kind, write_parquet

    user = get_user_model().objects.create_user("bench", password="pw-bench-123")
    ws = workspace_create(name="Bench", owner=user)
    bunch = load_iris(as_frame=True)
    frame = bunch.frame.drop(columns=["target"])
    frame["species"] = [bunch.target_names[i] for i in bunch.target]
    buffer = io.BytesIO()
    write_parquet(frame, buffer)
    stored = storage_save(storage_path(ws, "datasets", ".parquet"), buffer.getvalue())
    dataset = Dataset.objects.create(
        workspace=ws, name="iris", file="", parquet=stored, status="ready", n_rows=len(frame),
        n_columns=frame.shape[1],
        columns=[{"name": c, "kind": column_kind(frame[c])} for c in frame.columns])
    client = APIClient()
    _, key = token_create(user=user, name="bench")
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client, dataset, frame


def _run_job(client: object, dataset: object) -> tuple[float, float]:
    """POST one experiment; return (POST->running, POST->succeeded) in seconds."""
    from django.db import transaction

    from apps.experiments.models import Experiment

    start = time.monotonic()
    with transaction.atomic():  # on_commit fires on leaving: the task is enqueued then
        response = client.post("/api/v1/workspaces/bench/experiments/",
                               {"dataset": dataset.pk, **CONFIG}, format="json")
    assert response.status_code == 201, response.content
    pk = response.json()["id"]
    while True:
        exp = Experiment.objects.get(pk=pk)
        if exp.status in ("succeeded", "failed", "cancelled"):
            break
        time.sleep(0.02)
    assert exp.status == "succeeded", exp.error
    total = time.monotonic() - start
    return (exp.started_at - exp.created_at).total_seconds(), total


def _engine_alone(frame: object) -> float:
    from ml.config import TrainConfig
    from ml.train import train

    started = time.monotonic()
    train(frame, TrainConfig.from_dict(CONFIG))
    return time.monotonic() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=5)
    args = parser.parse_args()
    call_command("migrate", verbosity=0)
    client, dataset, frame = _setup()
    log = open(Path(DATA) / "qcluster.log", "ab")
    env = dict(os.environ, Q_SYNC="0")
    worker = subprocess.Popen([sys.executable, str(ROOT / "manage.py"), "qcluster"], cwd=ROOT,
                              env=env, stdout=log, stderr=subprocess.STDOUT,
                              start_new_session=True)
    try:
        time.sleep(3)
        _run_job(client, dataset)  # warm-up: imports in the worker
        _engine_alone(frame)  # warm-up: imports here
        pickups, totals, engines = [], [], []
        for _ in range(args.jobs):  # interleaved, so load from other processes hits both alike
            pickup, total = _run_job(client, dataset)
            pickups.append(pickup)
            totals.append(total)
            engines.append(_engine_alone(frame))
    finally:
        os.killpg(worker.pid, signal.SIGTERM)
        try:
            worker.wait(timeout=10)
        except subprocess.TimeoutExpired:  # a worker may be mid-import; the data is thrown away
            os.killpg(worker.pid, signal.SIGKILL)
            worker.wait(timeout=10)
    engine = statistics.median(engines)
    total = statistics.median(totals)
    print(f"jobs: {args.jobs} (after one warm-up), config: {CONFIG}")
    print(f"median POST -> running:   {statistics.median(pickups) * 1000:.0f} ms")
    print(f"median POST -> succeeded: {total:.3f} s")
    print(f"median engine alone:      {engine:.3f} s")
    print(f"ratio (job / engine):     {total / engine:.2f}x "
          f"(overhead {1000 * (total - engine):.0f} ms per job)")


if __name__ == "__main__":
    main()
