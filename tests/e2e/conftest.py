"""End-to-end fixtures: Debian's Chromium driven by Playwright against pytest-django's live server.

Never `playwright install`: the browser is the system one (`make browser` installs it).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

# Playwright's sync API runs an event loop in the test thread; Django then refuses ORM calls
# from that thread as "async-unsafe". The tests touch the ORM only between browser steps.
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

CHROMIUM = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
]
VIEWPORT = {"width": 1280, "height": 800}
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
PASSWORD = "a-Long-pass-9"


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """One headless Chromium for the whole session."""
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"No Chromium at {CHROMIUM}: run `make browser` (apt-get install chromium).")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


class BrowserProblems:
    """What went wrong in the page that no assertion looks at: JS errors and 5xx answers."""

    def __init__(self) -> None:
        self.errors: list[str] = []

    def watch(self, page: Any) -> None:
        page.on("pageerror", lambda exc: self.errors.append(f"JavaScript error: {exc}"))
        page.on("response", self._response)

    def _response(self, response: Any) -> None:
        if response.status >= 500:
            self.errors.append(f"HTTP {response.status} from {response.url}")


@pytest.fixture
def new_page(browser: Any, live_server: Any, request: pytest.FixtureRequest) -> Iterator[Any]:
    """Return a factory of pages, each in its own browser context (its own cookies/user)."""
    problems = BrowserProblems()
    contexts: list[Any] = []

    def make() -> Any:
        context = browser.new_context(
            base_url=live_server.url, viewport=VIEWPORT, accept_downloads=True
        )
        context.set_default_timeout(15_000)
        contexts.append(context)
        page = context.new_page()
        problems.watch(page)
        return page

    yield make
    failed = getattr(request.node, "rep_call", None)
    if failed is not None and failed.failed:
        _save_failure_shots(contexts, request.node.name)
    for context in contexts:
        context.close()
    assert not problems.errors, "The browser saw problems:\n" + "\n".join(problems.errors)


@pytest.fixture
def page(new_page: Any) -> Any:
    """Return one fresh page (1280x800) on the live server."""
    return new_page()


def _save_failure_shots(contexts: list[Any], name: str) -> None:
    """Keep a picture of every open page of a failed test, to see what the user saw."""
    folder = Path(os.environ.get("DATA_DIR", "/tmp")) / "e2e-failures"
    folder.mkdir(parents=True, exist_ok=True)
    for i, context in enumerate(contexts):
        for j, pg in enumerate(context.pages):
            path = folder / f"{name}-{i}-{j}.png"
            try:
                pg.screenshot(path=str(path), full_page=True)
                print(f"Failure screenshot: {path} ({pg.url})")
            except Exception as exc:  # a crashed page cannot be photographed; say so
                print(f"No failure screenshot of {pg.url}: {exc}")


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: Any, call: Any) -> Any:
    """Remember each phase's report on the item, so fixtures know whether the test failed."""
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report


def screenshot(page: Any, name: str, *, full_page: bool = False) -> Path:
    """Save the page as docs/screenshots/<name>.png (what the README shows)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page, animations="disabled")
    return path


def signup(page: Any, username: str) -> None:
    """Sign up through the allauth form and land on the new personal workspace."""
    page.goto("/accounts/signup/")
    page.fill("input[name=username]", username)
    page.fill("input[name=email]", f"{username}@example.com")
    page.fill("input[name=password1]", PASSWORD)
    page.fill("input[name=password2]", PASSWORD)
    page.locator("form button[type=submit]").last.click()
    page.wait_for_url("**/w/*/")


def login(page: Any, username: str, password: str = PASSWORD) -> None:
    """Log in through the allauth form."""
    page.goto("/accounts/login/")
    page.fill("input[name=login]", username)
    page.fill("input[name=password]", password)
    page.locator("form button[type=submit]").last.click()
    page.wait_for_url("**/w/*/")


def csrf_token(page: Any) -> str:
    """Return the CSRF cookie of the page's context (what a forged POST would send)."""
    cookies = {c["name"]: c["value"] for c in page.context.cookies()}
    return cookies["csrftoken"]
