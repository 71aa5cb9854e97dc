"""Registry writes and predictions: register, rename, describe, delete, predict, export."""

from __future__ import annotations

import hashlib
import logging
import math
import tempfile
from typing import IO, Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Max

from apps.core.csvsafe import csv_frame_to_text
from apps.core.files import storage_delete, storage_path, storage_save
from apps.core.services import audit_record
from apps.models.cache import bundle_cache
from apps.models.models import Model
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


def _json_number(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _json_metrics(metrics: dict[str, Any] | None) -> dict[str, Any]:
    from ml.predict import to_json_safe

    return to_json_safe(dict(metrics or {}))


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
    from ml.predict import to_json_safe

    meta = metadata_from_result(result)
    file_name, sha256, size = _write_bundle(workspace, result, meta)
    fields = {
        "description": description,
        "algorithm": result.algorithm,
        "task": result.task,
        "target": result.target,
        "input_schema": to_json_safe(list(result.input_schema)),
        "classes": to_json_safe(result.classes) if result.classes is not None else None,
        "metrics": _json_metrics(result.metrics),
        "primary_metric": result.primary_metric or "",
        "score": _json_number(result.score),
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
    audit_record(workspace=workspace, actor=user, verb="model.register", target=model,
                 detail={"model": model.pk, "version": model.version})
    return model


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
    audit_record(workspace=model.workspace, actor=user, verb="model.rename", target=model,
                 detail={"from": old})
    return model


def model_describe(*, model: Model, description: str, user: Any) -> Model:
    """Set the model's description."""
    model.description = (description or "").strip()[:5000]
    model.save(update_fields=["description"])
    return model


def model_delete(*, model: Model, user: Any) -> None:
    """Delete the model, its file, and its cached pipeline."""
    pk, file_name, workspace, label = model.pk, model.file, model.workspace, str(model)
    model.delete()
    bundle_cache.forget(pk)
    transaction.on_commit(lambda: storage_delete(file_name))
    audit_record(workspace=workspace, actor=user, verb="model.delete", target=label,
                 detail={"model": pk})


# --- predict -----------------------------------------------------------------------------------


def model_predict_rows(*, model: Model, rows: Any) -> dict[str, Any]:
    """Predict a list of row objects; raise SchemaError (bad columns) or ValidationError."""
    from ml.predict import predict, rows_to_frame

    if not isinstance(rows, list):
        raise ValidationError({"rows": ["Send rows as a list of objects."]})
    if len(rows) > MAX_JSON_ROWS:
        raise ValidationError({"rows": [
            f"At most {MAX_JSON_ROWS:,} rows per call (got {len(rows):,}); split them, "
            "or upload a CSV file instead."
        ]})
    frame = rows_to_frame(rows, model.input_schema)
    bundle = bundle_cache.get(model)
    # The frame is validated already: pass the bare pipeline so predict() doesn't redo it.
    return predict(bundle.pipeline, frame, task=model.task, classes=model.classes)


def csv_max_rows() -> int:
    """Return how many rows one synchronous CSV prediction may hold."""
    return int(getattr(settings, "MODEL_PREDICT_CSV_MAX_ROWS", 1_000_000))


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
    from ml.predict import validate_frame

    frame = _read_csv(fileobj)
    if max_rows is not None and len(frame) > max_rows:
        raise DataError(f"The file has {len(frame):,} rows; at most {max_rows:,} are predicted "
                        "at once. Split it into smaller files.")
    features = validate_frame(frame, model.input_schema)
    out = predict_frame_columns(model=model, features=features)
    result = frame.reset_index(drop=True)
    for column, values in out.items():
        result[_free_name(result, column)] = values
    return csv_frame_to_text(result)


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
    audit_record(workspace=model.workspace, actor=user, verb="model.download", target=model,
                 detail={"model": model.pk, "format": fmt})


def model_onnx_bytes(*, model: Model) -> bytes:
    """Convert the model to ONNX; raise ExportError where it cannot be converted."""
    from ml.bundle import to_onnx

    return to_onnx(bundle_cache.get(model))
