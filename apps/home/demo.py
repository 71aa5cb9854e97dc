"""Demo content: sample datasets from scikit-learn and one trained model (idempotent).

`manage.py seed_demo` (run by every `make run`) calls `demo_seed_content`; when everything is
already there it only runs a few queries. Work that normally goes to the worker runs inline here,
so the demo is ready before the web server starts and no job is left in the queue.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DemoDataset:
    """One sample dataset: its display name, file name and how to build its frame."""

    key: str
    name: str
    filename: str
    target: str
    load: Callable[[], Any]


def _breast_cancer() -> Any:
    from sklearn.datasets import load_breast_cancer

    bunch = load_breast_cancer(as_frame=True)
    frame = bunch.frame.drop(columns="target")
    frame["diagnosis"] = [bunch.target_names[i] for i in bunch.target]
    return frame


def _wine() -> Any:
    from sklearn.datasets import load_wine

    bunch = load_wine(as_frame=True)
    frame = bunch.frame.drop(columns="target")
    frame["cultivar"] = [f"cultivar_{i + 1}" for i in bunch.target]
    return frame


def _diabetes() -> Any:
    from sklearn.datasets import load_diabetes

    # Unscaled: the real ages, BMIs and blood pressures read better in the quality report.
    bunch = load_diabetes(as_frame=True, scaled=False)
    return bunch.frame.rename(columns={"target": "progression"})


DEMO_DATASETS = (
    DemoDataset(
        "breast_cancer", "Breast cancer (demo)", "breast_cancer.csv", "diagnosis", _breast_cancer
    ),
    DemoDataset("wine", "Wine (demo)", "wine.csv", "cultivar", _wine),
    DemoDataset("diabetes", "Diabetes (demo)", "diabetes.csv", "progression", _diabetes),
)
# The demo experiment: quick (a few seconds on one core) and good enough to be worth a look.
DEMO_EXPERIMENT = {
    "name": "Random forest on breast cancer (demo)",
    "algorithm": "random_forest",
    "params": {"n_estimators": 25},
    "validation": {"test_size": 0.2, "cv_folds": 3, "stratify": True, "random_state": 42},
}


@contextlib.contextmanager
def _tasks_inline() -> Iterator[None]:
    """Run django-q2 tasks queued in this block in this process (as the unit tests do)."""
    from django_q.conf import Conf

    sync, Conf.SYNC = Conf.SYNC, True
    try:
        yield
    finally:
        Conf.SYNC = sync


def _demo_dataset(*, workspace: Any, user: Any, spec: DemoDataset) -> Any:
    """Return the workspace's copy of a sample dataset, uploading and processing it if absent."""
    from apps.datasets.models import Dataset

    existing = Dataset.objects.filter(workspace=workspace, name=spec.name).first()
    if existing is not None:
        return existing
    # Imported only when there is work to do, so that a seeded workspace starts up quickly.
    from django.core.files.base import ContentFile

    from apps.core.csvsafe import csv_frame_to_text
    from apps.datasets.services import dataset_create, dataset_process

    upload = ContentFile(csv_frame_to_text(spec.load()).encode(), name=spec.filename)
    with _tasks_inline():
        dataset = dataset_create(workspace=workspace, user=user, upload=upload, name=spec.name)
    dataset.refresh_from_db()
    if dataset.status == "processing":  # inside a transaction the queued task waits for commit
        dataset_process(dataset_id=dataset.pk)
        dataset.refresh_from_db()
    if dataset.status != "ready":
        log.warning("Demo dataset %s is %s: %s", spec.name, dataset.status, dataset.error)
    return dataset


def _demo_experiment(*, workspace: Any, user: Any, dataset: Any, target: str) -> Any:
    """Train the demo experiment on `dataset` unless one is done or under way."""
    from apps.experiments.models import Experiment, Status

    existing = Experiment.objects.filter(
        workspace=workspace,
        dataset=dataset,
        status__in=[Status.QUEUED, Status.RUNNING, Status.SUCCEEDED],
    ).first()
    if existing is not None or dataset.status != "ready":
        return existing
    from apps.experiments.services import experiment_create, experiment_execute

    body = {**DEMO_EXPERIMENT, "dataset": dataset.pk, "target": target}
    # experiment_create queues the job on commit; inline, the job runs before this block ends.
    with _tasks_inline():
        experiment = experiment_create(workspace=workspace, user=user, data=body)
    experiment.refresh_from_db()
    if experiment.status == Status.QUEUED:  # inside a transaction: the job waits for commit
        experiment_execute(experiment_id=experiment.pk)
        experiment.refresh_from_db()
    if experiment.status != Status.SUCCEEDED:
        log.warning("Demo experiment ended %s: %s", experiment.status, experiment.error)
    return experiment


def demo_seed_content(*, workspace: Any, user: Any, train: bool = True) -> None:
    """Add the sample datasets and a finished experiment if the workspace has none."""
    datasets = {
        spec.key: _demo_dataset(workspace=workspace, user=user, spec=spec) for spec in DEMO_DATASETS
    }
    if train:
        spec = DEMO_DATASETS[0]
        _demo_experiment(
            workspace=workspace, user=user, dataset=datasets[spec.key], target=spec.target
        )
