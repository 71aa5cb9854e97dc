"""Try it says which inputs were filled in, rounds its answer, and offers the API call (#13)."""

from __future__ import annotations

import html as htmllib
import json
import re
import shlex
from typing import Any

import pytest

pytestmark = pytest.mark.django_db


def _snippet(page: str, kind: str, which: str = "card") -> str:
    match = re.search(rf'<pre id="{kind}-{which}"><code>(.*?)</code></pre>', page, re.S)
    assert match, f"no {kind} snippet"
    return htmllib.unescape(match.group(1))


def test_an_empty_form_says_every_input_was_filled_in(
    client_as: Any, alice: Any, register: Any, reg_result: Any
) -> None:
    model = register(reg_result)
    page = client_as(alice).post(f"/w/acme/models/{model.pk}/try/", {}).content.decode()
    assert 'id="filled-in"' in page
    assert "2 inputs were empty and filled in as in training: size, rooms" in page
    shown = re.search(r"Prediction: <strong>([^<]+)</strong>", page).group(1)
    assert len(shown.replace("-", "").replace(".", "")) <= 7  # 6 significant digits at most


def test_a_full_form_fills_nothing_in_and_its_api_call_answers_the_same(
    client_as: Any, alice: Any, register: Any, reg_result: Any, api: Any
) -> None:
    model = register(reg_result)
    page = client_as(alice).post(f"/w/acme/models/{model.pk}/try/",
                                 {"f0": "120.5", "f1": "3"}).content.decode()
    assert 'id="filled-in"' not in page
    shown = re.search(r"Prediction: <strong>([^<]+)</strong>", page).group(1)
    curl = shlex.split(_snippet(page, "curl", "try").replace("\\\n", " "))
    body = json.loads(curl[curl.index("-d") + 1])
    assert body == {"rows": [{"size": 120.5, "rooms": 3}]}
    url = curl[curl.index("POST") + 1]
    assert url.endswith(f"/api/v1/workspaces/acme/models/{model.pk}/predict/")
    answer = api.post(url.split("testserver", 1)[1], body, format="json").json()
    assert f"{answer['predictions'][0]:.6g}" == shown
    python = _snippet(page, "python", "try")
    compile(python, "snippet.py", "exec")  # valid Python, as pasted
    assert "{'size': 120.5, 'rooms': 3}" in python


def test_the_model_card_shows_the_call_with_an_example_row(
    client_as: Any, alice: Any, register: Any, reg_result: Any
) -> None:
    model = register(reg_result)
    page = client_as(alice).get(f"/w/acme/models/{model.pk}/").content.decode()
    assert "Call it from a script" in page and 'data-copy="curl-card"' in page
    curl = shlex.split(_snippet(page, "curl").replace("\\\n", " "))
    assert set(json.loads(curl[curl.index("-d") + 1])["rows"][0]) == {"size", "rooms"}
