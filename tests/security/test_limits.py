"""Brute force, throttles, tokens and headers (security review, #14)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from apps.accounts.models import ApiToken
from apps.accounts.services import token_create

pytestmark = pytest.mark.django_db
TOKEN = "/api/v1/auth/token/"


def _wrong(client: Any, path: str, **extra: Any) -> Any:
    if path == TOKEN:
        return client.post(path, {"username": "alice", "password": "wrong"},
                           content_type="application/json", **extra)
    if path == "/admin/login/":
        return client.post(path, {"username": "alice", "password": "wrong"}, **extra)
    return client.post(path, {"login": "alice", "password": "wrong"}, **extra)


@pytest.mark.parametrize("path", [TOKEN, "/accounts/login/", "/admin/login/"])
def test_repeated_failed_sign_ins_lock_the_address_out_with_429(
    alice: Any, settings: Any, path: str
) -> None:
    settings.AXES_FAILURE_LIMIT = 3
    client = Client()
    for _ in range(2):
        assert _wrong(client, path).status_code in (200, 400)
    locked = _wrong(client, path)  # the third failure locks the address out
    assert locked.status_code == 429
    assert int(locked["Retry-After"]) > 0
    # Even the right password is refused while locked out: guessing gains nothing.
    right = Client().post(TOKEN, {"username": "alice", "password": "pw-alice"},
                          content_type="application/json")
    assert right.status_code == 429 and "Too many failed sign-in" in right.json()["detail"]
    # Another address is not locked out.
    other = Client(REMOTE_ADDR="10.0.0.9").post(
        TOKEN, {"username": "alice", "password": "pw-alice"}, content_type="application/json")
    assert other.status_code == 200


def test_a_client_sent_forwarded_for_does_not_dodge_the_lockout(
    alice: Any, settings: Any
) -> None:
    settings.AXES_FAILURE_LIMIT = 2
    for n in range(4):
        response = _wrong(Client(), TOKEN, HTTP_X_FORWARDED_FOR=f"203.0.113.{n}")
    assert response.status_code == 429


def test_behind_a_trusted_proxy_the_forwarded_address_counts(alice: Any, settings: Any) -> None:
    settings.AXES_FAILURE_LIMIT = 2
    settings.TRUSTED_PROXY_COUNT = 1
    for _ in range(3):
        response = _wrong(Client(), TOKEN, HTTP_X_FORWARDED_FOR="spoofed, 203.0.113.7")
    assert response.status_code == 429
    fresh = _wrong(Client(), TOKEN, HTTP_X_FORWARDED_FOR="203.0.113.8")
    assert fresh.status_code == 400


def _rates(settings: Any, **rates: str | None) -> None:
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {
        "user": None, "anon": None, "login": None, **rates}}


def test_api_calls_are_throttled_per_token_with_retry_after(
    alice: Any, workspace: Any, settings: Any
) -> None:
    from django.core.cache import cache

    cache.clear()
    _rates(settings, user="3/min")
    _, first = token_create(user=alice, name="one")
    _, second = token_create(user=alice, name="two")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {first}")
    codes = [client.get("/api/v1/workspaces/").status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    answer = client.get("/api/v1/workspaces/")
    assert answer.status_code == 429 and int(answer["Retry-After"]) > 0
    assert "throttled" in answer.json()["detail"]
    client.credentials(HTTP_AUTHORIZATION=f"Token {second}")
    assert client.get("/api/v1/workspaces/").status_code == 200


def test_anonymous_api_calls_and_token_requests_are_throttled_per_address(
    alice: Any, settings: Any
) -> None:
    from django.core.cache import cache

    cache.clear()
    _rates(settings, anon="2/min", login="2/min")
    client = APIClient()
    assert [client.get("/api/schema/").status_code for _ in range(3)] == [200, 200, 429]
    assert [client.post(TOKEN, {"username": "alice", "password": "pw-alice"},
                        format="json").status_code for _ in range(3)] == [200, 200, 429]
    assert APIClient(REMOTE_ADDR="10.1.1.1").get("/api/schema/").status_code == 200


# --- tokens ------------------------------------------------------------------------------------


def test_an_expired_token_is_refused(alice: Any, workspace: Any) -> None:
    token, key = token_create(user=alice, name="short", expires_in_days=1)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert client.get("/api/v1/workspaces/").status_code == 200
    ApiToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    refused = client.get("/api/v1/workspaces/")
    assert refused.status_code == 401 and "expired" in refused.json()["detail"]


def test_login_tokens_expire_by_default_and_record_their_use(alice: Any, workspace: Any) -> None:
    answer = APIClient().post(TOKEN, {"username": "alice", "password": "pw-alice"},
                              format="json")
    assert answer.status_code == 200
    assert "no-store" in answer["Cache-Control"]
    token = ApiToken.objects.get(user=alice)
    assert token.expires_at is not None
    assert 29 <= (token.expires_at - timezone.now()).days <= 30
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {answer.json()['token']}")
    client.get("/api/v1/workspaces/")
    token.refresh_from_db()
    assert token.last_used_at is not None
    custom = APIClient().post(TOKEN, {"username": "alice", "password": "pw-alice",
                                      "expires_in_days": 2}, format="json")
    assert custom.status_code == 200
    assert ApiToken.objects.filter(user=alice, expires_at__lt=timezone.now()
                                   + timedelta(days=3)).count() == 1


def test_a_password_change_revokes_every_token(alice: Any, workspace: Any) -> None:
    _, key = token_create(user=alice, name="script")
    token_create(user=alice, name="notebook")
    client = Client()
    client.force_login(alice)
    changed = client.post("/accounts/password/change/", {
        "oldpassword": "pw-alice", "password1": "a-new-Long-passphrase-9",
        "password2": "a-new-Long-passphrase-9"})
    assert changed.status_code == 302
    assert not ApiToken.objects.filter(user=alice).exists()
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert api.get("/api/v1/workspaces/").status_code == 401


def test_saving_a_user_without_a_new_password_keeps_the_tokens(alice: Any) -> None:
    token_create(user=alice, name="script")
    alice.first_name = "Alice"
    alice.save()
    alice.last_login = timezone.now()
    alice.save(update_fields=["last_login"])
    assert ApiToken.objects.filter(user=alice).count() == 1


def test_the_tokens_page_is_never_cached_and_offers_an_expiry(alice: Any) -> None:
    client = Client()
    client.force_login(alice)
    page = client.post("/account/tokens/", {"name": "ci", "expires_in_days": "30"})
    assert page.status_code == 200 and "no-store" in page["Cache-Control"]
    assert ApiToken.objects.get(user=alice, name="ci").expires_at is not None
    never = client.post("/account/tokens/", {"name": "forever", "expires_in_days": "0"})
    assert never.status_code == 200
    assert ApiToken.objects.get(user=alice, name="forever").expires_at is None


# --- headers and operations ----------------------------------------------------------------


def test_pages_carry_a_policy_without_inline_script(client_as: Any, alice: Any) -> None:
    page = client_as(alice).get("/w/acme/")
    policy = page["Content-Security-Policy"]
    script = next(d for d in policy.split(";") if d.strip().startswith("script-src"))
    assert "'self'" in script and "unsafe-inline" not in script and "unsafe-eval" not in script
    assert "frame-ancestors 'none'" in policy
    assert page["Referrer-Policy"] == "same-origin"
    assert "camera=()" in page["Permissions-Policy"]


def test_no_template_has_inline_script_or_handlers() -> None:
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parents[2] / "templates"
    inline = re.compile(r"<script(?![^>]*\bsrc=)|\son[a-z]+=|javascript:", re.I)
    offenders = [str(p.relative_to(root)) for p in root.rglob("*.html")
                 if inline.search(p.read_text())]
    assert offenders == []


def test_the_api_docs_page_loads_its_script_from_a_file(client: Any) -> None:
    html = client.get("/api/docs/").content.decode()
    assert "<script src=" in html and "<script>" not in html


def test_metrics_are_for_allowed_networks_or_a_bearer_token(settings: Any) -> None:
    assert Client().get("/metrics").status_code == 200  # the test client is 127.0.0.1
    outside = Client(REMOTE_ADDR="198.51.100.4")
    assert outside.get("/metrics").status_code == 403
    settings.METRICS_TOKEN = "s3cret-scrape-token"
    assert outside.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 403
    allowed = outside.get("/metrics", HTTP_AUTHORIZATION="Bearer s3cret-scrape-token")
    assert allowed.status_code == 200 and b"modelworks_jobs" in allowed.content


def test_no_template_comment_spans_lines_and_shows_on_the_page() -> None:
    """Django's {# #} ends at the line's end: a longer one is printed into every page."""
    from pathlib import Path

    root = Path(__file__).resolve().parents[2] / "templates"
    broken = [f"{p.relative_to(root)}:{n}" for p in root.rglob("*.html")
              for n, line in enumerate(p.read_text().splitlines(), 1)
              if "{#" in line and "#}" not in line[line.index("{#"):]]
    assert broken == []
