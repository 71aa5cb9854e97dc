"""Shared fixtures: the same users in every module, API clients, and a real django-q2 worker.

- alice: owner of `workspace` ("Acme")
- dave:  member of `workspace`
- bob:   viewer of `workspace`
- charlie: an outsider, owner of `other_workspace` ("Rival")
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("OMP_NUM_THREADS", "1")


@pytest.fixture
def make_user(db: Any) -> Callable[..., Any]:
    from django.contrib.auth import get_user_model

    def make(username: str, **extra: Any) -> Any:
        from allauth.account.models import EmailAddress

        user = get_user_model().objects.create_user(
            username=username, email=f"{username}@example.com", password="pw-" + username, **extra
        )
        # As after sign-up and confirming the address from the e-mail.
        EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
        return user

    return make


@pytest.fixture
def alice(make_user: Callable[..., Any]) -> Any:
    return make_user("alice")


@pytest.fixture
def bob(make_user: Callable[..., Any]) -> Any:
    return make_user("bob")


@pytest.fixture
def charlie(make_user: Callable[..., Any]) -> Any:
    return make_user("charlie")


@pytest.fixture
def dave(make_user: Callable[..., Any]) -> Any:
    return make_user("dave")


@pytest.fixture
def workspace(alice: Any, bob: Any, dave: Any) -> Any:
    from apps.accounts.models import Membership, Role
    from apps.accounts.services import workspace_create

    ws = workspace_create(name="Acme", owner=alice)
    Membership.objects.create(user=bob, workspace=ws, role=Role.VIEWER)
    Membership.objects.create(user=dave, workspace=ws, role=Role.MEMBER)
    return ws


@pytest.fixture
def other_workspace(charlie: Any) -> Any:
    from apps.accounts.services import workspace_create

    return workspace_create(name="Rival", owner=charlie)


def _api_client_for(user: Any) -> Any:
    from rest_framework.test import APIClient

    from apps.accounts.services import token_create

    client = APIClient()
    _, key = token_create(user=user, name="tests")
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    client.user = user
    return client


@pytest.fixture
def api(workspace: Any, alice: Any) -> Any:
    """An API client authenticated as alice (owner of `workspace`)."""
    return _api_client_for(alice)


@pytest.fixture
def api_as(workspace: Any, other_workspace: Any) -> Callable[[Any], Any]:
    """Return an API client for any user: `api_as(bob)`."""
    return _api_client_for


@pytest.fixture
def client_as(workspace: Any, other_workspace: Any) -> Callable[[Any], Any]:
    """Return a logged-in Django test client for any user: `client_as(charlie)`."""
    from django.test import Client

    def make(user: Any) -> Any:
        client = Client()
        client.force_login(user)
        return client

    return make


# --- A real django-q2 worker ---------------------------------------------------------------------


class Worker:
    """A `manage.py qcluster` subprocess that shares the test database and data folder."""

    def __init__(self, db_name: str, *, name: str = "worker", **env: str) -> None:
        self.db_name = db_name
        self.env = env  # settings for this cluster only, e.g. JOB_MEMORY_LIMIT_MB
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_path = Path(os.environ["DATA_DIR"]) / f"{name}.log"

    def start(self) -> None:
        env = dict(os.environ)
        env.update(
            DJANGO_SETTINGS_MODULE="config.settings.test",
            MODELWORKS_TEST_DB_NAME=self.db_name,
            Q_SYNC="0",
            Q_WORKERS=env.get("Q_WORKERS", "1"),
            PYTHONUNBUFFERED="1",
        )
        env.update(self.env)
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            [sys.executable, str(ROOT / "manage.py"), "qcluster"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        time.sleep(2.0)
        if self.proc.poll() is not None:
            raise RuntimeError("qcluster exited at start:\n" + self.log_path.read_text()[-3000:])

    def child_pids(self) -> list[int]:
        """Return the pids of the cluster's processes (sentinel, workers, monitor...)."""
        import psutil

        if self.proc is None:
            return []
        return [p.pid for p in psutil.Process(self.proc.pid).children(recursive=True)]

    def kill(self) -> None:
        """SIGKILL the whole cluster, as an OOM killer or a crashed machine would."""
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)
        self.proc = None

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)
        self.proc = None

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def log_tail(self) -> str:
        return self.log_text()[-4000:]

    def ran_in_a_job_process(self, noun: str, pk: int) -> bool:
        """Whether the job runner (apps.core.jobs) ran this job in a supervised child."""
        return f"apps.core.jobs: {noun} {pk} ended after " in self.log_text()


@pytest.fixture(scope="session")
def _worker_session(django_db_setup: Any, django_db_blocker: Any) -> Iterator[Worker]:
    from django.db import connection

    with django_db_blocker.unblock():
        db_name = str(connection.settings_dict["NAME"])
    worker = Worker(db_name)
    worker.start()
    try:
        yield worker
    finally:
        worker.stop()


@pytest.fixture
def worker(_worker_session: Worker, transactional_db: Any) -> Iterator[Worker]:
    """A running real worker; the test's data is committed so the worker can see it."""
    if _worker_session.proc is None or _worker_session.proc.poll() is not None:
        _worker_session.start()  # a previous test killed it on purpose
    with queued_for_real():
        yield _worker_session


@contextlib.contextmanager
def queued_for_real() -> Iterator[None]:
    """Send tasks to the broker (for a real worker) instead of running them inline."""
    from django_q.conf import Conf

    sync, Conf.SYNC = Conf.SYNC, False
    try:
        yield
    finally:
        Conf.SYNC = sync


def wait_for(predicate: Callable[[], Any], *, timeout: float = 90, interval: float = 0.25) -> Any:
    """Poll `predicate` until it returns something truthy; fail with a clear message."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout} s")
