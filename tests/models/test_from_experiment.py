"""Registering from an experiment: name, link, and its plots on the model card."""

from __future__ import annotations

from typing import Any

import pytest

from apps.core.files import storage_path, storage_save
from apps.models.services import model_register

pytestmark = pytest.mark.django_db

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


@pytest.fixture
def experiment(workspace: Any, alice: Any) -> Any:
    from apps.datasets.models import Dataset
    from apps.experiments.models import Experiment

    dataset = Dataset.objects.create(workspace=workspace, name="customers.csv", file="x.csv")
    plot = storage_save(storage_path(workspace, "plots", ".png"), PNG)
    return Experiment.objects.create(
        workspace=workspace, dataset=dataset, name="", target="label",
        algorithm="random_forest", plots=[{"name": "confusion_matrix", "file": plot}],
        created_by=alice,
    )


def test_it_registers_from_an_experiment_and_links_back(
    experiment: Any, clf_result: Any, alice: Any, api: Any
) -> None:
    model = model_register(experiment=experiment, result=clf_result, user=alice)
    assert model.workspace == experiment.workspace
    assert model.name == "random_forest on customers.csv"
    assert experiment.registered_model == model
    assert api.get(f"/api/v1/workspaces/acme/models/{model.pk}/").json()["experiment"] == (
        experiment.pk)


def test_the_card_serves_the_experiments_plots_to_members_only(
    experiment: Any, clf_result: Any, alice: Any, bob: Any, charlie: Any, client_as: Any
) -> None:
    model = model_register(experiment=experiment, result=clf_result, user=alice)
    base = f"/w/acme/models/{model.pk}/"
    assert f"{base}plots/0/" in client_as(bob).get(base).content.decode()
    response = client_as(bob).get(f"{base}plots/0/")
    assert response.status_code == 200 and response["Content-Type"] == "image/png"
    assert b"".join(response.streaming_content) == PNG
    assert client_as(bob).get(f"{base}plots/1/").status_code == 404
    assert client_as(charlie).get(f"{base}plots/0/").status_code == 404


def test_a_plot_path_outside_the_workspace_is_not_served(
    experiment: Any, clf_result: Any, alice: Any, client_as: Any, other_workspace: Any
) -> None:
    foreign = storage_save(storage_path(other_workspace, "plots", ".png"), PNG)
    experiment.plots = [{"name": "stolen", "file": foreign}]
    experiment.save()
    model = model_register(experiment=experiment, result=clf_result, user=alice)
    assert client_as(alice).get(f"/w/acme/models/{model.pk}/plots/0/").status_code == 404


def test_deleting_the_experiment_keeps_the_model(
    experiment: Any, clf_result: Any, alice: Any
) -> None:
    model = model_register(experiment=experiment, result=clf_result, user=alice)
    experiment.delete()
    model.refresh_from_db()
    assert model.experiment is None
