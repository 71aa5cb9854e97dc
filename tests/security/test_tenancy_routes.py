"""Tenancy, for every route under a workspace, generated from the URL resolver.

A new endpoint or page cannot slip through untested: every route whose path names a workspace
is found in Django's resolver, its parameters are filled with real objects of alice's
workspace, and it is asked with every method:

- by an outsider (charlie, a member of another workspace only): 404 (405 where the route does
  not take the method), never anything that says the object exists;
- by a viewer (bob): 403 (or 405) for every unsafe method, except the few reads that travel by
  POST and that viewers may use, each listed below with its reason.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from typing import Any

import pandas as pd
import pytest
from django.urls import URLPattern, URLResolver, get_resolver

pytestmark = pytest.mark.django_db

UNSAFE = ("post", "put", "patch", "delete")
METHODS = ("get", *UNSAFE)

# (route name, method) that a viewer may use: reads that take a body, by design.
VIEWER_MAY = {
    ("model-predict", "post"): "a viewer may use a model (the predict API)",
    ("try", "post"): "the model page's Try it form predicts one row",
    ("batch", "post"): "a viewer may predict a CSV file (the answer is theirs, the model is "
                       "unchanged)",
}


def _walk(patterns: list[Any], prefix: str = "") -> Iterator[tuple[str, URLPattern]]:
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            yield from _walk(pattern.url_patterns, prefix + str(pattern.pattern))
        else:
            yield prefix + str(pattern.pattern), pattern


ROUTES = sorted({(route, pattern.name or "") for route, pattern in _walk(
    get_resolver().url_patterns) if "<slug:slug>" in route})


def _path(route: str, objects: dict[str, Any]) -> str:
    """Fill a route's parameters with objects of alice's workspace."""
    path = route.replace("^", "").replace("$", "")
    path = re.sub(r"\(\?P<(\w+)>[^)]*\)", r"<int:\1>", path)  # DRF's regex routes
    kind = next((k for k in ("datasets", "experiments", "models") if f"/{k}/" in path), "")
    values = {"slug": objects["workspace"].slug, "username": objects["member"].username,
              "batch_pk": objects["batch"].pk, "index": 0, "name": "confusion_matrix",
              "pk": objects[kind].pk if kind else 0}

    def fill(match: re.Match[str]) -> str:
        return str(values[match.group(2)])

    return "/" + re.sub(r"<(\w+):(\w+)>", fill, path)


@pytest.fixture
def objects(workspace: Any, alice: Any, dave: Any) -> dict[str, Any]:
    """One of each object in alice's workspace (`acme`)."""
    from sklearn.datasets import load_iris

    from apps.core.files import storage_path, storage_save
    from apps.datasets.models import Dataset
    from apps.experiments.models import Experiment
    from apps.models.models import BatchPrediction
    from apps.models.services import model_register
    from ml.config import TrainConfig
    from ml.data import column_kind, write_parquet
    from ml.train import train

    frame = load_iris(as_frame=True).frame
    buffer = io.BytesIO()
    write_parquet(frame, buffer)
    dataset = Dataset.objects.create(
        workspace=workspace, name="iris", file="",
        parquet=storage_save(storage_path(workspace, "datasets", ".parquet"), buffer.getvalue()),
        status="ready", n_rows=len(frame), n_columns=frame.shape[1],
        columns=[{"name": str(c), "dtype": str(frame[c].dtype), "kind": column_kind(frame[c]),
                  "n_missing": 0, "n_unique": int(frame[c].nunique())} for c in frame.columns])
    result = train(pd.DataFrame(frame), TrainConfig.from_dict({
        "target": "target", "algorithm": "linear", "validation": {"cv_folds": 0}}))
    experiment = Experiment.objects.create(
        workspace=workspace, dataset=dataset, target="target", algorithm="linear",
        status="succeeded", created_by=alice,
        plots=[{"name": "confusion_matrix",
                "file": storage_save(storage_path(workspace, "plots", ".png"), b"\x89PNG")}])
    model = model_register(experiment=experiment, result=result, user=alice)
    batch = BatchPrediction.objects.create(
        workspace=workspace, model=model, status="succeeded", created_by=alice, n_rows=1,
        output_file=storage_save(storage_path(workspace, "predictions", ".csv"), b"a\n1\n"))
    return {"workspace": workspace, "datasets": dataset, "experiments": experiment,
            "models": model, "batch": batch, "member": dave}


def _ask(client: Any, method: str, path: str) -> int:
    response = getattr(client, method)(path)
    return int(response.status_code)


def _clients(user: Any, api: bool) -> Any:
    from django.test import Client
    from rest_framework.test import APIClient

    from apps.accounts.services import token_create

    if api:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {token_create(user=user, name='t')[1]}")
        return client
    client = Client()
    client.force_login(user)
    return client


def test_the_resolver_finds_every_workspace_route() -> None:
    names = {name for _route, name in ROUTES}
    # A sample that must be there: if the walk broke, the tests below would test nothing.
    assert {"api-datasets", "model-predict", "workspace_members", "batch_download"} <= names
    assert len(ROUTES) >= 45
    print(f"\n{len(ROUTES)} workspace routes, each asked with {len(METHODS)} methods "
          "as an outsider and an unsafe-method viewer")


@pytest.mark.parametrize(("route", "name"), ROUTES, ids=[r for r, _n in ROUTES])
def test_an_outsider_gets_404_on_every_route(route: str, name: str, objects: dict[str, Any],
                                             charlie: Any, other_workspace: Any) -> None:
    client = _clients(charlie, api=route.startswith("api/"))
    path = _path(route, objects)
    statuses = {method: _ask(client, method, path) for method in METHODS}
    assert set(statuses.values()) <= {404, 405}, (path, statuses)
    assert 404 in statuses.values(), (path, statuses)


@pytest.mark.parametrize(("route", "name"), ROUTES, ids=[r for r, _n in ROUTES])
def test_a_viewer_cannot_write_on_any_route(route: str, name: str, objects: dict[str, Any],
                                            bob: Any) -> None:
    client = _clients(bob, api=route.startswith("api/"))
    path = _path(route, objects)
    statuses = {method: _ask(client, method, path) for method in METHODS}
    assert set(statuses.values()) != {404}, (path, statuses)  # bob is in: the object is found
    for method in UNSAFE:
        status = statuses[method]
        if (name, method) in VIEWER_MAY:
            assert status != 403, (path, method, status, VIEWER_MAY[(name, method)])
        else:
            assert status in (403, 405), (path, method, status)
