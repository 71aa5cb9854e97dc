"""Benchmark dataset ingestion: the platform's upload-to-ready path against plain pandas.

Run: .venv/bin/python bench/ingest.py [--mb 100]

It writes a CSV of about --mb megabytes (numeric, categorical and missing values) to a temp
folder, then measures, each in a fresh subprocess so peaks do not mix:
- platform: `dataset_create` with the file plus `dataset_process` (parse, profile, Parquet),
  with the test settings, a temporary DATA_DIR and SQLite;
- baseline: `pandas.read_csv(engine="pyarrow")` + `DataFrame.to_parquet`.
Peak memory is the highest RSS seen by a sampling thread, minus the RSS before the work began.
Targets: platform time <= 1.5x the baseline, platform peak memory <= 3x the file size.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TIME_TARGET = 1.5
MEMORY_TARGET = 3.0


def generate_csv(path: Path, megabytes: int) -> int:
    """Write a CSV of about `megabytes` MB with numeric, categorical and missing values."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.csv as pacsv

    rng = np.random.default_rng(0)
    rows_per_chunk = 200_000
    cities = np.array(["Lisbon", "Oslo", "Nairobi", "Lima", "Osaka", "Perth", "Quito", "Riga"])
    plans = np.array(["free", "basic", "pro", "enterprise"])
    with pacsv.CSVWriter(path, _schema()) as writer:
        while path.stat().st_size < megabytes * 1_000_000:
            n = rows_per_chunk
            income = rng.normal(50_000, 15_000, n)
            income[rng.random(n) < 0.05] = np.nan  # missing values
            city = cities[rng.integers(0, len(cities), n)].astype(object)
            city[rng.random(n) < 0.03] = None
            table = pa.table({
                "age": rng.integers(18, 90, n),
                "income": income,
                "score": rng.random(n),
                "visits": rng.poisson(3, n),
                "balance": rng.normal(0, 1_000, n).round(2),
                "ratio": rng.random(n) * 10,
                "city": pa.array(city, pa.string()),
                "plan": plans[rng.integers(0, len(plans), n)],
                "churned": rng.random(n) < 0.2,
            }, schema=_schema())
            writer.write_table(table)
    return path.stat().st_size


def _schema():  # type: ignore[no-untyped-def]
    import pyarrow as pa

    return pa.schema([("age", pa.int64()), ("income", pa.float64()), ("score", pa.float64()),
                      ("visits", pa.int64()), ("balance", pa.float64()),
                      ("ratio", pa.float64()), ("city", pa.string()), ("plan", pa.string()),
                      ("churned", pa.bool_())])


# ---------------------------------------------------------------- measuring (in a subprocess)


def _measure(work: Callable[[], None]) -> dict[str, float]:
    """Run `work`, sampling RSS every 10 ms; return seconds and peak extra bytes."""
    import psutil

    process = psutil.Process()
    start_rss = process.memory_info().rss
    peak = [start_rss]
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], process.memory_info().rss)
            time.sleep(0.01)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    started, cpu_started = time.perf_counter(), time.process_time()
    work()
    seconds = time.perf_counter() - started
    cpu_seconds = time.process_time() - cpu_started  # all threads; steadier on a shared machine
    done.set()
    sampler.join()
    peak[0] = max(peak[0], process.memory_info().rss)
    return {"seconds": seconds, "cpu_seconds": cpu_seconds, "peak_extra_bytes": peak[0] - start_rss}


def run_baseline(csv_path: Path) -> dict[str, float]:
    import pandas as pd
    import pyarrow  # noqa: F401  (imported before measuring, as the platform's worker has it)

    out = csv_path.with_suffix(".baseline.parquet")

    def work() -> None:
        df = pd.read_csv(csv_path, engine="pyarrow")
        df.to_parquet(out, index=False)

    result = _measure(work)
    out.unlink()
    return result


def run_platform(csv_path: Path) -> dict[str, float]:
    data_dir = Path(tempfile.mkdtemp(prefix="modelworks-bench-"))
    os.environ.update(DJANGO_SETTINGS_MODULE="config.settings.test", DATA_DIR=str(data_dir),
                      Q_SYNC="0", DATABASE_URL=f"sqlite:///{data_dir / 'bench.sqlite3'}")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.conf import settings
    from django.core.files.uploadedfile import TemporaryUploadedFile
    from django.core.management import call_command

    import ml.validation  # noqa: F401  (the worker has it imported already)
    from apps.accounts.services import workspace_create
    from apps.datasets.models import Dataset
    from apps.datasets.services import dataset_create, dataset_process

    call_command("migrate", verbosity=0)
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.create_user("bench", password="bench-password-1")
    workspace = workspace_create(name="Bench", owner=user)
    # What the upload handler leaves: the body streamed to a temp file in FILE_UPLOAD_TEMP_DIR.
    upload = TemporaryUploadedFile("bench.csv", "text/csv", csv_path.stat().st_size, None)
    with open(csv_path, "rb") as src:
        shutil.copyfileobj(src, upload, 1 << 20)
    upload.seek(0)
    assert settings.FILE_UPLOAD_TEMP_DIR
    created: list[int] = []

    def work() -> None:
        dataset = dataset_create(workspace=workspace, user=user, upload=upload)
        dataset_process(dataset_id=dataset.pk)
        created.append(dataset.pk)

    result = _measure(work)
    dataset = Dataset.objects.get(pk=created[0])
    if dataset.status != "ready":
        raise SystemExit(f"dataset not ready: {dataset.status} {dataset.error}")
    result["n_rows"] = dataset.n_rows
    shutil.rmtree(data_dir, ignore_errors=True)
    return result


def _in_subprocess(kind: str, csv_path: Path) -> dict[str, float]:
    output = subprocess.run(
        # -P: bench/ (which holds queue.py) must not shadow the standard library.
        [sys.executable, "-P", __file__, "--measure", kind, str(csv_path)],
        check=True, capture_output=True, text=True, cwd=ROOT,
    ).stdout
    return json.loads(output.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=int, default=100, help="size of the generated CSV in MB")
    parser.add_argument("--measure", nargs=2, metavar=("KIND", "CSV"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        kind, path = args.measure
        runner = run_platform if kind == "platform" else run_baseline
        print(json.dumps(runner(Path(path))))
        return
    with tempfile.TemporaryDirectory(prefix="modelworks-ingest-") as folder:
        csv_path = Path(folder) / "bench.csv"
        started = time.perf_counter()
        size = generate_csv(csv_path, args.mb)
        print(f"generated {size / 1e6:.1f} MB in {time.perf_counter() - started:.1f} s")
        baseline = _in_subprocess("baseline", csv_path)
        platform = _in_subprocess("platform", csv_path)
    _report(size, baseline, platform)


def _report(size: int, baseline: dict[str, float], platform: dict[str, float]) -> None:
    mb = 1e6
    time_ratio = platform["seconds"] / baseline["seconds"]
    memory_ratio = platform["peak_extra_bytes"] / size
    print(f"rows: {platform['n_rows']:,}")
    for name, r in (("baseline (pandas pyarrow + to_parquet)", baseline), ("platform", platform)):
        print(f"{name:40s} {r['seconds']:7.2f} s   cpu {r['cpu_seconds']:6.2f} s   "
              f"peak +{r['peak_extra_bytes'] / mb:8.1f} MB")
    print(f"time ratio platform/baseline: {time_ratio:.2f}x (target <= {TIME_TARGET}x) "
          f"{'OK' if time_ratio <= TIME_TARGET else 'OVER'}")
    print(f"platform peak memory / file size: {memory_ratio:.2f}x (target <= {MEMORY_TARGET}x) "
          f"{'OK' if memory_ratio <= MEMORY_TARGET else 'OVER'}")
    print(f"baseline peak memory / file size: {baseline['peak_extra_bytes'] / size:.2f}x")
    print(f"cpu time ratio platform/baseline: "
          f"{platform['cpu_seconds'] / baseline['cpu_seconds']:.2f}x (wall is noisy when shared)")


if __name__ == "__main__":
    main()
