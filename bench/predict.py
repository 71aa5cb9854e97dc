"""Benchmark predictions: the HTTP API against calling the pipeline in-process.

Run: .venv/bin/python bench/predict.py [--single 300] [--batch-reps 3]
     [--algorithm random_forest --params '{"n_estimators": 100}']

The API is driven in-process through Django's test `Client` (full middleware stack, token
auth, tenancy, DRF parsing and rendering; no network socket), with the test settings, a
temporary DATA_DIR and SQLite. One model (random forest, 100 trees, on 8 numeric/categorical
columns) is trained and registered, its cache warmed by one call, then:
- single row: `POST .../predict/ {"rows": [row]}` repeated, median and p95, against
  `pipeline.predict_proba` + `predict` on a prepared one-row frame in-process;
- batch: one `POST` of 10,000 rows as JSON, against in-process `ml.predict.predict` on the same
  rows (frame already built), as rows per second.
Target: single-row API median <= 15 ms.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SINGLE_TARGET_MS = 15.0


def _setup_django() -> None:
    os.environ.setdefault("DATA_DIR", tempfile.mkdtemp(prefix="modelworks-bench-"))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    os.environ.pop("DATABASE_URL", None)  # a throwaway SQLite database, always
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.db import connection
    from django.test.utils import setup_test_environment

    setup_test_environment()
    connection.creation.create_test_db(verbosity=0, autoclobber=True)


def _frame(n: int, seed: int = 0) -> Any:
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    df = pd.DataFrame({f"n{i}": rng.normal(size=n) for i in range(5)})
    df["city"] = rng.choice(["paris", "lyon", "nice", "lille"], n)
    df["plan"] = rng.choice(["free", "pro", "team"], n)
    df["visits"] = rng.integers(0, 50, n)
    df["churn"] = np.where(df.n0 + (df.plan == "free") + rng.normal(scale=0.5, size=n) > 0.8,
                           "yes", "no")
    return df


def _register(algorithm: str, params: dict[str, Any]) -> tuple[Any, Any, Any]:
    from django.contrib.auth import get_user_model

    from apps.accounts.services import token_create, workspace_create
    from apps.models.services import model_register
    from ml.config import TrainConfig
    from ml.train import train

    user = get_user_model().objects.create_user("bench", password="bench-pw-123")
    workspace = workspace_create(name="Bench", owner=user)
    _, key = token_create(user=user, name="bench")
    config = TrainConfig.from_dict({"target": "churn", "algorithm": algorithm,
                                    "params": params, "validation": {"cv_folds": 0}})
    result = train(_frame(2000), config)
    model = model_register(experiment=None, result=result, user=user, workspace=workspace)
    return model, key, result


def _timed(fn: Callable[[], Any], n: int) -> list[float]:
    times = []
    for _ in range(n):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return times


def _p95(values: list[float]) -> float:
    return sorted(values)[max(0, int(round(0.95 * len(values))) - 1)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--single", type=int, default=300, help="single-row calls to time")
    parser.add_argument("--batch-reps", type=int, default=3, help="10,000-row calls to time")
    parser.add_argument("--algorithm", default="random_forest")
    parser.add_argument("--params", default='{"n_estimators": 100}', help="JSON")
    args = parser.parse_args()
    _setup_django()
    from django.test import Client

    from apps.models.cache import bundle_cache
    from ml.predict import predict, rows_to_frame

    model, key, result = _register(args.algorithm, json.loads(args.params))
    client = Client(HTTP_AUTHORIZATION=f"Token {key}")
    url = f"/api/v1/workspaces/{model.workspace.slug}/models/{model.pk}/predict/"
    features = [c["name"] for c in model.input_schema]
    rows = _frame(10_000, seed=1)[features].to_dict(orient="records")
    one = json.dumps({"rows": rows[:1]})
    many = json.dumps({"rows": rows})

    def api_single() -> None:
        response = client.post(url, one, content_type="application/json")
        assert response.status_code == 200, response.content

    api_single()  # warm the cache (and Django's URL resolver, DRF's settings...)
    api_ms = _timed(api_single, args.single)
    assert bundle_cache.stats().misses == 1, "the cache should load the model once"

    pipeline = result.pipeline
    frame_one = rows_to_frame(rows[:1], model.input_schema)
    pipeline.predict(frame_one)
    direct_ms = _timed(lambda: (pipeline.predict(frame_one), pipeline.predict_proba(frame_one)),
                       args.single)

    def api_batch() -> None:
        response = client.post(url, many, content_type="application/json")
        assert response.status_code == 200, response.content

    bundle = bundle_cache.get(model)
    frame_many = rows_to_frame(rows, model.input_schema)
    api_batch_s = min(_timed(api_batch, args.batch_reps)) / 1000
    direct_batch_s = min(_timed(lambda: predict(bundle, frame_many), args.batch_reps)) / 1000

    api_median, direct_median = statistics.median(api_ms), statistics.median(direct_ms)
    report = {
        "transport": "in-process django.test.Client (no socket)",
        "model": f"{args.algorithm} {args.params}",
        "single_row_api_ms": {"median": round(api_median, 2), "p95": round(_p95(api_ms), 2)},
        "single_row_in_process_ms": {"median": round(direct_median, 2),
                                     "p95": round(_p95(direct_ms), 2)},
        "single_row_ratio_api_over_in_process": round(api_median / direct_median, 2),
        "batch_10000_api_rows_per_s": round(10_000 / api_batch_s),
        "batch_10000_in_process_rows_per_s": round(10_000 / direct_batch_s),
        "batch_ratio_api_time_over_in_process": round(api_batch_s / direct_batch_s, 2),
        "target_single_row_median_ms": SINGLE_TARGET_MS,
        "meets_target": api_median <= SINGLE_TARGET_MS,
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
