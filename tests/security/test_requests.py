"""One request cannot exhaust a web process or answer a server error (security review, #14)."""

from __future__ import annotations

import io
from typing import Any

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db

BIG = 2 * 1024 * 1024  # over MAX_REQUEST_BYTES (1 MB), far under the upload limit


def test_an_anonymous_big_body_to_the_token_endpoint_is_413_before_it_is_parsed() -> None:
    body = b"[" + b"[]," * (BIG // 3) + b"[]]"
    response = Client().post("/api/v1/auth/token/", body, content_type="application/json")
    assert response.status_code == 413
    assert "1.0 MB" in response.json()["detail"]


def test_a_big_form_post_to_a_page_is_413(client_as: Any, alice: Any) -> None:
    response = client_as(alice).post("/w/acme/experiments/new/", b"a=" + b"x" * BIG,
                                     content_type="application/x-www-form-urlencoded")
    assert response.status_code == 413
    assert "Request too large" in response.content.decode()


def test_a_big_json_body_to_a_non_upload_api_is_413(api: Any) -> None:
    response = api.generic("POST", "/api/v1/workspaces/acme/experiments/", b"{" + b" " * BIG
                           + b"}", content_type="application/json")
    assert response.status_code == 413


def test_a_json_body_to_the_dataset_upload_is_held_to_the_small_limit(api: Any) -> None:
    response = api.generic("POST", "/api/v1/workspaces/acme/datasets/", b"{" + b" " * BIG
                           + b"}", content_type="application/json")
    assert response.status_code == 413


def test_a_file_upload_may_be_bigger_than_the_small_limit(api: Any) -> None:
    rows = "".join(f"{i},{i % 7},{'abcdefgh' * 4}\n" for i in range(60_000))
    data = ("id,x,label\n" + rows).encode()
    assert len(data) > BIG
    upload = io.BytesIO(data)
    upload.name = "big.csv"
    response = api.post("/api/v1/workspaces/acme/datasets/", {"file": upload, "name": "big"},
                        format="multipart")
    assert response.status_code == 201, response.content[:300]


def test_deeply_nested_json_is_a_400(api: Any) -> None:
    body = b"[" * 100_000 + b"]" * 100_000
    response = api.generic("POST", "/api/v1/workspaces/acme/experiments/", body,
                           content_type="application/json")
    assert response.status_code == 400
    anonymous = Client().post("/api/v1/auth/token/", body, content_type="application/json")
    assert anonymous.status_code == 400


def test_a_content_length_that_is_not_a_number_is_a_400() -> None:
    response = Client().generic("POST", "/api/v1/auth/token/", b"{}",
                                content_type="application/json", CONTENT_LENGTH="lots")
    assert response.status_code == 400


# --- malformed query strings ------------------------------------------------------------


@pytest.mark.parametrize("query", ["compare=%C2%B2", "dataset=%C2%B2", "compare=1&compare=x",
                                   "dataset=99999999999999999999999", "from=%D9%A3"])
def test_a_malformed_id_on_the_experiments_pages_is_a_400(
    client_as: Any, alice: Any, query: str
) -> None:
    path = "/w/acme/experiments/new/" if query.startswith("from") else "/w/acme/experiments/"
    response = client_as(alice).get(f"{path}?{query}")
    assert response.status_code == 400
    assert "must be an id" in response.content.decode()


@pytest.mark.parametrize("value", ["%C2%B2", "99999999999999999999999", "-1", "1.5"])
def test_a_malformed_dataset_filter_on_the_api_is_a_400(api: Any, value: str) -> None:
    response = api.get(f"/api/v1/workspaces/acme/experiments/?dataset={value}")
    assert response.status_code == 400
    assert "dataset" in response.json()


def test_a_malformed_row_count_on_a_preview_is_a_400(client_as: Any, alice: Any,
                                                      api: Any, iris: Any) -> None:
    page = client_as(alice).get(f"/w/acme/datasets/{iris.pk}/preview/?rows=%C2%B2")
    assert page.status_code == 400
    assert "whole number" in page.content.decode()
    assert client_as(alice).get(f"/w/acme/datasets/{iris.pk}/preview/?rows=5").status_code == 200
    response = api.get(f"/api/v1/workspaces/acme/datasets/{iris.pk}/preview/?rows=%C2%B2")
    assert response.status_code == 400 and "rows" in response.json()


@pytest.mark.parametrize("path", [
    "/api/v1/workspaces/acme/members/al%00ice/",
    "/api/v1/workspaces/acme/models/?task=%00",
    "/w/acme/models/?algorithm=a%00b",
    "/w/acme/audit/?verb=%00",
])
def test_a_nul_character_in_the_address_is_a_400(api: Any, path: str) -> None:
    response = api.get(path)
    assert response.status_code == 400
