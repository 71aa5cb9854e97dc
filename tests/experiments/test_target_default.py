"""The new-experiment form preselects a likely target and says why (#13)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

pytestmark = pytest.mark.django_db


def _with_profile(dataset: Any, frame: pd.DataFrame) -> Any:
    from ml.validation import profile_dataframe

    dataset.profile = profile_dataframe(frame)
    dataset.save(update_fields=["profile"])
    return dataset


def _selected_target(html: str) -> str:
    start = html.index('name="target"')
    block = html[start:html.index("</select>", start)]
    chosen = [part.split('"')[1] for part in block.split("<option value=")[1:]
              if "selected" in part.split(">")[0]]
    return chosen[0] if chosen else ""


def test_a_column_named_like_a_target_is_preselected_with_its_reason(
    client_as: Any, alice: Any, make_dataset: Any
) -> None:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"species": rng.choice(["a", "b", "c"], 200),
                          "bill": rng.normal(size=200), "year": rng.choice([2007, 2008], 200)})
    dataset = _with_profile(make_dataset(frame), frame)
    html = client_as(alice).get(f"/w/acme/experiments/new/?dataset={dataset.pk}").content.decode()
    assert _selected_target(html) == "species"
    assert "Suggested because its name" in html


def test_ids_free_text_and_time_columns_are_never_preselected(
    client_as: Any, alice: Any, make_dataset: Any
) -> None:
    rng = np.random.default_rng(1)
    words = ["the quick brown fox", "jumps over", "a lazy dog today", "and then some more"]
    frame = pd.DataFrame({
        "customer_id": range(300),
        "plan": rng.choice(["basic", "pro"], 300),
        "spend": rng.normal(size=300),
        "year": rng.choice([2020, 2021], 300),
        "notes": [f"{rng.choice(words)} number {i} with words" for i in range(300)],
    })
    dataset = _with_profile(make_dataset(frame), frame)
    html = client_as(alice).get(f"/w/acme/experiments/new/?dataset={dataset.pk}").content.decode()
    assert _selected_target(html) == "spend"
    assert "last column that is not an id" in html


def test_nothing_is_preselected_when_no_column_can_be_a_target(
    client_as: Any, alice: Any, make_dataset: Any
) -> None:
    frame = pd.DataFrame({"id": range(100), "when": pd.date_range("2020-01-01", periods=100)})
    dataset = _with_profile(make_dataset(frame), frame)
    html = client_as(alice).get(f"/w/acme/experiments/new/?dataset={dataset.pk}").content.decode()
    assert _selected_target(html) == ""


def test_a_viewer_sees_a_read_only_page_not_a_form_to_fill_in(
    client_as: Any, bob: Any, iris: Any
) -> None:
    html = client_as(bob).get(f"/w/acme/experiments/new/?dataset={iris.pk}").content.decode()
    assert 'id="read-only"' in html and "you can look at its experiments" in html
    assert 'id="experiment-form"' not in html
    assert client_as(bob).post("/w/acme/experiments/new/", {"dataset": iris.pk}).status_code == 403


def test_the_queued_message_is_marked_to_go_once_the_job_runs(
    client_as: Any, alice: Any, iris: Any
) -> None:
    client = client_as(alice)
    answer = client.post("/w/acme/experiments/new/", {
        "dataset": iris.pk, "target": "species", "algorithm": "decision_tree"}, follow=True)
    html = answer.content.decode()
    assert "is queued." in html
    assert '<p class="flash flash-success" data-while-queued>' in html


def test_epoch_lines_carry_their_numbers() -> None:
    from ml.callbacks import ProgressCallback
    from ml.train import _Recorder

    seen: list[str] = []

    class Collect(ProgressCallback):
        def on_progress(self, fraction: float, message: str) -> None:
            seen.append(message)

    recorder = _Recorder(Collect())
    recorder.epoch_span = (0.6, 0.78, 15)
    recorder.on_epoch(3, {"loss": 0.4123, "val_loss": 0.4391})
    assert seen[-1] == "Epoch 1/15 — loss 0.4123, val_loss 0.4391"
