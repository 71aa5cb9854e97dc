"""Every API operation, fuzzed from its own OpenAPI schema with a member's token (#14).

Schemathesis generates valid and invalid requests for each operation of /api/schema/ and sends
them to the application in-process (WSGI). Each answer must not be a server error, and its
content type and body must be what the schema says. The slug is the member's workspace and ids
name real objects, so the calls reach the code behind the tenancy checks, not only 404s.
Bounded: SCHEMATHESIS_MAX_EXAMPLES examples per operation: 25 in `make test` (under coverage
tracing, a smoke run), 200 in `.ci/run`'s own run of this file without coverage.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
)

MAX_EXAMPLES = int(os.environ.get("SCHEMATHESIS_MAX_EXAMPLES", "25"))
pytestmark = pytest.mark.django_db


def _load_schema() -> Any:
    """The schema /api/schema/ serves, generated here (at collection, before any database)."""
    import json

    from django.core.handlers.wsgi import WSGIHandler
    from drf_spectacular.generators import SchemaGenerator
    from drf_spectacular.renderers import OpenApiJsonRenderer

    spec = json.loads(OpenApiJsonRenderer().render(
        SchemaGenerator().get_schema(request=None, public=True)))
    loaded = schemathesis.openapi.from_dict(spec)
    loaded.app = WSGIHandler()  # plain Django: no warm-start thread of config.wsgi
    return loaded


@pytest.fixture
def in_process(db: Any) -> Iterator[None]:
    from django.core.signals import request_finished, request_started
    from django.db import close_old_connections

    # As Django's test client does: the WSGI handler must not close the test's connection
    # (and its transaction) at the end of each request.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def world(in_process: None, workspace: Any, dave: Any, iris: Any, register: Any, clf_result: Any,
          settings: Any, monkeypatch: Any) -> dict[str, Any]:
    """A member's token and an object of each kind in the member's workspace."""
    from django_q.conf import Conf

    from apps.accounts.services import token_create
    from apps.experiments.models import Experiment, Status

    # Jobs are queued, not run: this tests the web layer, and quotas do not end the run early.
    monkeypatch.setattr(Conf, "SYNC", False)
    settings.WORKSPACE_MAX_ACTIVE_JOBS = 0
    model = register(clf_result, name="fuzzed")
    experiment = Experiment.objects.create(
        workspace=workspace, dataset=iris, created_by=dave, name="done", target="species",
        task="classification", algorithm="linear", status=Status.SUCCEEDED)
    _, key = token_create(user=dave, name="fuzz")
    return {"headers": {"Authorization": f"Token {key}"}, "slug": workspace.slug,
            "ids": {"datasets": iris.pk, "models": model.pk, "experiments": experiment.pk}}


schema = _load_schema()


@schema.parametrize()
@settings(max_examples=MAX_EXAMPLES, deadline=None, derandomize=True,
          suppress_health_check=list(HealthCheck))
def test_no_operation_answers_a_server_error_or_breaks_its_schema(
    case: Any, world: dict[str, Any]
) -> None:
    params = case.path_parameters or {}
    if "slug" in params:
        params["slug"] = world["slug"]
    if "id" in params:
        kind = case.path.split("/")[5]
        params["id"] = world["ids"].get(kind, params["id"])
    if case.operation.method.upper() == "DELETE" and case.path.endswith("/{slug}/"):
        return  # members may not delete the workspace anyway; owners are not fuzzed
    case.call_and_validate(
        headers=world["headers"],
        checks=[not_a_server_error, content_type_conformance, response_schema_conformance])
