"""The registry's pages: list, model card, try-it, batch CSV, downloads, rename and delete."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest

from apps.models.models import Model

pytestmark = pytest.mark.django_db


def page(model: Any, suffix: str = "", slug: str = "acme") -> str:
    return f"/w/{slug}/models/{model.pk}/{suffix}"


def test_the_empty_list_points_to_experiments(client_as: Any, alice: Any) -> None:
    response = client_as(alice).get("/w/acme/models/")
    assert response.status_code == 200
    assert b"No models yet" in response.content and b"/w/acme/experiments/" in response.content


def test_the_list_filters_by_task_and_sorts_by_score(
    client_as: Any, bob: Any, register: Any, clf_result: Any, reg_result: Any
) -> None:
    register(clf_result, name="Churn")
    register(reg_result, name="Prices")
    client = client_as(bob)
    both = client.get("/w/acme/models/?sort=-score").content.decode()
    assert "Churn" in both and "Prices" in both
    assert both.index("Prices") < both.index("Churn")  # r2 0.99 before f1 0.95
    only = client.get("/w/acme/models/?task=regression").content.decode()
    assert "Prices" in only and "Churn" not in only


def test_the_model_card_shows_inputs_metrics_and_downloads(
    client_as: Any, bob: Any, register: Any, clf_result: Any
) -> None:
    model = register(clf_result, name="Churn")
    html = client_as(bob).get(page(model)).content.decode()
    for text in ("Churn", "label", "color", "categorical", "f1_macro", "sklearn",
                 page(model, "download/"), page(model, "batch/"), "Try it"):
        assert text in html
    assert "Delete model" not in html  # bob is a viewer


def test_try_it_shows_the_prediction_with_probability_bars(
    client_as: Any, bob: Any, register: Any, clf_result: Any
) -> None:
    model = register(clf_result)
    response = client_as(bob).post(page(model, "try/"), {"f0": "1.5", "f1": "0", "f2": "red"},
                                   HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="try-result"' in html and "<html" not in html
    assert "Prediction: <strong>yes</strong>" in html and 'class="bar"' in html


def test_try_it_names_a_badly_typed_column(
    client_as: Any, alice: Any, register: Any, clf_result: Any
) -> None:
    model = register(clf_result)
    html = client_as(alice).post(page(model, "try/"), {"f0": "abc", "f1": "", "f2": "red"},
                                 HTTP_HX_REQUEST="true").content.decode()
    assert "x1" in html and "flash-error" in html


def test_batch_prediction_returns_an_escaped_csv(
    client_as: Any, bob: Any, register: Any, reg_result: Any
) -> None:
    model = register(reg_result)
    upload = io.BytesIO(b"size,rooms,who\n50,2,@SUM(A1)\n100,3,ann\n")
    upload.name = "houses.csv"
    response = client_as(bob).post(page(model, "batch/"), {"file": upload})
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment;")
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert rows[0]["who"] == "'@SUM(A1)" and float(rows[1]["prediction"]) > 0


def test_page_downloads_work_and_onnx_failures_come_back_as_a_message(
    client_as: Any, bob: Any, register: Any, clf_result: Any
) -> None:
    model = register(clf_result)
    client = client_as(bob)
    response = client.get(page(model, "download/"))
    assert response.status_code == 200 and response["X-Content-Type-Options"] == "nosniff"
    onnx = client.get(page(model, "download/") + "?format=onnx")
    # This forest (numbers and a one-hot category) converts: the ONNX file itself.
    assert onnx.status_code == 200 and onnx["Content-Disposition"].endswith('.onnx"')
    assert onnx.content[:1] == b"\x08"  # a protobuf ModelProto starts with its ir_version


def test_outsiders_get_404_on_every_page(
    client_as: Any, charlie: Any, register: Any, reg_result: Any
) -> None:
    model = register(reg_result)
    client = client_as(charlie)
    for suffix in ("", "download/", "batch/", "plots/0/"):
        assert client.get(page(model, suffix)).status_code == 404
        assert client.get(page(model, suffix, slug="rival")).status_code == 404
    assert client.post(page(model, "try/"), {"f0": "1"}).status_code == 404
    assert client.post(page(model, "delete/")).status_code == 404
    assert client.post(page(model, "delete/", slug="rival")).status_code == 404
    assert Model.objects.filter(pk=model.pk).exists()


def test_viewers_cannot_rename_or_delete(
    client_as: Any, bob: Any, register: Any, reg_result: Any
) -> None:
    model = register(reg_result, name="Prices")
    client = client_as(bob)
    assert client.post(page(model, "edit/"), {"name": "x"}).status_code == 403
    assert client.post(page(model, "delete/")).status_code == 403
    assert Model.objects.get(pk=model.pk).name == "Prices"


def test_members_rename_and_delete(
    client_as: Any, dave: Any, register: Any, reg_result: Any
) -> None:
    model = register(reg_result, name="Prices")
    client = client_as(dave)
    response = client.post(page(model, "edit/"), {"name": "Houses", "description": "hi"})
    assert response.status_code == 302
    assert Model.objects.get(pk=model.pk).name == "Houses"
    assert client.post(page(model, "delete/")).status_code == 302
    assert not Model.objects.filter(pk=model.pk).exists()


def test_try_it_without_htmx_renders_a_full_page(
    client_as: Any, alice: Any, register: Any, reg_result: Any
) -> None:
    model = register(reg_result)
    response = client_as(alice).post(page(model, "try/"), {"f0": "80", "f1": "2"})
    assert response.status_code == 200
    html = response.content.decode()
    assert "<html" in html and "Prediction: <strong>" in html
