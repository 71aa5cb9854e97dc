"""Experiment pages: list and compare, the new-experiment form with HTMX parts, the live detail
page, cancel and delete, and tenancy on every page."""

from __future__ import annotations

from typing import Any

import pytest

from apps.experiments.models import Experiment

pytestmark = pytest.mark.django_db

BASE = "/w/acme/experiments/"


def run(client: Any, data: dict[str, Any], capture: Any, *, execute: bool = True) -> Any:
    with capture(execute=execute):
        return client.post(BASE + "new/", data)


def form(dataset: Any, **extra: Any) -> dict[str, Any]:
    return {"dataset": dataset.pk, "target": "species", "task": "auto",
            "algorithm": "decision_tree", "cv_folds": "2", "test_size": "0.2",
            "stratify": "on", "random_state": "42", "param_max_depth": "3", **extra}


@pytest.fixture
def finished(alice: Any, client_as: Any, iris: Any,
             django_capture_on_commit_callbacks: Any) -> Experiment:
    response = run(client_as(alice), form(iris), django_capture_on_commit_callbacks)
    assert response.status_code == 302, response.content[-2000:]
    return Experiment.objects.get()


def test_the_form_runs_an_experiment_with_typed_params(finished: Experiment) -> None:
    assert finished.status == "succeeded", finished.error
    assert finished.params["max_depth"] == 3
    assert finished.config["validation"]["cv_folds"] == 2


def test_the_form_shows_errors_next_to_the_fields(
    alice: Any, client_as: Any, iris: Any, django_capture_on_commit_callbacks: Any
) -> None:
    response = run(client_as(alice), form(iris, param_max_depth="-4"),
                   django_capture_on_commit_callbacks)
    assert response.status_code == 400
    assert b'class="error"' in response.content and b"max_depth" in response.content
    bad_space = form(iris, tuning_method="random", tuning_space="{not json")
    response = run(client_as(alice), bad_space, django_capture_on_commit_callbacks)
    assert response.status_code == 400
    assert not Experiment.objects.exists()


def test_the_form_fills_targets_task_and_params_via_htmx(
    alice: Any, client_as: Any, iris: Any
) -> None:
    client = client_as(alice)
    page = client.get(BASE + f"new/?dataset={iris.pk}")
    assert page.status_code == 200 and b'value="species"' in page.content
    part = client.get(BASE + "new/fields/", {"dataset": iris.pk, "target": "species",
                                              "algorithm": "random_forest"},
                      HTTP_HX_REQUEST="true")
    text = part.content.decode()
    assert 'id="dynamic"' in text and "<html" not in text
    assert "classification" in text and "setosa" in text  # task and class balance
    assert 'name="param_n_estimators"' in text
    assert 'value="ridge"' not in text  # regression-only algorithms are not offered


def test_run_again_prefills_the_form(finished: Experiment, alice: Any, client_as: Any) -> None:
    page = client_as(alice).get(BASE + f"new/?from={finished.pk}")
    text = page.content.decode()
    assert page.status_code == 200
    assert 'value="decision_tree" selected' in text
    field = text[text.index('name="param_max_depth"'):]
    assert field[: field.index(">")].endswith('value="3"')
    assert 'name="cv_folds" min="0" max="20" value="2"' in text


def test_the_detail_page_shows_results_and_the_live_part_stops_polling(
    finished: Experiment, alice: Any, client_as: Any
) -> None:
    client = client_as(alice)
    page = client.get(BASE + f"{finished.pk}/")
    text = page.content.decode()
    assert page.status_code == 200
    assert "badge-succeeded" in text and "f1_macro" in text
    assert f"/api/v1/workspaces/acme/experiments/{finished.pk}/plots/" in text
    assert 'hx-trigger="every 1s"' not in text
    live = client.get(BASE + f"{finished.pk}/live/", HTTP_HX_REQUEST="true")
    assert live.status_code == 286


def test_a_queued_experiment_polls_and_shows_a_learning_curve(
    alice: Any, client_as: Any, iris: Any, django_capture_on_commit_callbacks: Any
) -> None:
    client = client_as(alice)
    run(client, form(iris), django_capture_on_commit_callbacks, execute=False)
    exp = Experiment.objects.get()
    Experiment.objects.filter(pk=exp.pk).update(
        status="running", progress=0.4,
        history=[{"epoch": i, "loss": 1 / (i + 1), "val_loss": 1.2 / (i + 1)} for i in range(5)])
    page = client.get(BASE + f"{exp.pk}/").content.decode()
    assert 'hx-trigger="every 1s"' in page
    live = client.get(BASE + f"{exp.pk}/live/", HTTP_HX_REQUEST="true")
    assert live.status_code == 200
    assert "<polyline" in live.content.decode()


def test_the_list_filters_compares_and_exports_escaped_csv(
    finished: Experiment, alice: Any, client_as: Any
) -> None:
    Experiment.objects.filter(pk=finished.pk).update(name="=HYPERLINK(1)")
    client = client_as(alice)
    page = client.get(BASE, {"compare": [finished.pk], "ordering": "-score"})
    assert page.status_code == 200
    assert b'id="compare"' in page.content and b'class="bar"' in page.content
    listing = client.get(BASE).content.decode()
    assert "=HYPERLINK" in listing  # shown as text
    assert "Decision tree" in listing and ">decision_tree " not in listing  # the label, not the key
    exported = client.get(BASE, {"compare": [finished.pk], "export": "csv"})
    assert exported["Content-Type"].startswith("text/csv")
    assert "'=HYPERLINK(1)" in exported.content.decode()
    assert finished.name.encode() not in client.get(BASE, {"status": "failed"}).content


def test_members_cancel_and_delete_from_the_pages(
    alice: Any, dave: Any, client_as: Any, iris: Any, django_capture_on_commit_callbacks: Any
) -> None:
    run(client_as(alice), form(iris), django_capture_on_commit_callbacks, execute=False)
    exp = Experiment.objects.get()
    member = client_as(dave)
    assert member.post(BASE + f"{exp.pk}/cancel/").status_code == 302
    assert Experiment.objects.get().status == "cancelled"
    assert member.post(BASE + f"{exp.pk}/delete/").status_code == 302
    assert not Experiment.objects.exists()


def test_viewers_see_no_write_controls_and_get_403_on_writes(
    finished: Experiment, bob: Any, client_as: Any, iris: Any
) -> None:
    viewer = client_as(bob)
    detail = viewer.get(BASE + f"{finished.pk}/").content.decode()
    assert "Delete</button>" not in detail and "Run again" not in detail
    assert b"New experiment</a>" not in viewer.get(BASE).content
    assert viewer.post(BASE + "new/", form(iris)).status_code == 403
    assert viewer.post(BASE + f"{finished.pk}/cancel/").status_code == 403
    assert viewer.post(BASE + f"{finished.pk}/delete/").status_code == 403
    assert Experiment.objects.filter(pk=finished.pk).exists()


def test_outsiders_get_404_on_every_page(
    finished: Experiment, charlie: Any, client_as: Any, iris: Any
) -> None:
    outsider = client_as(charlie)
    pk = finished.pk
    for url in ("", "new/", "new/fields/", f"{pk}/", f"{pk}/live/"):
        assert outsider.get(BASE + url).status_code == 404, url
    for url in ("", "new/", "new/fields/"):  # charlie's own workspace's pages
        assert outsider.get(f"/w/rival/experiments/{url}").status_code == 200, url
    for url in (f"{pk}/", f"{pk}/live/", f"new/?from={pk}"):
        assert outsider.get(f"/w/rival/experiments/{url}").status_code == 404, url
    for url in (f"{pk}/cancel/", f"{pk}/delete/"):
        assert outsider.post(BASE + url).status_code == 404
        assert outsider.post(f"/w/rival/experiments/{url}").status_code == 404
    assert Experiment.objects.filter(pk=pk).exists()
