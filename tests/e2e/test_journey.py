"""The whole journey in a real browser: sign up, upload, train, use the model, share it.

Each test walks the pages a person would, against a live server and a real django-q2 worker, and
fails when a step breaks: a template error, a worker that does not run, progress that does not
update while a job runs. The screenshots in docs/screenshots/ come from these runs.
"""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import csrf_token, login, screenshot, signup

pytestmark = [pytest.mark.e2e, pytest.mark.integration]

USER = "erin"
VIEWER = "victor"


def write_iris_csv(folder: Path) -> Path:
    """Write sklearn's iris as a CSV with a named `species` target (150 rows, 5 columns)."""
    from sklearn.datasets import load_iris

    bunch = load_iris(as_frame=True)
    frame = bunch.frame.drop(columns="target")
    frame.columns = ["sepal_length", "sepal_width", "petal_length", "petal_width"]
    frame["species"] = [bunch.target_names[i] for i in bunch.target]
    path = folder / "iris.csv"
    frame.to_csv(path, index=False)
    return path


def sample(page: Any, script: str, *, until: str, timeout_s: float = 120) -> list[Any]:
    """Evaluate the JS `script` every 0.2 s until the JS `until` is true; return what it saw."""
    seen: list[Any] = []
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        seen.append(page.evaluate(script))
        if page.evaluate(until):
            seen.append(page.evaluate(script))  # the page may have changed since the probe
            return seen
        page.wait_for_timeout(200)
    raise AssertionError(f"Still waiting for {until!r} after {timeout_s} s; saw {seen[-5:]}")


def probe(page: Any, script: str) -> Any:
    """Evaluate `script`; None while the page is reloading (HTMX may reload it mid-poll)."""
    from playwright.sync_api import Error

    try:
        return page.evaluate(script)
    except Error as exc:
        if "context was destroyed" not in str(exc) and "navigat" not in str(exc):
            raise
        page.wait_for_load_state()
        return None


def control(page: Any, name: str) -> Any:
    """Return the links and buttons labelled exactly `name` (Pico styles links as buttons)."""
    label = re.compile(rf"^\s*{re.escape(name)}\s*$")
    return page.locator("a, button, input[type=submit]").filter(has_text=label)


class Clock:
    """Print how long each part of a journey took (shown when a test fails, or with -s)."""

    def __init__(self) -> None:
        self.start = self.last = time.monotonic()

    def lap(self, what: str) -> None:
        now = time.monotonic()
        print(f"{now - self.start:6.1f} s  (+{now - self.last:5.1f})  {what}")
        self.last = now


# ---------------------------------------------------------------- steps


def upload_dataset(page: Any, csv_path: Path) -> str:
    """Upload a CSV on the datasets page, watch its status until ready; return its URL."""
    page.get_by_role("link", name="Datasets", exact=True).first.click()
    page.wait_for_url("**/datasets/")
    page.set_input_files("#upload input[type=file]", str(csv_path))
    page.locator("#upload button[type=submit]").click()
    status = page.locator("#upload-result .dataset-status")
    status.wait_for()
    badges = sample(
        page,
        "document.querySelector('#upload-result .badge')?.textContent.trim()",
        until="/ready|could not/.test(document.querySelector('#upload-result')?.textContent)",
    )
    assert "could not" not in status.inner_text(), status.inner_text()
    assert badges[-1] == "Ready", badges
    link = status.get_by_role("link", name="iris")
    url = link.get_attribute("href")
    assert url
    return url


def read_quality_report(page: Any, url: str) -> None:
    """Open the dataset page: counts, columns with kinds, and the first rows."""
    page.goto(url)
    assert page.title().startswith("iris ·")
    cards = page.locator("section[aria-label=Summary]")
    assert "150" in cards.inner_text() and "5" in cards.inner_text()
    columns = page.locator("section[aria-labelledby=schema-title] tbody tr")
    assert columns.count() == 5
    assert "species" in columns.last.inner_text() and "categorical" in columns.last.inner_text()
    assert page.locator("#preview tbody tr").count() > 0
    for name in ("Train a model", "Rename", "Delete"):  # what a viewer must not see
        assert control(page, name).count() == 1, name
    screenshot(page, "dataset-detail")


def invite_viewer(page: Any, slug: str) -> None:
    """Add the second user as a viewer on the members page."""
    page.goto(f"/w/{slug}/members/")
    page.fill("input[name=identifier]", VIEWER)
    page.select_option("#id_role", "viewer")
    page.get_by_role("button", name="Add member").click()
    page.wait_for_url(f"**/w/{slug}/members/")
    assert f"{VIEWER} added as viewer" in page.locator(".messages").inner_text()
    rows = page.locator("table tbody tr")
    assert rows.count() == 2
    screenshot(page, "members")


def check_viewer_cannot_write(
    page: Any, slug: str, dataset_url: str, experiment_url: str, model_url: str
) -> None:
    """As the viewer: pages open, writing controls are absent, a forged write is refused."""
    login(page, VIEWER, f"pw-{VIEWER}")
    page.goto(f"/w/{slug}/")
    assert page.locator("h1").inner_text() == f"{USER}'s workspace"
    assert control(page, "New experiment").count() == 0
    assert control(page, "Upload a CSV").count() == 0

    page.goto(f"/w/{slug}/datasets/")
    assert page.locator("#upload").count() == 0
    assert page.locator("input[type=file]").count() == 0
    assert "iris" in page.locator("table").inner_text()

    page.goto(dataset_url)
    for name in ("Train a model", "Delete", "Rename"):
        assert control(page, name).count() == 0, name

    page.goto(f"/w/{slug}/experiments/")
    assert control(page, "New experiment").count() == 0
    page.goto(experiment_url)
    assert page.locator("#live .badge").inner_text() == "succeeded"
    for name in ("Cancel", "Delete", "Run again with changes"):
        assert control(page, name).count() == 0, name

    page.goto(model_url)
    assert control(page, "Download model").count() == 1  # reading is allowed
    for name in ("Delete model", "Save"):
        assert control(page, name).count() == 0, name

    page.goto(f"/w/{slug}/members/")
    assert control(page, "Add member").count() == 0
    assert control(page, "Remove").count() == 0

    # The page only hides the controls: the server must refuse the write itself.
    token = csrf_token(page)
    headers = {"X-CSRFToken": token, "Referer": page.url}
    response = page.request.post(f"{dataset_url}delete/", headers=headers, form={})
    assert response.status == 403, response.status
    response = page.request.post(
        f"/w/{slug}/members/", headers=headers, form={"identifier": USER, "role": "viewer"}
    )
    assert response.status == 403, response.status
    response = page.request.post(f"{experiment_url}delete/", headers=headers, form={})
    assert response.status == 403, response.status
    # The viewer's own audit log is not theirs to read either.
    assert page.request.get(f"/w/{slug}/audit/").status == 403


def configure_experiment(
    page: Any,
    dataset_url: str,
    *,
    algorithm: str,
    params: dict[str, str],
    cv_folds: int | None = None,
) -> None:
    """From the dataset page press "Train a model", pick the target and algorithm, and run."""
    page.goto(dataset_url)
    control(page, "Train a model").click()
    page.wait_for_url("**/experiments/new/?dataset=*")
    assert page.locator("#id_dataset option:checked").inner_text().startswith("iris")
    # Each choice re-renders the dependent part of the form (HTMX); wait for each swap.
    page.select_option("#id_target", "species")
    page.locator("#target-info").wait_for()
    assert "classification" in page.locator("#target-info").inner_text()
    page.select_option("#id_algorithm", algorithm)
    page.locator("#params").wait_for()
    for name, value in params.items():
        page.fill(f"#param_{name}", value)
    if cv_folds is not None:
        page.locator("summary", has_text="Validation").click()
        page.fill("input[name=cv_folds]", str(cv_folds))
    page.get_by_role("button", name="Run").click()
    page.wait_for_url("**/experiments/*/")
    assert "is queued" in page.locator(".messages").inner_text()


LIVE_PROBE = """() => {
  const live = document.querySelector('#live');
  if (!live) return null;
  return {
    status: live.querySelector('.badge')?.textContent.trim(),
    progress: Number(live.querySelector('progress')?.value ?? -1),
    log: (live.querySelector('.log')?.textContent || '').trim().split('\\n').length,
    points: [...live.querySelectorAll('svg polyline')]
      .map(p => p.getAttribute('points').trim().split(/\\s+/).length),
  };
}"""
LIVE_ENDED = """() => {
  const badge = document.querySelector('#live .badge');
  const ends = ['succeeded', 'failed', 'cancelled', 'stopped'];
  return !!badge && ends.includes(badge.textContent.trim())
    && !document.querySelector('#live[hx-get]');
}"""


def watch_experiment(page: Any, *, shot: str = "", timeout_s: float = 150) -> list[dict[str, Any]]:
    """Watch the live part of the experiment page until the job ends; return what was seen."""
    seen: list[dict[str, Any]] = []
    deadline = time.monotonic() + timeout_s
    while not probe(page, LIVE_ENDED):
        assert time.monotonic() < deadline, f"the job did not end in {timeout_s} s: {seen[-3:]}"
        state = probe(page, LIVE_PROBE)
        if state:
            seen.append(state)
            if shot and state["status"] == "running" and state["progress"] > 0:
                screenshot(page, shot)
                shot = ""
        page.wait_for_timeout(200)
    assert any(s["status"] == "running" for s in seen), f"never saw it running: {seen[:3]}"
    # When the job ends, the page reloads once to show the results.
    page.locator("h2", has_text="Metrics").wait_for(timeout=20_000)
    assert page.locator("#live .badge").inner_text() == "succeeded", page.locator(
        "#live"
    ).inner_text()
    return seen


def read_results(page: Any, seen: list[dict[str, Any]]) -> str:
    """Progress moved while running; metrics and plots show; return the model's URL."""
    running = [s for s in seen if s["status"] == "running"]
    progress = sorted({s["progress"] for s in running})
    logs = [s["log"] for s in running]
    assert len(progress) >= 2 or max(logs) > min(logs), (
        f"nothing moved while the job ran: progress {progress}, log lines {logs}"
    )
    accuracy = page.locator(".card", has_text="accuracy").first.locator(".num").inner_text()
    assert float(accuracy) > 0.8, accuracy
    screenshot(page, "experiment-finished")
    matrix = page.locator("img[alt^='confusion_matrix']").first
    matrix.scroll_into_view_if_needed()  # the plots load lazily
    page.wait_for_function(
        "img => img.complete && img.naturalWidth > 0", arg=matrix.element_handle()
    )
    link = page.get_by_role("link", name="Registered model")
    url = link.get_attribute("href")
    assert url
    return url


def use_the_model(page: Any, model_url: str, tmp_path: Path) -> None:
    """On the model card: predict with "Try it", then download the bundle (a zip)."""
    page.goto(model_url)
    assert "species" in page.locator("section[aria-labelledby=what]").inner_text()
    try_form = page.locator("section[aria-labelledby=try] form")
    # A short, narrow petal is a setosa whatever the sepals (the form starts with examples).
    for name, value in {
        "sepal_length": "5.0",
        "sepal_width": "3.4",
        "petal_length": "1.4",
        "petal_width": "0.2",
    }.items():
        try_form.get_by_label(name).fill(value)
    try_form.get_by_role("button", name="Predict").click()
    result = page.locator("#try-result")
    result.get_by_text("Prediction:").wait_for()
    assert result.locator("strong").inner_text() == "setosa"
    assert result.locator("table[aria-label='Class probabilities'] tr").count() == 3
    for img in page.locator(".plots img").all():
        img.scroll_into_view_if_needed()
    page.locator("h1").scroll_into_view_if_needed()
    screenshot(page, "model-card")

    with page.expect_download() as info:
        control(page, "Download model").click()
    download = info.value
    path = tmp_path / download.suggested_filename
    download.save_as(path)
    assert path.read_bytes()[:2] == b"PK", "a model bundle is a zip file"
    assert path.stat().st_size > 1000


def check_audit_log(page: Any, slug: str) -> None:
    """The owner's audit log lists what happened on the way, by whom."""
    page.goto(f"/w/{slug}/audit/")
    table = page.locator("#audit-events")
    verbs = {row.get_attribute("data-verb") for row in table.locator("tbody tr").all()}
    assert {"dataset.upload", "experiment.run", "model.download", "member.invite"} <= verbs, verbs
    assert USER in table.inner_text()
    page.select_option("#audit-verb", "model.download")
    page.wait_for_url("**/audit/?verb=model.download")
    assert page.locator("#audit-events tbody tr").count() == 1
    screenshot(page, "audit-log")


def use_an_api_token(page: Any, slug: str) -> None:
    """Create a personal API token and read the workspace's datasets with it, cookie-free."""
    import json
    import urllib.request

    page.goto("/account/tokens/")
    page.fill("input[name=name]", "notebook")
    page.get_by_role("button", name="Create token").click()
    key = page.locator("#new-token").input_value()
    assert len(key) > 20
    assert "notebook" in page.locator("table").inner_text()
    base = page.url.split("/account/")[0]
    request = urllib.request.Request(
        f"{base}/api/v1/workspaces/{slug}/datasets/", headers={"Authorization": f"Token {key}"}
    )
    with urllib.request.urlopen(request, timeout=15) as response:
        body = json.load(response)
    assert [d["name"] for d in body["results"]] == ["iris"], body


# ---------------------------------------------------------------- the journey


def test_a_new_user_uploads_trains_predicts_and_shares(
    new_page: Any, worker: Any, make_user: Any, tmp_path: Path
) -> None:
    clock = Clock()
    page = new_page()
    signup(page, USER)
    slug = page.url.rstrip("/").rsplit("/", 1)[-1]
    assert page.locator("h1").inner_text() == f"{USER}'s workspace"
    assert "Start with your data" in page.content()
    screenshot(page, "dashboard-empty")
    clock.lap("signed up")

    dataset_url = upload_dataset(page, write_iris_csv(tmp_path))
    clock.lap("uploaded and processed")
    read_quality_report(page, dataset_url)

    configure_experiment(
        page, dataset_url, algorithm="random_forest", params={"n_estimators": "300"}
    )
    clock.lap("configured")
    seen = watch_experiment(page, shot="experiment-running")
    clock.lap(f"trained ({len(seen)} polls)")
    experiment_url = page.url
    model_url = read_results(page, seen)
    use_the_model(page, model_url, tmp_path)
    clock.lap("used the model")

    use_an_api_token(page, slug)
    page.goto(f"/w/{slug}/")
    screenshot(page, "dashboard")

    make_user(VIEWER)  # an existing account to invite (password "pw-victor")
    invite_viewer(page, slug)
    check_audit_log(page, slug)

    viewer_page = new_page()
    check_viewer_cannot_write(viewer_page, slug, dataset_url, experiment_url, model_url)
    clock.lap("shared")


def test_a_keras_mlp_draws_its_learning_curve_live(page: Any, worker: Any, tmp_path: Path) -> None:
    clock = Clock()
    signup(page, "kim")
    dataset_url = upload_dataset(page, write_iris_csv(tmp_path))
    clock.lap("uploaded and processed")
    epochs = 12
    # Batches of one make each epoch last long enough (~0.3 s) for the 1 s polling to see the
    # curve grow; a patience above the epoch count keeps the validation curve without stopping.
    configure_experiment(
        page,
        dataset_url,
        algorithm="mlp",
        cv_folds=0,
        params={"epochs": str(epochs), "batch_size": "1", "early_stopping_patience": "50"},
    )
    seen = watch_experiment(page, timeout_s=170)
    clock.lap(f"trained ({len(seen)} polls)")

    lengths = [max(s["points"]) for s in seen if s["status"] == "running" and s["points"]]
    grew = sorted(set(lengths))
    assert len(grew) >= 2, f"the learning curve did not grow between polls: {lengths}"
    final = probe(page, LIVE_PROBE)
    assert final["points"] == [epochs, epochs], final  # loss and val_loss, one point per epoch
    caption = page.locator("#live figure figcaption").inner_text()
    assert "loss" in caption and "val_loss" in caption and f"{epochs} epochs" in caption
    page.locator("#live").scroll_into_view_if_needed()
    screenshot(page, "experiment-learning-curve")


def test_a_choice_made_the_instant_the_form_part_is_swapped_in_is_not_lost(
    page: Any, worker: Any, tmp_path: Path
) -> None:
    """The form's dependent part is replaced on each choice; a choice made in the new part the
    moment it is in the page (as a fast user, or a slow machine, may) must still refresh it.

    htmx binds the new part's triggers when it "settles"; with the default settle delay that
    was 20 ms later (more under load), and a change in between was silently lost.
    """
    signup(page, "lea")
    dataset_url = upload_dataset(page, write_iris_csv(tmp_path))
    page.goto(dataset_url)
    control(page, "Train a model").click()
    page.wait_for_url("**/experiments/new/?dataset=*")
    # A MutationObserver runs right after the swap, before any timer: choose the algorithm there.
    page.evaluate("""() => {
      const form = document.querySelector('#experiment-form');
      const watch = new MutationObserver(() => {
        const info = document.querySelector('#target-info');
        const select = info && form.querySelector('#id_algorithm');
        if (!select) return;
        watch.disconnect();
        select.value = 'decision_tree';
        select.dispatchEvent(new Event('change', {bubbles: true}));
      });
      watch.observe(form, {childList: true, subtree: true});
    }""")
    page.select_option("#id_target", "species")
    page.locator("#params").wait_for(timeout=15_000)
    chosen = page.locator("input[name=params_for]").get_attribute("value") or ""
    assert chosen.startswith("decision_tree:"), chosen
