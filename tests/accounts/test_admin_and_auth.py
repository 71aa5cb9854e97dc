"""Django admin for staff, and allauth's password pages."""

import pytest
from django.core import mail

pytestmark = pytest.mark.django_db

ADMIN_PAGES = [
    "/admin/auth/user/",
    "/admin/accounts/workspace/",
    "/admin/accounts/membership/",
    "/admin/accounts/apitoken/",
    "/admin/core/auditevent/",
    "/admin/datasets/dataset/",
    "/admin/experiments/experiment/",
    "/admin/models/model/",
]


@pytest.mark.parametrize("url", ADMIN_PAGES)
def test_staff_can_search_every_admin_list(admin_client, workspace, url):
    response = admin_client.get(url, {"q": "acme"})
    assert response.status_code == 200


def test_the_admin_shows_memberships_inline(admin_client, workspace, alice):
    html = admin_client.get(f"/admin/accounts/workspace/{workspace.pk}/change/").content.decode()
    assert "alice" in html and "bob" in html
    html = admin_client.get(f"/admin/auth/user/{alice.pk}/change/").content.decode()
    assert "Acme" in html


def test_the_admin_is_staff_only(client_as, alice, workspace):
    response = client_as(alice).get("/admin/accounts/workspace/")
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


def test_password_reset_sends_an_email(client, alice):
    assert client.get("/accounts/password/reset/").status_code == 200
    response = client.post("/accounts/password/reset/", {"email": "alice@example.com"})
    assert response.status_code == 302
    assert len(mail.outbox) == 1 and "alice@example.com" in mail.outbox[0].to


def test_password_change_works_for_a_signed_in_user(client_as, alice, workspace):
    c = client_as(alice)
    assert c.get("/accounts/password/change/").status_code == 200
    response = c.post(
        "/accounts/password/change/",
        {
            "oldpassword": "pw-alice",
            "password1": "N3w-long-passphrase",
            "password2": "N3w-long-passphrase",
        },
    )
    assert response.status_code == 302
    alice.refresh_from_db()
    assert alice.check_password("N3w-long-passphrase")


def test_login_with_email_or_username(client, alice):
    for login in ("alice", "alice@example.com"):
        response = client.post("/accounts/login/", {"login": login, "password": "pw-alice"})
        assert response.status_code == 302, login
        client.logout()
