"""A new web process sends one request through its own stack before it serves anyone."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections

from apps.accounts.models import ApiToken
from apps.core.models import AuditEvent
from apps.core.warmup import warm_request_path

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def keep_the_test_connection() -> Iterator[None]:
    """As Django's test client does: a request must not close the test's transaction."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


def test_the_warm_up_request_is_refused_before_it_touches_anything() -> None:
    before = (AuditEvent.objects.count(), ApiToken.objects.count())
    assert warm_request_path(get_wsgi_application()) == 401
    assert (AuditEvent.objects.count(), ApiToken.objects.count()) == before


def test_a_broken_application_does_not_stop_the_process_from_starting() -> None:
    def broken(environ: object, start_response: object) -> None:
        raise RuntimeError("boom")

    assert warm_request_path(broken) is None
