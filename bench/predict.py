"""Serving benchmark over a real socket: the predict API against the same pipeline in-process.

Run: .venv/bin/python -P bench/predict.py [--single 200] [--rows 20000]
     [--algorithms linear,random_forest,hist_gradient_boosting]

It starts the platform on loopback - one `qcluster`, gunicorn from `config/gunicorn.py`
(2 workers) and, beside it, the development server (`runserver`, as `make run` does), on one
throw-away SQLite database - then, as an API client with a token:

1. uploads a generated 30-column table (24 float, 3 int, 3 text columns, binary target) and
   trains each model through the API (80/20 split, `cv_folds: 0`);
2. per model and server: the first call after the experiment reported success (cold: on each
   server, before anything else touches the model), then single-row calls (bodies built before
   the clock) on one keep-alive `requests.Session` and on a new connection per call (median /
   p95 / p99), interleaved call by call with the in-process call below, so that both see the
   same load; 10,000 rows as JSON in both layouts (`rows` and `columns` + `data`) and as a
   CSV upload;
3. the same fitted pipeline in-process in this process, as a practitioner serving it by hand
   would call it: the downloaded bundle's steps in a plain scikit-learn `Pipeline`, `predict`
   + `predict_proba` on a DataFrame built from the same rows; for CSV, `read_csv` + predict +
   `to_csv`. (The engine's own fast path in-process is printed beside it, for information:
   it is our choice, not the reference.);
4. requests per second with 16 concurrent keep-alive clients on gunicorn.

Nothing here is asserted: it prints figures and ratios for a person to read.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import requests
from sklearn.pipeline import Pipeline

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.train import Client, Platform, _free_port  # noqa: E402

SIGNING_KEY = "bench-predict-signing-key"
CASES = {
    "linear": {},
    "random_forest": {"n_estimators": 100},
    "hist_gradient_boosting": {},
    "auto": {},  # its final model, often a weighted ensemble of several pipelines
    # auto without the linear model: an ensemble of tree models, serving's worst case
    "auto_trees": {"candidates": ["hist_gradient_boosting", "lightgbm", "xgboost",
                                  "extra_trees", "random_forest", "catboost"]},
}
# auto as a user runs it: cross-validated (its ensemble is chosen out of fold), 60 s budget.
EXTRA = {name: {"validation": {"cv_folds": 5}, "time_budget_s": 60}
         for name in ("auto", "auto_trees")}
BATCH = 10_000


def serving_table(n_rows: int, seed: int = 0) -> pd.DataFrame:
    """30 features (24 float, 3 int, 3 text with 4/20/100 levels) and a binary target."""
    rng = np.random.default_rng(seed)
    data: dict[str, Any] = {f"f{i}": rng.normal(0, 1, n_rows) for i in range(24)}
    for i in range(3):
        data[f"i{i}"] = rng.integers(0, 10 * (i + 1), n_rows)
    for j, levels in enumerate((4, 20, 100)):
        data[f"c{j}"] = np.array([f"L{j}_{k}" for k in range(levels)])[
            rng.integers(0, levels, n_rows)]
    frame = pd.DataFrame(data)
    logit = frame.f0 + 0.5 * frame.f1 - 0.3 * frame.i0 / 5 + (frame.c0 == "L0_1") * 0.8
    frame["target"] = np.where(rng.random(n_rows) < 1 / (1 + np.exp(-logit)), "yes", "no")
    return frame


class ServingPlatform(Platform):
    """Platform (qcluster + runserver) with gunicorn beside it on the same database."""

    def __init__(self) -> None:
        super().__init__()
        self.env["MODEL_SIGNING_KEY"] = SIGNING_KEY
        self.gunicorn_url = ""

    def start(self) -> str:
        key = super().start()
        port = _free_port()
        self.gunicorn_url = f"http://127.0.0.1:{port}"
        env = dict(self.env, GUNICORN_BIND=f"127.0.0.1:{port}", WEB_CONCURRENCY="2",
                   GUNICORN_ACCESS_LOG="")
        log = open(Path(self.data) / "gunicorn.log", "ab")
        self.procs.append(subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", "config/gunicorn.py", "config.wsgi"],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True))
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if requests.get(f"{self.gunicorn_url}/healthz", timeout=10).status_code < 500:
                    break
            except requests.RequestException:  # workers still warming up
                time.sleep(0.3)
        return key


def _stats(seconds: list[float]) -> dict[str, float]:
    ms = np.array(seconds) * 1000
    return {"median": float(np.median(ms)), "p95": float(np.percentile(ms, 95)),
            "p99": float(np.percentile(ms, 99))}


def _timed(fn: Callable[[], Any], n: int) -> list[float]:
    out = []
    for _ in range(n):
        started = time.perf_counter()
        fn()
        out.append(time.perf_counter() - started)
    return out


def _post(session: Any, url: str, token: str, body: bytes, content_type: str) -> Any:
    response = session.post(url, data=body, headers={
        "Authorization": f"Token {token}", "Content-Type": content_type})
    if response.status_code != 200:
        raise SystemExit(f"{url} -> {response.status_code}: {response.text[:300]}")
    return response


def _post_csv(session: Any, url: str, token: str, text: bytes) -> Any:
    response = session.post(url, files={"file": ("rows.csv", text, "text/csv")},
                            headers={"Authorization": f"Token {token}"})
    if response.status_code != 200:
        raise SystemExit(f"{url} -> {response.status_code}: {response.text[:300]}")
    return response


def _in_process(pipeline: Any, rows: list[dict[str, Any]]) -> None:
    frame = pd.DataFrame(rows)
    pipeline.predict(frame)
    pipeline.predict_proba(frame)


def _in_process_csv(pipeline: Any, text: bytes) -> None:
    frame = pd.read_csv(io.BytesIO(text))
    out = frame.copy()
    out["prediction"] = pipeline.predict(frame)
    for i, p in enumerate(pipeline.predict_proba(frame).T):
        out[f"proba_{i}"] = p
    out.to_csv(index=False)


def _concurrent(url: str, token: str, body: bytes, clients: int, seconds: float) -> float:
    counts = [0] * clients
    stop = time.monotonic() + seconds

    def work(i: int) -> None:
        session = requests.Session()
        while time.monotonic() < stop:
            _post(session, url, token, body, "application/json")
            counts[i] += 1

    threads = [threading.Thread(target=work, args=(i,)) for i in range(clients)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sum(counts) / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--single", type=int, default=200, help="single-row calls per case")
    parser.add_argument("--rows", type=int, default=20_000, help="rows of the training table")
    parser.add_argument("--algorithms", default=",".join(CASES))  # auto takes a minute
    parser.add_argument("--concurrent-s", type=float, default=5.0)
    args = parser.parse_args()
    from ml.bundle import load_bundle

    frame = serving_table(args.rows)
    features = frame.drop(columns="target")
    platform = ServingPlatform()
    token = platform.start()
    servers = {"gunicorn": platform.gunicorn_url, "runserver": platform.url}
    results: dict[str, Any] = {}
    try:
        client = Client(platform.url, token, "bench")
        path = Path(platform.data) / "serving.csv"
        frame.to_csv(path, index=False)
        dataset = client.upload(path)
        # Bodies built before any clock starts.
        one_row = json.loads(features.head(1).to_json(orient="records"))
        batch = features.sample(BATCH, random_state=1)
        batch_rows = json.loads(batch.to_json(orient="records"))
        split = json.loads(batch.to_json(orient="split", index=False))
        bodies = {
            "single": json.dumps({"rows": one_row}).encode(),
            "rows": json.dumps({"rows": batch_rows}).encode(),
            "split": json.dumps({"columns": split["columns"], "data": split["data"]}).encode(),
        }
        csv_text = batch.to_csv(index=False, quoting=csv.QUOTE_MINIMAL).encode()
        for algorithm in args.algorithms.split(","):
            key = "auto" if algorithm.startswith("auto") else algorithm
            data, _ = client.train(dataset, key, CASES[algorithm], **EXTRA.get(algorithm, {}))
            if data["status"] != "succeeded":
                raise SystemExit(f"{algorithm}: {data['status']}: {data.get('error')}")
            if key == "auto":
                kept = data["best_params"].get("algorithm")
                members = [m["algorithm"] for m in data["best_params"].get("members", [])]
                print(f"auto kept {kept}" + (f" of {', '.join(members)}" if members else ""),
                      flush=True)
            model = data["model"]
            base = f"/api/v1/workspaces/bench/models/{model}"
            row: dict[str, Any] = {}
            cold = {}
            for server, url in servers.items():  # first, before anything else touches it
                started = time.perf_counter()
                _post(requests.Session(), f"{url}{base}/predict/", token, bodies["single"],
                      "application/json")
                cold[server] = time.perf_counter() - started
            download = requests.get(f"{platform.url}{base}/download/",
                                    headers={"Authorization": f"Token {token}"})
            engine = load_bundle(io.BytesIO(download.content),
                                 key=SIGNING_KEY.encode()).pipeline
            pipeline = Pipeline(engine.steps)  # scikit-learn's own predict, same fitted steps
            _in_process(pipeline, one_row)
            _in_process(engine, one_row)
            local_single: list[float] = []
            for server, url in servers.items():
                predict_url = f"{url}{base}/predict/"
                session = requests.Session()
                for _ in range(20):  # both gunicorn workers warm
                    _post(requests, predict_url, token, bodies["single"], "application/json")
                # Interleaved, call by call: the machine's load drifts, and each figure should
                # see the same drift as the in-process one it is compared with.
                keep, fresh, local = [], [], []
                for _ in range(args.single):
                    local += _timed(lambda p=pipeline: _in_process(p, one_row), 1)
                    keep += _timed(lambda u=predict_url, s=session: _post(
                        s, u, token, bodies["single"], "application/json"), 1)
                    fresh += _timed(lambda u=predict_url: _post(
                        requests, u, token, bodies["single"], "application/json"), 1)
                local_single += local
                batch_s = {layout: statistics.median(_timed(
                    lambda u=predict_url, s=session, b=bodies[layout]: _post(
                        s, u, token, b, "application/json"), 3)) for layout in ("rows", "split")}
                csv_s = statistics.median(_timed(
                    lambda u=predict_url, s=session: _post_csv(s, u, token, csv_text), 3))
                row[server] = {"cold_ms": cold[server] * 1000, "keep": _stats(keep),
                               "fresh": _stats(fresh), "batch_s": batch_s, "csv_s": csv_s,
                               "local": _stats(local)}
            row["engine_single"] = _stats(_timed(lambda p=engine: _in_process(p, one_row),
                                                 args.single))
            row["in_process"] = {
                "single": _stats(local_single),
                "batch_s": statistics.median(_timed(
                    lambda p=pipeline: _in_process(p, batch_rows), 3)),
                "csv_s": statistics.median(_timed(
                    lambda p=pipeline: _in_process_csv(p, csv_text), 3)),
            }
            row["concurrent_rps"] = _concurrent(
                f"{platform.gunicorn_url}{base}/predict/", token, bodies["single"], 16,
                args.concurrent_s)
            results[algorithm] = row
    finally:
        platform.stop()
    _report(results)


def _report(results: dict[str, Any]) -> None:
    print(f"single row: ms (median / p95 / p99); batch: {BATCH:,} rows; in-process = the "
          "downloaded pipeline's steps in scikit-learn's Pipeline: predict + predict_proba")
    for algorithm, row in results.items():
        local = row["in_process"]
        single = local["single"]
        print(f"\n{algorithm}  (in-process single row {single['median']:.2f} / "
              f"{single['p95']:.2f} / {single['p99']:.2f} ms; {BATCH / local['batch_s']:,.0f} "
              f"rows/s from records; CSV {local['csv_s']:.3f} s; the engine's fast path "
              f"in-process {row['engine_single']['median']:.2f} ms)")
        for server in ("gunicorn", "runserver"):
            r = row[server]
            k, f, here = r["keep"], r["fresh"], r["local"]["median"]
            warm = k["median"]
            print(f"  {server:9} keep-alive {k['median']:6.2f} / {k['p95']:6.2f} / "
                  f"{k['p99']:6.2f} ms ({k['median'] - here:+.2f})   "
                  f"fresh {f['median']:6.2f} / {f['p95']:6.2f} / {f['p99']:6.2f} ms "
                  f"({f['median'] - here:+.2f}; in-process interleaved {here:.2f} ms)")
            print(f"  {'':9} cold first call {r['cold_ms']:7.1f} ms ({r['cold_ms'] / warm:.1f}x "
                  f"warm)   JSON rows {BATCH / r['batch_s']['rows']:>9,.0f} rows/s   "
                  f"JSON columns {BATCH / r['batch_s']['split']:>9,.0f} rows/s   "
                  f"CSV {r['csv_s']:.3f} s ({r['csv_s'] / local['csv_s']:.2f}x raw)")
        print(f"  16 keep-alive clients on gunicorn (2 workers): "
              f"{row['concurrent_rps']:,.0f} requests/s")


if __name__ == "__main__":
    main()
