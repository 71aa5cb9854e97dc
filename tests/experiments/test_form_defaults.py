"""The new-experiment page submitted with its defaults trains exactly what the API trains with
defaults, for every algorithm of every task (the form once dropped fit_intercept and drew
classification params for a regression target)."""

from __future__ import annotations

from html.parser import HTMLParser
from typing import Any

import pytest
from django.core.exceptions import ValidationError

from apps.experiments.models import Experiment
from apps.experiments.services import experiment_create
from ml.algorithms import list_algorithms

pytestmark = pytest.mark.django_db

BASE = "/w/acme/experiments/"
TARGETS = {"classification": ("iris", "species"), "regression": ("diabetes", "target")}


class _FormControls(HTMLParser):
    """Collect what a browser submits for the controls in a page, as (name, value) pairs."""

    def __init__(self) -> None:
        super().__init__()
        self.pairs: list[tuple[str, str]] = []
        self._select: dict[str, Any] | None = None
        self._textarea: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "input" and a.get("name"):
            kind = a.get("type", "text")
            if kind == "checkbox":
                if "checked" in a:
                    self.pairs.append((a["name"], a.get("value") or "on"))
            elif kind != "submit":
                self.pairs.append((a["name"], a.get("value", "")))
        elif tag == "select" and a.get("name"):
            self._select = {"name": a["name"], "multiple": "multiple" in a, "options": []}
        elif tag == "option" and self._select is not None:
            self._select["options"].append((a.get("value", ""), "selected" in a))
        elif tag == "textarea" and a.get("name"):
            self._textarea = a["name"]
            self.pairs.append((a["name"], ""))

    def handle_data(self, data: str) -> None:
        if self._textarea is not None:
            name, text = self.pairs.pop()
            self.pairs.append((name, text + data))

    def handle_endtag(self, tag: str) -> None:
        if tag == "textarea":
            self._textarea = None
        if tag == "select" and self._select is not None:
            options, name = self._select["options"], self._select["name"]
            chosen = [v for v, selected in options if selected]
            if not chosen and not self._select["multiple"] and options:
                chosen = [options[0][0]]  # a browser submits the first option
            self.pairs.extend((name, v) for v in chosen)
            self._select = None


def _controls(html: str) -> list[tuple[str, str]]:
    parser = _FormControls()
    parser.feed(html)
    return parser.pairs


def _page_submission(client: Any, dataset: Any, target: str, key: str) -> dict[str, list[str]]:
    """Choose the dataset, target and algorithm as a person would; return what Run sends."""
    page = client.get(BASE + f"new/?dataset={dataset.pk}").content.decode()
    controls = [(n, v) for n, v in _controls(page) if n not in ("target", "algorithm")]
    picked = {n: v for n, v in controls if n in ("dataset", "task")}
    picked.update(target=target, algorithm=key)
    part = client.get(BASE + "new/fields/", picked, HTTP_HX_REQUEST="true").content.decode()
    dynamic = _controls(part)
    names = {n for n, _ in dynamic}
    # The HTMX answer replaces #dynamic: its controls replace those of the first page.
    static = [(n, v) for n, v in controls if n not in names and n not in
              ("features", "exclude", "task") and not n.startswith("param")]
    data: dict[str, list[str]] = {}
    for name, value in static + dynamic:
        data.setdefault(name, []).append(value)
    return data


def _api_config(workspace: Any, user: Any, body: dict[str, Any]) -> dict[str, Any] | str:
    try:
        return experiment_create(workspace=workspace, user=user, data=body).config
    except ValidationError:
        return "refused"


ENTRIES = [(a["key"], a["task"]) for a in list_algorithms()]


@pytest.mark.parametrize(("key", "task"), ENTRIES, ids=[f"{k}-{t}" for k, t in ENTRIES])
def test_the_page_with_its_defaults_trains_what_the_api_trains(
    key: str, task: str, alice: Any, workspace: Any, client_as: Any, make_dataset: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    name, target = TARGETS[task]
    dataset = make_dataset(name)
    client = client_as(alice)
    data = _page_submission(client, dataset, target, key)
    assert data["task"] == ["auto"]  # left on "infer from the target"
    with django_capture_on_commit_callbacks(execute=False):
        response = client.post(BASE + "new/", data)
        expected = _api_config(workspace, alice, {"dataset": dataset.pk, "target": target,
                                                  "algorithm": key})
    if expected == "refused":
        assert response.status_code == 400
        return
    assert response.status_code == 302, response.content.decode()[-3000:]
    from_page = Experiment.objects.order_by("pk").first()
    assert from_page.config == expected
