"""End-to-end training benchmark: what a user waits for, against the same work by hand.

Run: .venv/bin/python -P bench/train.py [--rows 100000] [--algorithms hist_gradient_boosting,...]
     [--url http://host:port --token KEY --workspace SLUG]   (an already running platform)

Without --url it starts the platform as `make run` does - `manage.py runserver` and one
`manage.py qcluster` (one worker), SQLite, a throw-away data folder - then, over HTTP with a
token, the way an API client works:

1. generates the table of issue #10 (`bench/tables.py`: 11 float, 5 int and 3 text columns with
   3 / 50 / 2,000 levels, ~2% missing, binary target) and a small numeric one, and uploads them
   as CSV files;
2. per algorithm, POSTs an experiment (80/20 stratified split, `cv_folds: 0`, defaults), polls
   it to `succeeded`, and runs `bench/handwritten.py` - the pipeline a practitioner writes by
   hand, in its own process, on the same CSV and the same split - right after it.

It prints per algorithm: the platform's `duration_s` and POST-to-succeeded wall time against
the hand-written run's seconds (ratio and difference), the job's peak memory against the hand
process's memory rise, f1 of both, and each phase's share of the job (the `timings` object).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

# (algorithm, table, rows, params): the cases; mlp on a small numeric table.
CASES = {
    "hist_gradient_boosting": ("mixed", None, {}),
    "random_forest": ("mixed", 20_000, {"n_estimators": 100}),
    "linear": ("mixed", None, {}),
    "mlp": ("small", None, {}),
}
PHASES = ("load", "preprocess_and_fit", "evaluate", "importance", "plots", "save")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Platform:
    """runserver + qcluster on a throw-away SQLite database and data folder."""

    def __init__(self) -> None:
        self.data = tempfile.mkdtemp(prefix="modelworks-bench-train-")
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = dict(os.environ, DATA_DIR=self.data, Q_WORKERS="1", Q_SYNC="0",
                        DJANGO_SETTINGS_MODULE="config.settings.base",
                        DJANGO_SECRET_KEY=secrets.token_urlsafe(64), DJANGO_HTTPS="false",
                        # A benchmark measures the platform, not its rate limits.
                        API_THROTTLE_USER="off", API_THROTTLE_ANON="off",
                        API_THROTTLE_LOGIN="off", WORKSPACE_MAX_ACTIVE_JOBS="0",
                        TF_CPP_MIN_LOG_LEVEL="2", PYTHONUNBUFFERED="1")
        for name in ("DATABASE_URL", "REDIS_URL", "OMP_NUM_THREADS"):
            self.env.pop(name, None)
        self.procs: list[subprocess.Popen[bytes]] = []

    def manage(self, *args: str, **kwargs: Any) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, str(ROOT / "manage.py"), *args], cwd=ROOT,
                              env=self.env, check=True, capture_output=True, text=True,
                              **kwargs)

    def start(self) -> str:
        """Migrate, create a user, workspace and token; start web and worker; return the key."""
        self.manage("migrate", "--noinput")
        script = (
            "from django.contrib.auth import get_user_model\n"
            "from apps.accounts.services import token_create, workspace_create\n"
            "u = get_user_model().objects.create_user('bench', password='bench-pw-123')\n"
            "workspace_create(name='Bench', owner=u)\n"
            "print(token_create(user=u, name='bench')[1])\n"
        )
        key = self.manage("shell", "-c", script).stdout.strip().splitlines()[-1]
        log = open(Path(self.data) / "platform.log", "ab")
        for args in (["runserver", f"127.0.0.1:{self.port}", "--noreload"], ["qcluster"]):
            self.procs.append(subprocess.Popen(
                [sys.executable, str(ROOT / "manage.py"), *args], cwd=ROOT, env=self.env,
                stdout=log, stderr=subprocess.STDOUT, start_new_session=True))
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if requests.get(f"{self.url}/healthz", timeout=10).status_code < 500:
                    break
            except requests.RequestException:  # still starting (the warm-up runs first)
                time.sleep(0.3)
        time.sleep(2)  # the cluster's workers start too
        return key

    def stop(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in self.procs:
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)


class Client:
    def __init__(self, url: str, token: str, workspace: str) -> None:
        self.base = f"{url.rstrip('/')}/api/v1/workspaces/{workspace}"
        self.http = requests.Session()
        self.http.headers["Authorization"] = f"Token {token}"

    def upload(self, path: Path) -> int:
        with open(path, "rb") as fh:
            response = self.http.post(f"{self.base}/datasets/",
                                      files={"file": (path.name, fh, "text/csv")})
        response.raise_for_status()
        pk = int(response.json()["id"])
        data = self._wait(f"{self.base}/datasets/{pk}/", ("ready", "failed"), 600)
        if data["status"] != "ready":
            raise SystemExit(f"{path.name} failed to process: {data.get('error')}")
        return pk

    def train(self, dataset: int, algorithm: str, params: dict[str, Any],
              **extra: Any) -> tuple[dict, float]:
        body = {"dataset": dataset, "target": "target", "algorithm": algorithm,
                "params": params, "validation": {"cv_folds": 0}, **extra}
        started = time.perf_counter()
        response = self.http.post(f"{self.base}/experiments/", json=body)
        if response.status_code != 201:
            raise SystemExit(f"POST experiments/ -> {response.status_code}: {response.text}")
        url = f"{self.base}/experiments/{response.json()['id']}/"
        data = self._wait(url, ("succeeded", "failed", "cancelled", "stopped"), 1800)
        wall = time.perf_counter() - started
        for _ in range(60):  # the worker adds the job's peak memory just after the end
            if _peak_mb(data["log"]) is not None:
                break
            time.sleep(0.05)
            data = self.http.get(url).json()
        return data, wall

    def _wait(self, url: str, ends: tuple[str, ...], timeout: float) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            data = self.http.get(url).json()
            if data["status"] in ends:
                return data
            time.sleep(0.05)
        raise SystemExit(f"{url} did not end within {timeout} s")


def _by_hand(csv: Path, algorithm: str) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, "-P", str(ROOT / "bench" / "handwritten.py"), "--csv", str(csv),
         "--target", "target", "--algorithm", algorithm],
        check=True, capture_output=True, text=True, env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2"))
    return json.loads(out.stdout.strip().splitlines()[-1])


def _peak_mb(log: list[str]) -> float | None:
    for line in reversed(log):
        match = re.search(r"Peak memory of the job: ([0-9.]+) MB", line)
        if match:
            return float(match.group(1))
    return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--small-rows", type=int, default=5_000)
    parser.add_argument("--algorithms", default=",".join(CASES))
    parser.add_argument("--repeat", type=int, default=3,
                        help="runs of each (platform and by hand, interleaved); medians shown")
    parser.add_argument("--url")
    parser.add_argument("--token")
    parser.add_argument("--workspace", default="bench")
    args = parser.parse_args()
    from bench.tables import mixed_table, small_numeric_table

    folder = Path(tempfile.mkdtemp(prefix="modelworks-bench-csv-"))
    frames = {"mixed": mixed_table(args.rows), "small": small_numeric_table(args.small_rows)}
    platform = None
    if args.url:
        url, token = args.url, args.token or ""
    else:
        platform = Platform()
        url, token = platform.url, platform.start()
    results = []
    try:
        client = Client(url, token, args.workspace)
        uploaded: dict[tuple[str, int], tuple[int, Path]] = {}
        for algorithm in args.algorithms.split(","):
            table, rows, params = CASES[algorithm]
            frame = frames[table] if rows is None else frames[table].head(rows)
            key = (table, len(frame))
            if key not in uploaded:
                path = folder / f"{table}-{len(frame)}.csv"
                frame.to_csv(path, index=False)
                uploaded[key] = (client.upload(path), path)
            dataset, path = uploaded[key]
            runs = []
            for _ in range(args.repeat):  # interleaved: a busy moment hits both alike
                data, wall = client.train(dataset, algorithm, params)
                if data["status"] != "succeeded":
                    raise SystemExit(f"{algorithm}: {data['status']}: {data['error']}")
                runs.append((data, wall, _by_hand(path, algorithm)))
            results.append((algorithm, len(frame), runs))
    finally:
        if platform is not None:
            platform.stop()
    _report(results)


def _median(values: list[float]) -> float:
    return float(statistics.median(values))


def _report(results: list[tuple[str, int, list[tuple[dict[str, Any], float, dict]]]]) -> None:
    repeat = len(results[0][2]) if results else 0
    print(f"medians of {repeat} runs each; by hand = bench/handwritten.py in its own process")
    print(f"{'algorithm':24} {'rows':>7} {'duration_s':>10} {'POST->ok':>9} {'by hand':>8} "
          f"{'ratio':>6} {'wall-raw':>8} {'peak MB':>8} {'raw MB':>7} {'mem x':>6} "
          f"{'f1':>7} {'f1 raw':>7} {'df1':>7}")
    for algorithm, rows, runs in results:
        duration = _median([float(d["duration_s"]) for d, _, _ in runs])
        wall = _median([w for _, w, _ in runs])
        raw_s = _median([r["seconds"] for _, _, r in runs])
        peak = _median([_peak_mb(d["log"]) or 0.0 for d, _, _ in runs])
        rise = _median([r["memory_rise_mb"] for _, _, r in runs])
        f1 = _median([float(d["metrics"]["f1_macro"]) for d, _, _ in runs])
        f1_raw = _median([r["f1_macro"] for _, _, r in runs])
        mem = f"{peak / rise:.2f}" if peak and rise > 0 else "-"
        print(f"{algorithm:24} {rows:>7} {duration:>10.2f} {wall:>9.2f} {raw_s:>8.2f} "
              f"{duration / raw_s:>5.2f}x {wall - raw_s:>+8.2f} {peak:>8.0f} {rise:>7.0f} "
              f"{mem:>6} {f1:>7.4f} {f1_raw:>7.4f} {f1 - f1_raw:>+7.4f}")
    print("\nshare of the job per phase (median seconds in brackets):")
    for algorithm, _, runs in results:
        timings = {p: _median([(d.get("timings") or {}).get(p, 0.0) for d, _, _ in runs])
                   for p in PHASES}
        total = sum(timings.values()) or 1.0
        parts = ", ".join(f"{p} {100 * t / total:.0f}% ({t:.2f})" for p, t in timings.items())
        print(f"  {algorithm:24} {parts}")


if __name__ == "__main__":
    main()
