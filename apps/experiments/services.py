"""Writes for experiments: validate and queue a run, execute it in a worker, cancel, delete."""

from __future__ import annotations

import dataclasses
import logging
import math
import os
import time
import traceback
from typing import Any

from django.conf import settings
from django.core.exceptions import ObjectDoesNotExist, ValidationError
from django.db import transaction
from django.http import Http404
from django.utils import timezone

from apps.core import jobs
from apps.core.files import (
    STORAGE_DOWN_IN_JOB,
    storage_delete,
    storage_outage,
    storage_path,
    storage_save,
)
from apps.core.models import Verb
from apps.core.quotas import quota_check_jobs, quota_check_storage
from apps.core.services import audit_record
from apps.experiments.models import Experiment, Status, is_search
from apps.experiments.progress import ExperimentCallback
from ml.errors import ConfigError, MLError, TrainingCancelled

log = logging.getLogger(__name__)

TASK_PATH = "apps.experiments.tasks.experiment_run_task"
STALE_MESSAGE = "The worker running this job stopped unexpectedly (killed or out of memory)."
INTERNAL_MESSAGE = (
    "Training stopped because of an unexpected internal error. The details are in the log for "
    "administrators; try again, or pick another algorithm."
)


class ExperimentEnded(Exception):
    """The experiment has already ended, so it cannot be cancelled."""


class NotASearch(Exception):
    """Only auto and tuning jobs can stop early and keep their best model."""


def _setting(name: str, default: Any) -> Any:
    return getattr(settings, name, default)


# ---------------------------------------------------------------- validation and creation


def _config_error(exc: ConfigError) -> ValidationError:
    field = getattr(exc, "field", None) or "non_field_errors"
    return ValidationError({field: [getattr(exc, "message", None) or str(exc)]})


def _dataset_for(*, workspace: Any, value: Any) -> Any:
    """Return the workspace's ready dataset `value`, or raise a ValidationError on `dataset`."""
    try:
        pk = int(value)
    except (TypeError, ValueError):
        raise ValidationError({"dataset": ["Incorrect type. Expected a dataset id."]}) from None
    from apps.datasets.selectors import dataset_get

    try:
        dataset = dataset_get(workspace=workspace, pk=pk)
    except (Http404, ObjectDoesNotExist):
        dataset = None
    if dataset is None:  # also for another workspace's id: same words, nothing leaks
        raise ValidationError({"dataset": [f'Invalid pk "{pk}" - object does not exist.']})
    if dataset.status != "ready":
        raise ValidationError({"dataset": [
            f"The dataset {dataset.name!r} is not ready (status: {dataset.status}); "
            "wait until it is processed."]})
    return dataset


def _column_names(dataset: Any) -> list[str]:
    return [str(c["name"]) for c in (dataset.columns or [])]


def experiment_validate(*, workspace: Any, data: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
    """Check a request body against the dataset; return (dataset, normalised config dict)."""
    from apps.datasets.services import dataset_load_part
    from ml.config import TrainConfig, validate_for_data

    if not isinstance(data, dict):
        raise ValidationError({"non_field_errors": ["The body must be a JSON object."]})
    # Name every missing required field at once, as DRF does, not one per attempt.
    absent = [f for f in ("dataset", "target", "algorithm") if data.get(f) in (None, "")]
    if absent:
        raise ValidationError({f: ["This field is required."] for f in absent})
    dataset = _dataset_for(workspace=workspace, value=data.get("dataset"))
    body = {k: v for k, v in data.items() if k not in ("name", "dataset", "n_threads")}
    try:
        columns = _column_names(dataset)
        config = TrainConfig.from_dict(body, columns=columns)
        # Only the target column is read: the request is checked against the stored profile's
        # column names, so a big dataset is never loaded whole into the web process.
        config = validate_for_data(
            config, dataset_load_part(dataset=dataset, columns=[config.target]), columns)
        if config.tuning is None and config.algorithm != "auto":
            from ml.algorithms import get_algorithm

            config.params = get_algorithm(config.algorithm, config.task).validate_params(
                config.params)
    except ConfigError as exc:
        raise _config_error(exc) from exc
    except MLError as exc:  # the stored data could not be read
        raise ValidationError({"dataset": [str(exc)]}) from exc
    normalised = dataclasses.asdict(config)
    normalised.pop("n_threads", None)
    return dataset, normalised


def _algorithm_label(config: dict[str, Any]) -> str:
    """Return the algorithm's label ("Random forest") for default names; the key if unknown."""
    from ml.algorithms import list_algorithms

    labels = {(a["key"], a["task"]): a["label"] for a in list_algorithms()}
    return labels.get((config["algorithm"], config["task"]), config["algorithm"])


def experiment_create(*, workspace: Any, user: Any, data: dict[str, Any]) -> Experiment:
    """Validate the body, save a queued experiment and enqueue its job after commit."""
    dataset, config = experiment_validate(workspace=workspace, data=data)
    quota_check_jobs(workspace=workspace)
    quota_check_storage(workspace=workspace)
    name = str(data.get("name") or "").strip()[:200]
    with transaction.atomic():
        experiment = Experiment.objects.create(
            workspace=workspace, dataset=dataset, created_by=user,
            name=name or f"{_algorithm_label(config)} on {dataset.name}",
            target=config["target"], task=config["task"], algorithm=config["algorithm"],
            params=config["params"], config=config,
        )
        audit_record(workspace=workspace, actor=user, verb=Verb.EXPERIMENT_RUN, target=experiment,
                     detail={"experiment": experiment.pk, "algorithm": experiment.algorithm})
        transaction.on_commit(lambda: experiment_enqueue(experiment_id=experiment.pk))
    return experiment


def experiment_enqueue(*, experiment_id: int) -> str:
    """Queue the job for a worker (only the id travels) and remember the task id."""
    task_id = jobs.enqueue(EXPERIMENT_JOB, experiment_id)
    Experiment.objects.filter(pk=experiment_id).update(task_id=task_id[:64])
    return task_id


# ---------------------------------------------------------------- cancel and delete


def experiment_cancel(*, experiment: Experiment, user: Any, keep_best: bool = False) -> Experiment:
    """Cancel a queued job at once, or ask a running one to stop; raise ExperimentEnded.

    `keep_best`: a running auto or tuning job stops its search early instead, keeps its
    leaderboard, registers the best model so far and ends `stopped` (a queued one has nothing
    to keep and is cancelled). Raise NotASearch for a job that trains one model.
    """
    if keep_best and not is_search(experiment.algorithm, experiment.config):
        raise NotASearch("Only auto and tuning jobs can stop early and keep their best model; "
                         "cancel this one instead.")
    now = timezone.now()
    done = Experiment.objects.filter(pk=experiment.pk, status=Status.QUEUED).update(
        status=Status.CANCELLED, cancel_requested=True, finished_at=now, progress=0.0)
    if not done:
        asked = {"stop_requested": True} if keep_best else {"cancel_requested": True}
        done = Experiment.objects.filter(pk=experiment.pk, status=Status.RUNNING).update(**asked)
    if not done:
        raise ExperimentEnded(f"The experiment has already ended ({experiment.status}).")
    audit_record(workspace=experiment.workspace, actor=user, verb=Verb.EXPERIMENT_CANCEL,
                 target=experiment, detail={"experiment": experiment.pk,
                                            **({"keep_best": True} if keep_best else {})})
    experiment.refresh_from_db()
    return experiment


def experiment_delete(*, experiment: Experiment, user: Any) -> None:
    """Delete the experiment and its plot files; a queued or running job is cancelled first."""
    if not experiment.is_ended:
        try:
            experiment_cancel(experiment=experiment, user=user)
        except ExperimentEnded:
            pass  # it ended meanwhile
    files = [p.get("file") for p in experiment.plots or []]
    audit_record(workspace=experiment.workspace, actor=user, verb=Verb.EXPERIMENT_DELETE,
                 target=experiment, detail={"experiment": experiment.pk})
    experiment.delete()
    for name in files:
        storage_delete(name)


def experiment_fail_stale(*, stale_after_s: float | None = None) -> int:
    """Fail running experiments whose heartbeat stopped; return how many were failed."""
    return jobs.fail_stale(EXPERIMENT_JOB, stale_s=stale_after_s)


# ---------------------------------------------------------------- the job


EXPERIMENT_JOB = jobs.JobKind(
    noun="experiment", model="apps.experiments.models.Experiment",
    work="apps.experiments.services.experiment_work",
    queued=Status.QUEUED, running=Status.RUNNING, succeeded=Status.SUCCEEDED,
    failed=Status.FAILED,
    cancelled=Status.CANCELLED, ended_field="finished_at",
    stop_field="stop_requested", kept=Status.STOPPED,
    stale_message=STALE_MESSAGE,
    lost_message=("No worker started this job within a day. Check that the job workers are "
                  "running, then run it again."),
    retry_message=STALE_MESSAGE + " It was tried {tries} times; giving up.",
    queue_timeout_setting="EXPERIMENT_QUEUE_TIMEOUT_S", log_field="log", task=TASK_PATH,
)


def _finish(experiment_id: int, status: str, *, error: str = "",
            callback: ExperimentCallback | None = None, **fields: Any) -> bool:
    """End a running experiment; return False if it was no longer running."""
    if callback is not None:
        fields.update(log=callback.lines[-500:], history=callback.history)
    return jobs.end(EXPERIMENT_JOB, experiment_id, status, error=error, **fields)


def _train_config(experiment: Experiment) -> Any:
    from ml.config import TrainConfig

    config = TrainConfig.from_dict(experiment.config)
    config.n_threads = int(_setting("EXPERIMENT_THREADS", 1))
    # Keras reads these when TensorFlow first loads in this worker process.
    os.environ.setdefault("TF_NUM_INTRAOP_THREADS", str(config.n_threads))
    os.environ.setdefault("TF_NUM_INTEROP_THREADS", "1")
    return config


def experiment_execute(*, experiment_id: int) -> str | None:
    """Run one experiment's training job through the job runner; return its final status."""
    return jobs.run(EXPERIMENT_JOB, experiment_id)


def experiment_work(experiment_id: int) -> str:
    """Train a claimed (running) experiment and write its end; runs in the job's process."""
    experiment = Experiment.objects.select_related("dataset", "workspace").get(pk=experiment_id)
    callback = ExperimentCallback(experiment_id)
    try:
        result = _run_training(experiment, callback)
        callback.flush()
        return _store_results(experiment, result, callback)
    except TrainingCancelled:
        callback.on_log("Cancelled.")
        _finish(experiment_id, Status.CANCELLED, callback=callback)
        return Status.CANCELLED
    except MLError as exc:
        callback.on_log(f"Failed: {exc}")
        _finish(experiment_id, Status.FAILED, error=str(exc), callback=callback)
        return Status.FAILED
    except Exception as exc:  # else our bug: a clear message, the traceback for admins
        if storage_outage(exc):
            log.warning("Experiment %s: the file store failed: %s", experiment_id, exc)
            callback.on_log(f"Failed: {STORAGE_DOWN_IN_JOB}")
            _finish(experiment_id, Status.FAILED, error=STORAGE_DOWN_IN_JOB, callback=callback)
            return Status.FAILED
        log.exception("Experiment %s crashed", experiment_id)
        callback.lines.append(traceback.format_exc())
        _finish(experiment_id, Status.FAILED, error=INTERNAL_MESSAGE, callback=callback)
        return Status.FAILED


def _run_training(experiment: Experiment, callback: ExperimentCallback) -> Any:
    from ml.errors import DataError
    from ml.train import train

    if experiment.dataset is None:
        raise DataError("The dataset of this experiment was deleted.")
    from apps.datasets.services import dataset_load_frame

    callback.on_progress(0.0, f"Loading the dataset {experiment.dataset.name!r}")
    callback.flush()
    started = time.monotonic()
    frame = dataset_load_frame(dataset=experiment.dataset)
    loaded = round(time.monotonic() - started, 3)
    # The web process checked this config against the dataset's profile and target before it
    # queued the job (experiment_validate), and a dataset never changes: not checked again.
    result = train(frame, _train_config(experiment), callback=callback, validated=True)
    result.timings = {"load": loaded, **result.timings}
    return result


def oriented_score(score: float | None, metric: str) -> float | None:
    """Return the score so that higher is better (lower-is-better metrics are negated)."""
    from ml.evaluation import LOWER_IS_BETTER

    if score is None or not math.isfinite(float(score)):
        return None
    return -float(score) if metric in LOWER_IS_BETTER else float(score)


def _save_plots(experiment: Experiment, figures: dict[str, bytes]) -> list[dict[str, str]]:
    plots = []
    for name, png in figures.items():
        stored = storage_save(storage_path(experiment.workspace, "plots", ".png"), png)
        plots.append({"name": str(name), "file": stored})
    return plots


def _store_results(experiment: Experiment, result: Any, callback: ExperimentCallback) -> str:
    """Save plots and results, register the model, then mark the experiment succeeded."""
    from ml.predict import to_json_safe

    jobs.job_saving()  # a cancel asked from here on lets the save finish
    started = time.monotonic()
    plots = _save_plots(experiment, result.figures)
    recorded = result.to_dict()
    stored = Experiment.objects.filter(pk=experiment.pk, status=Status.RUNNING).update(
        task=result.task, progress=1.0, plots=plots,
        metrics=recorded["metrics"], cv_metrics=recorded["cv_metrics"],
        history=recorded["history"] or to_json_safe(callback.history),
        leaderboard=recorded["leaderboard"], best_params=recorded["best_params"],
        feature_importance=recorded["feature_importance"],
        score=oriented_score(result.score, result.primary_metric),
        baseline=recorded["baseline"] or {},
        log=callback.lines[-500:], heartbeat_at=timezone.now(),
    )
    if not stored:  # ended or deleted meanwhile: keep no orphan files
        for plot in plots:
            storage_delete(plot["file"])
        return Status.CANCELLED
    experiment.refresh_from_db()
    _register_model(experiment, result, callback)
    timings = {**result.timings, "save": round(time.monotonic() - started, 3)}
    callback.on_log(f"Saved the figures and the model in {timings['save']:.2f} s.")
    ending = Status.STOPPED if result.stopped_early else Status.SUCCEEDED
    _finish(experiment.pk, ending, callback=callback, timings=timings)
    return ending


def _register_model(experiment: Experiment, result: Any, callback: ExperimentCallback) -> None:
    """Register the fitted pipeline in the model registry, and wait (boundedly) until the web
    processes that serve predictions have loaded it."""
    from apps.models.services import model_register, model_wait_served

    model = model_register(experiment=experiment, result=result, user=experiment.created_by)
    callback.on_log(f"Registered as model {model}.")
    started = time.monotonic()
    try:
        holding, live = model_wait_served(model=model)
    except Exception:  # noqa: BLE001 - a courtesy to the web processes, never a failed job
        log.warning("Could not wait for the web processes to load model %s", model.pk,
                    exc_info=True)
        return
    if live:
        callback.on_log(f"Loaded by {holding} of {live} web processes that serve predictions "
                        f"in {time.monotonic() - started:.2f} s.")


def experiment_rerun_body(*, experiment: Experiment) -> dict[str, Any]:
    """Return a request body that runs this experiment again (for "Run again with changes")."""
    body = dict(experiment.config or {})
    body["dataset"] = experiment.dataset_id
    body["name"] = experiment.name
    return body
