"""Batch predictions of big CSV files, as background jobs."""

from __future__ import annotations

import logging
import tempfile
from typing import IO, Any

from django.conf import settings
from django.db import transaction

from apps.core import jobs
from apps.core.files import (
    STORAGE_DOWN_IN_JOB,
    storage_delete,
    storage_outage,
    storage_path,
    storage_save,
)
from apps.core.models import Verb
from apps.core.services import audit_record
from apps.models.models import BatchPrediction, BatchStatus, Model
from apps.models.services.predictions import (
    NotCsv,
    _free_name,
    _predict_csv,
    _read_csv,
    predict_frame_columns,
)
from ml.errors import DataError

log = logging.getLogger(__name__)


BATCH_STALE_MESSAGE = (
    "The batch prediction stopped: its worker stopped reporting (it was stopped or ran out of "
    "memory). Upload the file again to retry, or split it into smaller files."
)
BATCH_UNEXPECTED_MESSAGE = (
    "The batch prediction failed unexpectedly; the error was logged for the administrators. "
    "Try again, or split the file into smaller files."
)


def batch_inline_rows() -> int:
    """Return how many rows the batch page predicts within the request; more run as a job."""
    return int(getattr(settings, "BATCH_PREDICT_INLINE_ROWS", 20_000))


def batch_chunk_rows() -> int:
    """Return how many rows a batch job predicts per step (one progress update each)."""
    return max(1, int(getattr(settings, "BATCH_PREDICT_CHUNK_ROWS", 50_000)))


def batch_inline(upload: Any) -> bool:
    """Say whether the page answers this file at once (small in rows and in bytes); a bigger
    one becomes a background job."""
    return (upload.size <= int(getattr(settings, "BATCH_PREDICT_INLINE_BYTES", 10 * 1024 * 1024))
            and csv_row_estimate(upload) <= batch_inline_rows())


def batch_prediction_inline(*, model: Model, fileobj: IO[bytes], user: Any, filename: str,
                            max_rows: int) -> tuple[BatchPrediction, str]:
    """Predict a small file at once; keep the answer as a finished batch prediction (so the
    batch page lists it and it can be downloaded again); return it with the CSV text."""
    text, n_rows = _predict_csv(model=model, fileobj=fileobj, max_rows=max_rows)
    output = storage_save(storage_path(model.workspace, "predictions", ".csv"),
                          text.encode("utf-8"))
    from django.utils import timezone

    now = timezone.now()
    try:
        batch = BatchPrediction.objects.create(
            workspace=model.workspace, model=model, inline=True, output_file=output,
            input_name=str(filename or "")[:255], status=BatchStatus.SUCCEEDED,
            progress=1.0, n_rows=n_rows, started_at=now, finished_at=now,
            created_by=user if getattr(user, "is_authenticated", False) else None)
    except Exception:
        storage_delete(output)
        raise
    return batch, text


def csv_row_estimate(fileobj: IO[bytes]) -> int:
    """Return an upper bound of the file's data rows (its line breaks), reading it once."""
    newlines = returns = 0
    fileobj.seek(0)
    for block in iter(lambda: fileobj.read(1024 * 1024), b""):
        newlines += block.count(b"\n")
        returns += block.count(b"\r")
    fileobj.seek(0)
    # Old Mac files break lines with \r alone; a last line without a break is the header's.
    return max(newlines, returns)


def batch_prediction_start(
    *, model: Model, fileobj: IO[bytes], user: Any, filename: str = ""
) -> BatchPrediction:
    """Store the CSV file and queue a job that predicts it; raise NotCsv for a non-text file."""
    from apps.core.quotas import quota_check_jobs
    from ml.data import sniff_bytes

    quota_check_jobs(workspace=model.workspace)
    fileobj.seek(0)
    try:
        sniff_bytes(fileobj.read(64 * 1024))
    except DataError as exc:
        raise NotCsv(str(exc)) from exc
    fileobj.seek(0)
    name = storage_save(storage_path(model.workspace, "predictions", ".csv"), fileobj)
    try:
        batch = BatchPrediction.objects.create(
            workspace=model.workspace, model=model, input_file=name,
            input_name=str(filename or "")[:255],
            created_by=user if getattr(user, "is_authenticated", False) else None,
        )
    except Exception:
        storage_delete(name)
        raise
    audit_record(workspace=model.workspace, actor=user, verb=Verb.MODEL_BATCH_PREDICT, target=model,
                 detail={"model": model.pk, "batch": batch.pk})
    transaction.on_commit(lambda: jobs.enqueue(BATCH_JOB, batch.pk))
    return batch


def _batch_update(batch_id: int, **fields: Any) -> int:
    """Update a running job (progress, heartbeat, end); return 0 if it is no longer running."""
    from django.utils import timezone

    fields.setdefault("heartbeat_at", timezone.now())
    return BatchPrediction.objects.filter(pk=batch_id, status=BatchStatus.RUNNING).update(
        **fields
    )


def _write_rows(writer: Any, rows: Any) -> None:
    from apps.core.csvsafe import csv_safe_cell

    for row in rows:
        writer.writerow([csv_safe_cell(v) for v in row])


def _batch_predict_file(batch: BatchPrediction, out: IO[bytes]) -> int:
    """Predict the job's input chunk by chunk into `out` (escaped CSV); return the row count."""
    import csv
    import io

    from django.core.files.storage import default_storage

    from ml.predict import validate_frame

    try:
        with default_storage.open(batch.input_file, "rb") as fh:
            frame = _read_csv(fh)
    except (FileNotFoundError, OSError) as exc:
        raise DataError("The uploaded file is missing from storage; upload it again.") from exc
    total = len(frame)
    if total == 0:
        raise DataError("The file has a header but no rows to predict.")
    _batch_update(batch.pk, n_rows=total)
    text = io.TextIOWrapper(out, encoding="utf-8", newline="")
    writer = csv.writer(text)
    step = batch_chunk_rows()
    for start in range(0, total, step):
        part = frame.iloc[start:start + step]
        columns = predict_frame_columns(
            model=batch.model, features=validate_frame(part, batch.model.input_schema)
        )
        result = part.reset_index(drop=True)
        for column, values in columns.items():
            result[_free_name(result, column)] = values
        if start == 0:
            _write_rows(writer, [[str(c) for c in result.columns]])
        _write_rows(writer, result.itertuples(index=False, name=None))
        done = start + len(part)
        # Outside any transaction, so the page sees it at once; 1.0 only once it is saved.
        if not _batch_update(batch.pk, progress=min(done / total, 0.99)):
            raise _BatchGone()
    text.flush()
    text.detach()  # leave `out` open for the caller
    return total


class _BatchGone(Exception):
    """The job's row was deleted or failed by the sweeper while it ran."""


BATCH_JOB = jobs.JobKind(
    noun="batch prediction", model="apps.models.models.BatchPrediction",
    work="apps.models.services.batch_prediction_work",
    queued=BatchStatus.QUEUED, running=BatchStatus.RUNNING,
    succeeded=BatchStatus.SUCCEEDED, failed=BatchStatus.FAILED,
    cancelled=None, ended_field="finished_at",
    stale_message=BATCH_STALE_MESSAGE,
    lost_message=("No worker started this batch prediction within a day. Check that the "
                  "job workers are running, then upload the file again."),
    queue_timeout_setting="EXPERIMENT_QUEUE_TIMEOUT_S",
    on_end="apps.models.services.batch_prediction_cleanup",
    task="apps.models.tasks.batch_predict_task",
)


def batch_prediction_execute(*, batch_id: int) -> str | None:
    """Run batch job `batch_id` through the job runner; return its final status."""
    return jobs.run(BATCH_JOB, batch_id)


def batch_prediction_work(batch_id: int) -> str | None:
    """Predict a claimed batch job's file into an output CSV and write its end."""
    from django.utils import timezone

    from ml.errors import BundleError, MLError

    batch = BatchPrediction.objects.select_related("model", "workspace").get(pk=batch_id)
    output = ""
    try:
        with tempfile.TemporaryFile(dir=settings.FILE_UPLOAD_TEMP_DIR) as tmp:
            _batch_predict_file(batch, tmp)
            tmp.seek(0)
            output = storage_save(storage_path(batch.workspace, "predictions", ".csv"), tmp)
        ended = _batch_update(batch.pk, status=BatchStatus.SUCCEEDED, output_file=output,
                              progress=1.0, finished_at=timezone.now())
        if not ended:
            raise _BatchGone()
        return BatchStatus.SUCCEEDED
    except _BatchGone:
        storage_delete(output)
        return None
    except (MLError, BundleError) as exc:
        _batch_update(batch.pk, status=BatchStatus.FAILED, error=str(exc)[:5000],
                      finished_at=timezone.now())
        return BatchStatus.FAILED
    except Exception as exc:
        outage = storage_outage(exc)
        if not outage:
            log.exception("Batch prediction %s failed", batch_id)
        storage_delete(output)
        _batch_update(batch.pk, status=BatchStatus.FAILED,
                      error=STORAGE_DOWN_IN_JOB if outage else BATCH_UNEXPECTED_MESSAGE,
                      finished_at=timezone.now())
        return BatchStatus.FAILED


def batch_prediction_cleanup(batch_id: int) -> None:
    """Delete an ended job's input file: it is not needed once the job ended, whichever way."""
    ended = BatchPrediction.objects.filter(pk=batch_id).exclude(
        status__in=[BatchStatus.QUEUED, BatchStatus.RUNNING])
    for name in ended.values_list("input_file", flat=True):
        storage_delete(name)
    ended.update(input_file="")


def batch_prediction_fail_stale(*, stale_after_s: float | None = None) -> int:
    """Fail batch jobs whose worker stopped reporting, or never started; return how many."""
    return jobs.fail_stale(BATCH_JOB, stale_s=stale_after_s)


def batch_prediction_download_record(*, batch: BatchPrediction, user: Any) -> None:
    """Record in the audit log that `user` downloaded a batch job's predictions."""
    audit_record(workspace=batch.workspace, actor=user, verb=Verb.MODEL_BATCH_DOWNLOAD,
                 target=batch.model, detail={"model": batch.model_id, "batch": batch.pk})
