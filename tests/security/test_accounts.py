"""Adding members, e-mailed links and settings that protect accounts (security review, #14)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from allauth.account.models import EmailAddress
from django.contrib.auth import get_user_model
from django.core import mail

from apps.accounts.models import Membership

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]
MEMBERS = "/api/v1/workspaces/acme/members/"


def test_an_e_mail_never_matches_a_username(api: Any, workspace: Any) -> None:
    # Someone registers the username that is Alice's colleague's address.
    impostor = get_user_model().objects.create_user("erin@corp.example", "x@evil.example", "pw")
    response = api.post(MEMBERS, {"email": "erin@corp.example", "role": "member"}, format="json")
    assert response.status_code == 400
    assert not Membership.objects.filter(user=impostor, workspace=workspace).exists()


def test_an_unconfirmed_address_is_not_matched_and_reads_like_no_account(
    api: Any, workspace: Any
) -> None:
    erin = get_user_model().objects.create_user("erin", "erin@corp.example", "pw")
    EmailAddress.objects.create(user=erin, email=erin.email, verified=False, primary=True)
    unconfirmed = api.post(MEMBERS, {"email": "erin@corp.example"}, format="json")
    nobody = api.post(MEMBERS, {"email": "nobody@corp.example"}, format="json")
    assert unconfirmed.status_code == nobody.status_code == 400
    assert (unconfirmed.json()["username"][0].replace("erin@corp.example", "X")
            == nobody.json()["username"][0].replace("nobody@corp.example", "X"))
    EmailAddress.objects.filter(user=erin).update(verified=True)
    confirmed = api.post(MEMBERS, {"email": "ERIN@corp.example"}, format="json")
    assert confirmed.status_code == 201 and confirmed.json()["username"] == "erin"


def test_the_reset_link_is_built_from_site_url_not_the_host_header(
    client: Any, alice: Any, settings: Any
) -> None:
    settings.SITE_URL = "https://ml.example.com"
    settings.ALLOWED_HOSTS = ["ml.example.com", "other.example.com"]
    response = client.post("/accounts/password/reset/", {"email": "alice@example.com"},
                           HTTP_HOST="other.example.com")
    assert response.status_code == 302
    body = mail.outbox[-1].body
    assert "https://ml.example.com/accounts/password/reset/key/" in body
    assert "other.example.com" not in body


def test_a_host_not_allowed_gets_no_reset_mail(client: Any, alice: Any) -> None:
    response = client.post("/accounts/password/reset/", {"email": "alice@example.com"},
                           HTTP_HOST="evil.example")
    assert response.status_code == 400
    assert not mail.outbox


def _start(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items()
             if not k.startswith(("DJANGO_", "DATA_DIR", "DATABASE_URL"))}
    return subprocess.run(
        [sys.executable, "-c", "import django; django.setup(); from django.conf import settings;"
         " print('DEBUG', settings.DEBUG)"],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
        env={**clean, "DJANGO_SETTINGS_MODULE": "config.settings.base",
             "DATA_DIR": str(tmp_path), **env})


def test_production_is_the_default_and_needs_a_real_secret(tmp_path: Path) -> None:
    missing = _start(tmp_path)
    assert missing.returncode != 0 and "DJANGO_SECRET_KEY" in missing.stderr
    weak = _start(tmp_path, DJANGO_SECRET_KEY="short")
    assert weak.returncode != 0
    (tmp_path / "secret_key").write_text("k" * 64 + "\n")
    from_file = _start(tmp_path)
    assert from_file.returncode == 0, from_file.stderr
    assert "DEBUG False" in from_file.stdout


def test_any_host_is_refused_in_production(tmp_path: Path) -> None:
    started = _start(tmp_path, DJANGO_SECRET_KEY="k" * 64, DJANGO_ALLOWED_HOSTS="ml.example.com,*")
    assert started.returncode != 0 and "may not contain '*'" in started.stderr
    debug = _start(tmp_path, DJANGO_SECRET_KEY="k" * 64, DJANGO_ALLOWED_HOSTS="*",
                   DJANGO_DEBUG="true")
    assert debug.returncode == 0, debug.stderr


def test_check_deploy_is_clean_with_production_settings(tmp_path: Path) -> None:
    clean = {k: v for k, v in os.environ.items()
             if not k.startswith(("DJANGO_", "DATA_DIR", "DATABASE_URL"))}
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT, capture_output=True, text=True, timeout=180,
        env={**clean, "DJANGO_SETTINGS_MODULE": "config.settings.base", "DATA_DIR": str(tmp_path),
             "DJANGO_SECRET_KEY": "k" * 20 + "Q7x!" * 10, "DJANGO_ALLOWED_HOSTS": "ml.example.com"})
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout
