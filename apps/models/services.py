"""Registry writes and predictions: register, rename, describe, delete, predict, export."""

from __future__ import annotations

import datetime
import hashlib
import logging
import tempfile
import threading
from typing import IO, Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Max

from apps.core import jobs
from apps.core.csvsafe import csv_frame_to_text
from apps.core.files import storage_delete, storage_path, storage_save
from apps.core.models import Verb
from apps.core.services import audit_record
from apps.models.cache import bundle_cache
from apps.models.models import BatchPrediction, BatchStatus, Model
from ml.errors import DataError

log = logging.getLogger(__name__)

MAX_JSON_ROWS = 10_000
_VERSION_RETRIES = 5


# --- register ----------------------------------------------------------------------------------


def _default_name(experiment: Any, result: Any) -> str:
    if experiment is not None and getattr(experiment, "name", ""):
        return str(experiment.name)[:200]
    dataset = getattr(getattr(experiment, "dataset", None), "name", None)
    return f"{result.algorithm} on {dataset or result.target}"[:200]


def _write_bundle(workspace: Any, result: Any, meta: dict[str, Any]) -> tuple[str, str, int]:
    """Save the signed bundle to storage; return (storage name, sha256, size)."""
    from ml.bundle import save_bundle

    with tempfile.TemporaryFile(dir=settings.FILE_UPLOAD_TEMP_DIR) as tmp:
        save_bundle(result.pipeline, meta, tmp, key=settings.MODEL_SIGNING_KEY)
        size = tmp.tell()
        tmp.seek(0)
        digest = hashlib.sha256()
        for chunk in iter(lambda: tmp.read(1024 * 1024), b""):
            digest.update(chunk)
        tmp.seek(0)
        # The file is complete in storage before any row points at it.
        name = storage_save(storage_path(workspace, "models", ".mwm"), tmp)
    return name, digest.hexdigest(), size


def _create_row(*, workspace: Any, name: str, fields: dict[str, Any]) -> Model:
    """Create the row with the next version for `name`; retry when a concurrent register won."""
    for attempt in range(_VERSION_RETRIES):
        try:
            with transaction.atomic():
                latest = Model.objects.filter(workspace=workspace, name=name).aggregate(
                    v=Max("version")
                )["v"]
                return Model.objects.create(
                    workspace=workspace, name=name, version=(latest or 0) + 1, **fields
                )
        except IntegrityError:
            if attempt == _VERSION_RETRIES - 1:
                raise
    raise AssertionError("unreachable")


def model_register(
    *,
    experiment: Any,
    result: Any,
    user: Any,
    workspace: Any = None,
    name: str | None = None,
    description: str = "",
) -> Model:
    """Save the result's pipeline as a signed bundle and register it as a new model version."""
    workspace = workspace if workspace is not None else experiment.workspace
    name = (name or "").strip()[:200] or _default_name(experiment, result)
    from ml.bundle import library_versions, metadata_from_result

    meta = metadata_from_result(result)
    file_name, sha256, size = _write_bundle(workspace, result, meta)
    recorded = result.to_dict()
    fields = {
        "description": description,
        "algorithm": result.algorithm,
        "task": result.task,
        "target": result.target,
        "input_schema": list(recorded["input_schema"]),
        "classes": recorded["classes"],
        "metrics": dict(recorded["metrics"] or {}),
        "primary_metric": result.primary_metric or "",
        "score": recorded["score"],
        "baseline": recorded["baseline"] or {},
        "file": file_name,
        "sha256": sha256,
        "size_bytes": size,
        "library_versions": library_versions(result.pipeline),
        "created_by": user if getattr(user, "is_authenticated", False) else None,
    }
    if experiment is not None:
        fields["experiment"] = experiment
    try:
        model = _create_row(workspace=workspace, name=name, fields=fields)
    except Exception:
        storage_delete(file_name)  # no row points at it: don't leave it behind
        raise
    audit_record(workspace=workspace, actor=user, verb=Verb.MODEL_REGISTER, target=model,
                 detail={"model": model.pk, "version": model.version})
    return model


# --- serving processes -------------------------------------------------------------------------


def serving_process_announce(*, name: str, loaded: list[int]) -> None:
    """Record that serving process `name` is alive and holds the models `loaded`."""
    from django.utils import timezone

    from apps.models.models import ServingProcess

    ServingProcess.objects.update_or_create(
        name=name, defaults={"seen_at": timezone.now(), "loaded": list(loaded)})


def serving_process_gone(*, name: str) -> None:
    """Forget a serving process that stops (a killed one ages out instead)."""
    from apps.models.models import ServingProcess

    ServingProcess.objects.filter(name=name).delete()


def model_wait_served(*, model: Model, timeout: float | None = None) -> tuple[int, int]:
    """Wait until every live serving process holds `model` loaded, at most `timeout` seconds
    (MODEL_READY_WAIT_S). Return (processes holding it, live processes).

    Web processes poll for new models and load them (MODEL_WARM_POLL_S + the load, ~0.3 s for
    a 100-tree forest); waiting here, before the experiment reports success, means the first
    prediction a client sends after "succeeded" finds the model loaded. No live serving
    process (none started, or warming turned off) means no wait. Keras models are never
    preloaded into web processes, so they are not waited for either.
    """
    import time

    from django.utils import timezone

    from apps.models.models import ServingProcess
    from ml.algorithms import list_algorithms

    keras = {a["key"] for a in list_algorithms() if a.get("family") == "keras"}
    if model.algorithm in keras:
        return 0, 0
    timeout = float(getattr(settings, "MODEL_READY_WAIT_S", 3.0) if timeout is None else timeout)
    live_s = float(getattr(settings, "SERVING_LIVE_S", 15.0))
    deadline = time.monotonic() + timeout
    while True:
        since = timezone.now() - datetime.timedelta(seconds=live_s)
        live = list(ServingProcess.objects.filter(seen_at__gte=since).values_list(
            "loaded", flat=True))
        holding = sum(1 for loaded in live if model.pk in (loaded or []))
        if holding == len(live) or time.monotonic() >= deadline:
            return holding, len(live)
        time.sleep(0.05)


# --- edit / delete -------------------------------------------------------------------------------


def _clean_name(name: str) -> str:
    name = (name or "").strip()
    if not name:
        raise ValidationError({"name": ["A model needs a name."]})
    if len(name) > 200:
        raise ValidationError({"name": ["Keep the name under 200 characters."]})
    return name


def model_rename(*, model: Model, name: str, user: Any) -> Model:
    """Rename the model; it becomes the next version of the new name."""
    name = _clean_name(name)
    if name == model.name:
        return model
    old = str(model)
    for attempt in range(_VERSION_RETRIES):
        try:
            with transaction.atomic():
                latest = Model.objects.filter(workspace=model.workspace, name=name).aggregate(
                    v=Max("version")
                )["v"]
                model.name, model.version = name, (latest or 0) + 1
                model.save(update_fields=["name", "version"])
                break
        except IntegrityError:
            if attempt == _VERSION_RETRIES - 1:
                raise
    audit_record(workspace=model.workspace, actor=user, verb=Verb.MODEL_RENAME, target=model,
                 detail={"from": old})
    return model


def model_describe(*, model: Model, description: str, user: Any) -> Model:
    """Set the model's description."""
    model.description = (description or "").strip()[:5000]
    model.save(update_fields=["description"])
    return model


def model_delete(*, model: Model, user: Any) -> None:
    """Delete the model, its file, its batch predictions' files, and its cached pipeline."""
    pk, file_name, workspace, label = model.pk, model.file, model.workspace, str(model)
    names = [file_name]
    for batch in BatchPrediction.objects.filter(model=model).only("input_file", "output_file"):
        names += [batch.input_file, batch.output_file]
    model.delete()
    bundle_cache.forget(pk)
    transaction.on_commit(lambda: [storage_delete(name) for name in names])
    audit_record(workspace=workspace, actor=user, verb=Verb.MODEL_DELETE, target=label,
                 detail={"model": pk})


# --- predict -----------------------------------------------------------------------------------


_serving = threading.local()


def _serving_threads() -> None:
    """Cap the native thread pools of this serving thread (PREDICT_THREADS, default 1), once.

    A web process answers requests in parallel already (processes x threads); a prediction
    that also fans out to OpenMP threads (hist_gradient_boosting) fights the others for the
    same cores: one row took 25 ms instead of 6 on a busy 2-core machine. OpenMP's limit is
    per thread, so each serving thread sets its own.
    """
    if getattr(_serving, "limited", False):
        return
    _thread_controller().limit(limits=int(getattr(settings, "PREDICT_THREADS", 1)))
    _serving.limited = True


_controller: list[Any] = []
_controller_lock = threading.Lock()


def _thread_controller() -> Any:
    """The process's threadpoolctl controller, made once: finding the native libraries costs
    ~3-12 ms, and the development server starts a new thread for every connection."""
    with _controller_lock:
        if not _controller:
            from threadpoolctl import ThreadpoolController

            _controller.append(ThreadpoolController())
        return _controller[0]


def model_predict_rows(
    *, model: Model, rows: Any = None, columns: Any = None, data: Any = None
) -> dict[str, Any]:
    """Predict `rows` (a list of objects) or `columns` + `data` (lists of values, "split").

    Raise SchemaError (bad columns or values) or ValidationError (too many rows).
    """
    from ml.predict import columns_to_frame, predict, rows_to_frame

    _serving_threads()

    field, items = ("rows", rows) if rows is not None else ("data", data)
    if not isinstance(items, list):
        raise ValidationError({field: [f"Send {field} as a list."]})
    if len(items) > MAX_JSON_ROWS:
        raise ValidationError({field: [
            f"At most {MAX_JSON_ROWS:,} rows per call (got {len(items):,}); split them, "
            "or upload a CSV file instead."
        ]})
    if rows is not None:
        frame = rows_to_frame(rows, model.input_schema)
    else:
        frame = columns_to_frame(columns, data, model.input_schema)
    bundle = bundle_cache.get(model)
    # The frame is validated already: pass the bare pipeline so predict() doesn't redo it.
    return predict(bundle.pipeline, frame, task=model.task, classes=model.classes)


def csv_max_rows() -> int:
    """Return how many rows one synchronous CSV prediction may hold."""
    return int(getattr(settings, "MODEL_PREDICT_CSV_MAX_ROWS", 100_000))


def csv_max_bytes() -> int:
    """Return how big a file one synchronous CSV prediction may be (the answer is built in
    memory, a few times the file's size)."""
    return int(getattr(settings, "MODEL_PREDICT_CSV_MAX_BYTES", 50 * 1024 * 1024))


def batch_inline(upload: Any) -> bool:
    """Say whether the page answers this file at once (small in rows and in bytes); a bigger
    one becomes a background job."""
    return (upload.size <= int(getattr(settings, "BATCH_PREDICT_INLINE_BYTES", 10 * 1024 * 1024))
            and csv_row_estimate(upload) <= batch_inline_rows())


class NotCsv(DataError):
    """The uploaded file is not text (a PNG or zip named .csv)."""


def _read_csv(fileobj: IO[bytes]) -> Any:
    from ml.data import read_csv, sniff_bytes

    head = fileobj.read(64 * 1024)
    try:
        sniff_bytes(head)
    except DataError as exc:
        raise NotCsv(str(exc)) from exc
    fileobj.seek(0)
    return read_csv(fileobj)


def model_predict_csv(*, model: Model, fileobj: IO[bytes], max_rows: int | None = None) -> str:
    """Predict every row of a CSV file; return the rows with prediction columns, as safe CSV."""
    return _predict_csv(model=model, fileobj=fileobj, max_rows=max_rows)[0]


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


def _predict_csv(*, model: Model, fileobj: IO[bytes],
                 max_rows: int | None = None) -> tuple[str, int]:
    from ml.predict import validate_frame

    _serving_threads()

    frame = _read_csv(fileobj)
    if max_rows is not None and len(frame) > max_rows:
        raise DataError(f"The file has {len(frame):,} rows; at most {max_rows:,} are predicted "
                        "at once. Split it into smaller files.")
    features = validate_frame(frame, model.input_schema)
    out = predict_frame_columns(model=model, features=features)
    result = frame.reset_index(drop=True)
    for column, values in out.items():
        result[_free_name(result, column)] = values
    return csv_frame_to_text(result), len(result)


def predict_frame_columns(*, model: Model, features: Any) -> dict[str, list[Any]]:
    """Return {"prediction": [...], "proba_<class>": [...]...} for a validated frame."""
    from ml.predict import predict

    bundle = bundle_cache.get(model)
    answer = predict(bundle.pipeline, features, task=model.task, classes=model.classes)
    columns: dict[str, list[Any]] = {"prediction": answer["predictions"]}
    if answer.get("probabilities") is not None and answer.get("classes"):
        for i, label in enumerate(answer["classes"]):
            columns[f"proba_{label}"] = [row[i] for row in answer["probabilities"]]
    return columns


def _free_name(frame: Any, name: str) -> str:
    """Return `name`, suffixed with underscores if the input already has such a column."""
    while name in frame.columns:
        name += "_"
    return name


# --- export ------------------------------------------------------------------------------------


def model_download_record(*, model: Model, user: Any, fmt: str) -> None:
    """Record in the audit log that `user` downloaded the model."""
    audit_record(workspace=model.workspace, actor=user, verb=Verb.MODEL_DOWNLOAD, target=model,
                 detail={"model": model.pk, "format": fmt})


def model_onnx_possible(*, model: Model) -> bool:
    """Whether the model can be offered as ONNX: every scikit-learn pipeline, no Keras one."""
    from ml.algorithms import list_algorithms

    keras = {a["key"] for a in list_algorithms() if a["family"] == "keras"}
    return model.algorithm not in keras


def model_onnx_bytes(*, model: Model) -> bytes:
    """Convert the model to ONNX; raise ExportError where it cannot be converted."""
    from ml.bundle import to_onnx

    return to_onnx(bundle_cache.get(model))


# --- batch prediction (background job) ---------------------------------------------------------

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
    from django_q.tasks import async_task

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
    transaction.on_commit(
        lambda: async_task("apps.models.tasks.batch_predict_task", batch.pk)
    )
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
    except Exception:
        log.exception("Batch prediction %s failed", batch_id)
        storage_delete(output)
        _batch_update(batch.pk, status=BatchStatus.FAILED, error=BATCH_UNEXPECTED_MESSAGE,
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
