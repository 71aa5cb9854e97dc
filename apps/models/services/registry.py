"""The registry's writes: register, rename, describe, delete, export; serving processes."""

from __future__ import annotations

import datetime
import hashlib
import tempfile
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Max

from apps.core.files import storage_delete, storage_delete_all, storage_path, storage_save
from apps.core.models import Verb
from apps.core.services import audit_record
from apps.models.cache import bundle_cache
from apps.models.models import BatchPrediction, Model

_VERSION_RETRIES = 5

# --- register ----------------------------------------------------------------------------------


def _default_name(experiment: Any, result: Any) -> str:
    name = getattr(experiment, "name", "") if experiment is not None else ""
    if name:
        return str(name)[:200]
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
        "ensemble": list(recorded.get("ensemble") or []),
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
    from ml.algorithms import algorithm_keys

    if model.algorithm in algorithm_keys(family="keras"):
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
    transaction.on_commit(lambda: storage_delete_all(names))
    audit_record(workspace=workspace, actor=user, verb=Verb.MODEL_DELETE, target=label,
                 detail={"model": pk})


# --- export ------------------------------------------------------------------------------------


def model_download_record(*, model: Model, user: Any, fmt: str) -> None:
    """Record in the audit log that `user` downloaded the model."""
    audit_record(workspace=model.workspace, actor=user, verb=Verb.MODEL_DOWNLOAD, target=model,
                 detail={"model": model.pk, "format": fmt})


def model_onnx_possible(*, model: Model) -> bool:
    """Whether the model can be offered as ONNX: every scikit-learn pipeline, no Keras one."""
    from ml.algorithms import algorithm_keys

    return model.algorithm not in algorithm_keys(family="keras")


def model_onnx_bytes(*, model: Model) -> bytes:
    """Convert the model to ONNX; raise ExportError where it cannot be converted."""
    from ml.bundle import to_onnx

    return to_onnx(bundle_cache.get(model))
