"""Writes of datasets: upload, processing in the worker, loading for training, delete, rename."""

from __future__ import annotations

import logging
import os
import re
import tempfile
import threading
import unicodedata
from collections import OrderedDict
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import pandas as pd
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files import File
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone

from apps.core import jobs
from apps.core.files import (
    STORAGE_DOWN_IN_JOB,
    storage_delete,
    storage_delete_all,
    storage_outage,
    storage_path,
)
from apps.core.models import Verb
from apps.core.quotas import quota_check_jobs, quota_check_storage
from apps.core.services import audit_record
from apps.core.uploads import UploadTooLarge
from apps.datasets.models import Dataset, DatasetStatus
from ml.data import HEAD_BYTES, CsvLimits, read_csv, read_parquet, sniff_bytes, write_parquet
from ml.errors import DataError

log = logging.getLogger(__name__)

ALLOWED_EXTENSIONS = (".csv", ".tsv", ".txt")
GENERIC_ERROR = (
    "Processing failed because of an internal error. The file was kept; try uploading it "
    "again, and if it fails again tell an administrator (the details are in the server log)."
)
_NAME_UNSAFE = re.compile(r"[\x00-\x1f\x7f<>:\"/\\|?*`$;&]")


# ---------------------------------------------------------------- upload


def clean_filename(raw: str | None) -> str:
    """Return a display-only file name: no folders, control or shell characters."""
    text = unicodedata.normalize("NFC", str(raw or ""))
    text = text.replace("\\", "/").rsplit("/", 1)[-1]
    text = _NAME_UNSAFE.sub("_", text).strip(" .") or "upload.csv"
    return text[:200]


def _name_from_filename(filename: str) -> str:
    stem = os.path.splitext(filename)[0].strip(" ._") or "Dataset"
    return stem[:200]


def _check_upload(upload: Any, filename: str) -> None:
    """Refuse uploads that are too large, of the wrong type, or not text."""
    if upload.size is not None and upload.size > settings.MAX_UPLOAD_BYTES:
        raise UploadTooLarge()
    if os.path.splitext(filename)[1].lower() not in ALLOWED_EXTENSIONS:
        raise ValidationError(
            {"file": ["Upload a CSV file: the name must end in .csv, .tsv or .txt."]}
        )
    upload.seek(0)
    head = upload.read(HEAD_BYTES)
    upload.seek(0)
    try:
        sniff_bytes(head)
    except DataError as exc:
        raise ValidationError({"file": [str(exc)]}) from exc


def dataset_create(*, workspace: Any, user: Any, upload: Any, name: str | None = None) -> Dataset:
    """Validate an uploaded file, store it under the workspace and queue its processing."""
    if upload is None:
        raise ValidationError({"file": ["Choose a CSV file to upload."]})
    filename = clean_filename(getattr(upload, "name", ""))
    _check_upload(upload, filename)
    display = (name or "").strip()[:200] or _name_from_filename(filename)
    size = upload.size
    quota_check_jobs(workspace=workspace)
    quota_check_storage(workspace=workspace, adding=size)
    # A TemporaryUploadedFile is moved, not copied, into the file-system storage.
    stored = default_storage.save(storage_path(workspace, "datasets", ".csv"), upload)
    try:
        with transaction.atomic():
            dataset = Dataset.objects.create(
                workspace=workspace, name=display, original_filename=filename, file=stored,
                size_bytes=size, created_by=user if getattr(user, "pk", None) else None,
            )
            audit_record(workspace=workspace, actor=user, verb=Verb.DATASET_UPLOAD, target=dataset,
                         detail={"dataset_id": dataset.pk, "size_bytes": size})
    except BaseException:
        storage_delete(stored)
        raise
    _enqueue(dataset.pk)
    return dataset


def _enqueue(dataset_id: int) -> None:
    transaction.on_commit(lambda: jobs.enqueue(DATASET_JOB, dataset_id))


# ---------------------------------------------------------------- processing


def _limits() -> CsvLimits:
    return CsvLimits(
        max_columns=getattr(settings, "DATASET_MAX_COLUMNS", 10_000),
        max_field_chars=getattr(settings, "DATASET_MAX_FIELD_CHARS", 1_000_000),
        max_rows=getattr(settings, "DATASET_MAX_ROWS", None),
    )


def _processing(dataset_id: int) -> Any:
    return Dataset.objects.filter(pk=dataset_id, status=DatasetStatus.PROCESSING)


def _fail(dataset_id: int, message: str) -> None:
    jobs.end(DATASET_JOB, dataset_id, DatasetStatus.FAILED, error=message)


DATASET_JOB = jobs.JobKind(
    noun="dataset", model="apps.datasets.models.Dataset",
    work="apps.datasets.services.dataset_work",
    queued=DatasetStatus.PROCESSING, running=DatasetStatus.PROCESSING,
    succeeded=DatasetStatus.READY, failed=DatasetStatus.FAILED, cancelled=None,
    ended_field="updated_at",
    stale_message=("Processing stopped: the worker handling this file stopped responding. "
                   "Upload the file again; if it keeps failing, try a smaller file."),
    lost_message=("Processing never started: no worker picked the file up. "
                  "Check that the job workers are running, then upload the file again."),
    retry_message=("Processing was interrupted several times (the worker stopped while reading "
                   "this file, perhaps because it ran out of memory). Try a smaller file."),
    queue_timeout_setting="DATASET_QUEUE_TIMEOUT_S",
    task="apps.datasets.tasks.dataset_process_task",
)


def dataset_process(*, dataset_id: int) -> str | None:
    """Parse the stored CSV, save it as Parquet, profile it: through the job runner."""
    return jobs.run(DATASET_JOB, dataset_id)


def dataset_work(dataset_id: int) -> None:
    """Process a claimed dataset and mark it ready or failed; runs in the job's process."""
    dataset = Dataset.objects.select_related("workspace").get(pk=dataset_id)
    try:
        _process(dataset)
    except DataError as exc:
        _fail(dataset_id, str(exc))
    except Exception as exc:
        if storage_outage(exc):
            log.warning("Dataset %s: the file store failed: %s", dataset_id, exc)
            _fail(dataset_id, STORAGE_DOWN_IN_JOB)
            return
        log.exception("Processing dataset %s failed", dataset_id)
        _fail(dataset_id, GENERIC_ERROR)


def _process(dataset: Dataset) -> None:
    from ml.validation import profile_dataframe

    with default_storage.open(dataset.file, "rb") as fh:
        df = read_csv(fh, limits=_limits())
    _release_arrow_memory()
    # Parquet writing (pyarrow, outside the GIL) overlaps the profile (numpy/pandas).
    with ThreadPoolExecutor(max_workers=1) as pool:
        saving = pool.submit(_save_parquet, dataset, df)
        try:
            profile = profile_dataframe(df)
        except BaseException:
            storage_delete(_result_or_none(saving))
            raise
        parquet = saving.result()
    del df
    finished = _processing(dataset.pk).update(
        status=DatasetStatus.READY, error=None, parquet=parquet,
        n_rows=profile["n_rows"], n_columns=profile["n_columns"],
        columns=[_column_summary(c) for c in profile["columns"]],
        quality=profile["quality"], profile=profile,
        heartbeat_at=timezone.now(), updated_at=timezone.now(),
    )
    if not finished:  # deleted or failed by the sweeper meanwhile: leave nothing behind
        storage_delete(parquet)


def _release_arrow_memory() -> None:
    # pyarrow's allocator keeps freed parse buffers; hand them back before profiling.
    import pyarrow

    pyarrow.default_memory_pool().release_unused()


def _result_or_none(future: Future[str]) -> str | None:
    try:
        return future.result()
    except Exception:
        return None


def _column_summary(column: dict[str, Any]) -> dict[str, Any]:
    return {key: column.get(key) for key in ("name", "dtype", "kind", "n_missing", "n_unique")}


def _save_parquet(dataset: Dataset, df: pd.DataFrame) -> str:
    """Write Parquet to a local temp file, then save it whole; return the storage name.

    The row only points at the name once saving is done, so no reader ever sees half a file.
    """
    name = storage_path(dataset.workspace, "datasets", ".parquet")
    with tempfile.TemporaryFile(dir=settings.FILE_UPLOAD_TEMP_DIR) as tmp:
        write_parquet(df, tmp)
        tmp.seek(0)
        saved = None
        jobs.job_file_created(name)
        try:
            saved = default_storage.save(name, File(tmp, name=os.path.basename(name)))
        except BaseException:
            storage_delete(saved or name)
            raise
    jobs.job_file_created(saved)
    return saved


# ---------------------------------------------------------------- reading


_CACHE: OrderedDict[tuple[int, str], pd.DataFrame] = OrderedDict()
_CACHE_LOCK = threading.Lock()
_CACHE_ENTRIES = 2
_CACHE_MAX_BYTES = 512 * 1024 * 1024


def dataset_load_frame(*, dataset: Dataset) -> pd.DataFrame:
    """Return the dataset as a DataFrame, read from its Parquet (never from the CSV)."""
    if dataset.status != DatasetStatus.READY or not dataset.parquet:
        raise DataError(f"The dataset “{dataset.name}” is not ready: it is {dataset.status}.")
    key = (dataset.pk, dataset.parquet)
    with _CACHE_LOCK:
        if key in _CACHE:
            _CACHE.move_to_end(key)
            # pandas 3 copies on write: callers may change their copy without touching ours.
            return _CACHE[key].copy(deep=False)
    with default_storage.open(dataset.parquet, "rb") as fh:
        df = read_parquet(fh)
    # deep=True: text columns hold their strings outside the frame's own arrays.
    if df.memory_usage(deep=True).sum() <= _CACHE_MAX_BYTES:
        with _CACHE_LOCK:
            _CACHE[key] = df
            while len(_CACHE) > _CACHE_ENTRIES:
                _CACHE.popitem(last=False)
    return df.copy(deep=False)


def dataset_load_part(*, dataset: Dataset, columns: list[str] | None = None,
                      max_cells: int | None = None) -> pd.DataFrame:
    """Read part of a ready dataset: only `columns`, and no more than `max_cells` values (the
    first rows). The web process uses it to check a request, so its memory stays bounded
    however big the dataset is."""
    if dataset.status != DatasetStatus.READY or not dataset.parquet:
        raise DataError(f"The dataset “{dataset.name}” is not ready: it is {dataset.status}.")
    width = len(columns) if columns is not None else max(1, dataset.n_columns or 1)
    max_rows = None if max_cells is None else max(1000, max_cells // max(1, width))
    with default_storage.open(dataset.parquet, "rb") as fh:
        return read_parquet(fh, columns=columns, max_rows=max_rows)


def _cache_forget(dataset_id: int) -> None:
    with _CACHE_LOCK:
        for key in [k for k in _CACHE if k[0] == dataset_id]:
            del _CACHE[key]


# ---------------------------------------------------------------- changes


def dataset_delete(*, dataset: Dataset, user: Any) -> None:
    """Delete the dataset and, once committed, its stored files."""
    names = [dataset.file, dataset.parquet]
    audit_record(workspace=dataset.workspace, actor=user, verb=Verb.DATASET_DELETE, target=dataset,
                 detail={"dataset_id": dataset.pk})
    _cache_forget(dataset.pk)
    dataset.delete()
    transaction.on_commit(lambda: storage_delete_all(names))


def dataset_rename(*, dataset: Dataset, user: Any, name: str) -> Dataset:
    """Give the dataset a new display name."""
    name = (name or "").strip()
    if not name:
        raise ValidationError({"name": ["The name cannot be empty."]})
    if len(name) > 200:
        raise ValidationError({"name": ["The name is longer than 200 characters."]})
    old, dataset.name = dataset.name, name
    dataset.save(update_fields=["name", "updated_at"])
    audit_record(workspace=dataset.workspace, actor=user, verb=Verb.DATASET_RENAME, target=dataset,
                 detail={"from": old, "to": name})
    return dataset


def dataset_fail_stale() -> int:
    """Mark processing datasets whose worker died or that were never picked up as failed."""
    return jobs.fail_stale(DATASET_JOB)
