"""Load test: many concurrent users against gunicorn (2 workers) and one worker, on loopback.

Run: .venv/bin/python -P bench/load.py [--clients 50] [--seconds 120] [--databases sqlite,postgres]

For each database it starts the platform from its real parts (tests/system/stack.py: gunicorn
from config/gunicorn.py with 2 processes, one qcluster, a throw-away SQLite file or PostgreSQL
database on 127.0.0.1), uploads a table and trains a model, then runs locust headless
(bench/locustfile.py): each user signs in to the pages and uses the API - page views, API
lists, single-row predictions, CSV uploads, new experiments. Afterwards every dataset and
experiment the users were told was created (201) is looked up through the API: one that is not
found is a lost write.

It prints requests/s, p50/p95/p99 in ms per kind of request and overall, the count of 5xx
answers and of lost writes. Nothing is asserted; the figures are for a person to read (README).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.system.conftest import table_csv  # noqa: E402
from tests.system.stack import Stack, wait_until  # noqa: E402


def _prepare(stack: Stack) -> tuple[int, int]:
    """A ready dataset and a trained model to serve."""
    http = stack.session()
    response = http.post(f"{stack.api}/datasets/",
                         files={"file": ("load.csv", table_csv(2000), "text/csv")})
    response.raise_for_status()
    url = f"{stack.api}/datasets/{response.json()['id']}/"
    dataset = wait_until(lambda: (d := http.get(url).json())["status"] != "processing" and d,
                         timeout=120, what="the dataset")
    response = http.post(f"{stack.api}/experiments/", json={
        "dataset": dataset["id"], "target": "target", "algorithm": "linear",
        "validation": {"cv_folds": 0}})
    response.raise_for_status()
    url = f"{stack.api}/experiments/{response.json()['id']}/"
    experiment = wait_until(lambda: (d := http.get(url).json())["status"] == "succeeded" and d,
                            timeout=120, what="the model")
    return int(dataset["id"]), int(experiment["model"])


def _lost_writes(stack: Stack, created: dict[str, list[int]]) -> tuple[int, int]:
    http = stack.session()
    total = lost = 0
    for area, pks in created.items():
        for pk in pks:
            total += 1
            if http.get(f"{stack.api}/{area}/{pk}/").status_code != 200:
                lost += 1
    return total, lost


def run(database: str, clients: int, seconds: int) -> dict:
    stack = Stack(database=database, WORKSPACE_MAX_STORAGE_BYTES="0")
    try:
        stack.setup()
        stack.start_web(workers=2)
        stack.start_worker()
        dataset, model = _prepare(stack)
        out = Path(tempfile.mkdtemp(prefix="modelworks-load-"))
        env = dict(os.environ, LOAD_TOKEN=stack.token, LOAD_USER="ops",
                   LOAD_PASSWORD="ops-pw-12345", LOAD_DATASET=str(dataset),
                   LOAD_MODEL=str(model), LOAD_RESULTS=str(out / "results.json"))
        started = time.monotonic()
        subprocess.run(
            [sys.executable, "-m", "locust", "-f", str(ROOT / "bench" / "locustfile.py"),
             "--headless", "-u", str(clients), "-r", str(max(1, clients // 5)),
             "-t", f"{seconds}s", "--host", stack.url, "--csv", str(out / "load"),
             "--only-summary", "--stop-timeout", "10", "--loglevel", "WARNING"],
            cwd=ROOT, env=env, timeout=seconds + 120, check=False)
        wall = time.monotonic() - started
        results = json.loads((out / "results.json").read_text())
        total, lost = _lost_writes(stack, results["created"])
        with open(out / "load_stats.csv") as fh:
            rows = list(csv.DictReader(fh))
        return {"database": database, "rows": rows, "server_errors": results["server_errors"],
                "writes": total, "lost": lost, "wall": wall}
    finally:
        stack.stop()


def report(result: dict, clients: int, seconds: int) -> None:
    print(f"\n## {result['database']}: {clients} users for {seconds} s "
          f"(gunicorn 2 processes x 4 threads, 1 qcluster with 2 workers)")
    print(f"{'request':34} {'count':>7} {'fail':>5} {'req/s':>7} {'p50':>6} {'p95':>6} "
          f"{'p99':>6}")
    for row in result["rows"]:
        name = row["Name"] if row["Name"] != "Aggregated" else "ALL"
        print(f"{name[:34]:34} {row['Request Count']:>7} {row['Failure Count']:>5} "
              f"{float(row['Requests/s']):7.1f} {row['50%']:>6} {row['95%']:>6} "
              f"{row['99%']:>6}")
    print(f"5xx answers: {len(result['server_errors'])}"
          + (f" ({result['server_errors'][:5]})" if result["server_errors"] else ""))
    print(f"writes acknowledged (201): {result['writes']}, lost: {result['lost']}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=int, default=120)
    parser.add_argument("--databases", default="sqlite,postgres")
    args = parser.parse_args()
    for database in args.databases.split(","):
        report(run(database, args.clients, args.seconds), args.clients, args.seconds)


if __name__ == "__main__":
    main()
