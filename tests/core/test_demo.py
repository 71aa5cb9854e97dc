"""Demo content: real sample datasets and one trained model, seeded once and only once."""

import time

import pytest
from django.core.files.storage import default_storage
from django.core.management import call_command

from apps.core.models import AuditEvent
from apps.datasets.models import Dataset
from apps.experiments.models import Experiment
from apps.home.demo import DEMO_DATASETS, demo_seed_content
from apps.models.models import Model

pytestmark = pytest.mark.django_db


def _counts(workspace):
    return {
        "datasets": Dataset.objects.filter(workspace=workspace).count(),
        "experiments": Experiment.objects.filter(workspace=workspace).count(),
        "models": Model.objects.filter(workspace=workspace).count(),
        "audit": AuditEvent.objects.filter(workspace=workspace).count(),
    }


def test_it_seeds_ready_datasets_and_a_trained_model_once(
    workspace, alice, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        demo_seed_content(workspace=workspace, user=alice, train=True)

    datasets = {d.name: d for d in Dataset.objects.filter(workspace=workspace)}
    assert set(datasets) == {spec.name for spec in DEMO_DATASETS}
    assert all(d.status == "ready" for d in datasets.values()), [d.error for d in datasets.values()]
    cancer = datasets["Breast cancer (demo)"]
    assert (cancer.n_rows, cancer.n_columns) == (569, 31)
    assert {"diagnosis", "mean radius"} <= {c["name"] for c in cancer.columns}
    assert datasets["Wine (demo)"].n_rows == 178
    assert datasets["Diabetes (demo)"].n_rows == 442
    assert default_storage.exists(cancer.parquet)

    experiment = Experiment.objects.get(workspace=workspace)
    assert experiment.status == "succeeded", experiment.error
    assert experiment.dataset == cancer and experiment.task == "classification"
    assert experiment.metrics["accuracy"] > 0.85
    assert experiment.plots, "the finished experiment has its plots"
    model = Model.objects.get(workspace=workspace)
    assert model.target == "diagnosis" and sorted(model.classes) == ["benign", "malignant"]
    assert default_storage.exists(model.file)

    before = _counts(workspace)
    started = time.monotonic()
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        demo_seed_content(workspace=workspace, user=alice, train=True)
    assert time.monotonic() - started < 2.0, "re-seeding an already seeded workspace is quick"
    assert _counts(workspace) == before
    assert callbacks == [], "nothing new was queued"


def test_seed_demo_without_training_makes_the_user_workspace_and_datasets(
    django_capture_on_commit_callbacks,
):
    with django_capture_on_commit_callbacks(execute=True):
        call_command("seed_demo", "--no-train", stdout=open("/dev/null", "w"))
    dataset = Dataset.objects.get(workspace__slug="demo", name="Wine (demo)")
    assert dataset.status == "ready" and dataset.created_by.username == "demo"
    assert Experiment.objects.filter(workspace__slug="demo").count() == 0
    assert Dataset.objects.filter(workspace__slug="demo").count() == len(DEMO_DATASETS)
