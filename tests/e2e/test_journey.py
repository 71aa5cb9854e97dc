"""The whole journey in a real browser: sign up, upload, train, use the model, share it.

Each test walks the pages a person would, against a live server and a real django-q2 worker, and
fails when a step breaks: a template error, a worker that does not run, progress that does not
update while a job runs. The screenshots in docs/screenshots/ come from these runs.
"""

from __future__ import annotations

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


def sample(page: Any, probe: str, *, until: str, timeout_s: float = 120) -> list[Any]:
    """Evaluate the JS `probe` every 0.2 s until the JS `until` is true; return what it saw."""
    seen: list[Any] = []
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        seen.append(page.evaluate(probe))
        if page.evaluate(until):
            return seen
        page.wait_for_timeout(200)
    raise AssertionError(f"Still waiting for {until!r} after {timeout_s} s; saw {seen[-5:]}")


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


def check_viewer_cannot_write(page: Any, slug: str, dataset_url: str) -> None:
    """As the viewer: pages open, writing controls are absent, a forged write is refused."""
    login(page, VIEWER, f"pw-{VIEWER}")
    page.goto(f"/w/{slug}/")
    assert page.locator("h1").inner_text() == f"{USER}'s workspace"
    assert page.get_by_role("link", name="New experiment").count() == 0
    assert page.get_by_role("link", name="Upload a CSV").count() == 0

    page.goto(f"/w/{slug}/datasets/")
    assert page.locator("#upload").count() == 0
    assert page.locator("input[type=file]").count() == 0
    assert "iris" in page.locator("table").inner_text()

    page.goto(dataset_url)
    for name in ("Train a model", "Delete", "Rename"):
        assert page.get_by_role("link", name=name, exact=True).count() == 0, name
    assert page.get_by_role("button", name="Delete").count() == 0

    page.goto(f"/w/{slug}/members/")
    assert page.get_by_role("button", name="Add member").count() == 0
    assert page.get_by_role("button", name="Remove").count() == 0

    # The page only hides the controls: the server must refuse the write itself.
    token = csrf_token(page)
    headers = {"X-CSRFToken": token, "Referer": page.url}
    response = page.request.post(f"{dataset_url}delete/", headers=headers, form={})
    assert response.status == 403, response.status
    response = page.request.post(
        f"/w/{slug}/members/", headers=headers, form={"identifier": USER, "role": "viewer"}
    )
    assert response.status == 403, response.status


# ---------------------------------------------------------------- the journey


def test_a_new_user_uploads_trains_predicts_and_shares(
    new_page: Any, worker: Any, make_user: Any, tmp_path: Path
) -> None:
    page = new_page()
    signup(page, USER)
    slug = page.url.rstrip("/").rsplit("/", 1)[-1]
    assert page.locator("h1").inner_text() == f"{USER}'s workspace"
    assert "Start with your data" in page.content()
    screenshot(page, "dashboard-empty")

    dataset_url = upload_dataset(page, write_iris_csv(tmp_path))
    read_quality_report(page, dataset_url)

    page.goto(f"/w/{slug}/")
    screenshot(page, "dashboard")

    make_user(VIEWER)  # an existing account to invite (password "pw-victor")
    invite_viewer(page, slug)

    viewer_page = new_page()
    check_viewer_cannot_write(viewer_page, slug, dataset_url)
