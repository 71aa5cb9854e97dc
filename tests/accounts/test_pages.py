"""Pages of accounts: dashboard, members, settings, tokens; tenancy and roles."""

import pytest

from apps.accounts.models import ApiToken, Membership, Workspace

pytestmark = pytest.mark.django_db


def test_it_sends_anonymous_visitors_to_login(client):
    response = client.get("/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    assert client.get("/w/acme/").status_code == 302


def test_it_sends_a_user_home_to_their_workspace(client_as, alice, workspace):
    response = client_as(alice).get("/")
    assert response.status_code == 302 and response["Location"] == "/w/acme/"


def test_signup_gives_a_personal_workspace(client):
    response = client.post(
        "/accounts/signup/",
        {
            "username": "erin",
            "email": "erin@example.com",
            "password1": "a-Long-pass-9",
            "password2": "a-Long-pass-9",
        },
    )
    assert response.status_code == 302
    ws = Workspace.objects.get(memberships__user__username="erin")
    assert ws.name == "erin's workspace"
    assert Membership.objects.get(workspace=ws).role == "owner"


def test_the_dashboard_shows_counts_and_an_empty_state(client_as, alice, workspace):
    page = client_as(alice).get("/w/acme/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "Start with your data" in html
    assert "Upload a CSV" in html
    assert "Rival" not in html


def test_a_viewer_sees_no_upload_button(client_as, bob, workspace):
    html = client_as(bob).get("/w/acme/").content.decode()
    assert "You are a viewer here" in html


@pytest.mark.parametrize("url", ["/w/acme/", "/w/acme/members/", "/w/acme/settings/"])
def test_outsiders_get_404_on_every_workspace_page(client_as, charlie, workspace, url):
    assert client_as(charlie).get(url).status_code == 404
    assert client_as(charlie).post(url, {"name": "x"}).status_code == 404


def test_members_page_lists_members_and_admins_add_one(client_as, alice, charlie, workspace):
    c = client_as(alice)
    html = c.get("/w/acme/members/").content.decode()
    assert "bob" in html and "dave" in html and "Add a member" in html
    response = c.post("/w/acme/members/", {"identifier": "charlie", "role": "viewer"})
    assert response.status_code == 302
    assert Membership.objects.get(user=charlie, workspace=workspace).role == "viewer"
    again = c.post("/w/acme/members/", {"identifier": "nobody", "role": "viewer"})
    assert again.status_code == 200 and "No user has the username" in again.content.decode()


def test_viewers_and_members_cannot_manage_members_in_pages(client_as, bob, dave, workspace):
    for user in (bob, dave):
        c = client_as(user)
        assert "Add a member" not in c.get("/w/acme/members/").content.decode()
        assert c.post("/w/acme/members/", {"identifier": "x", "role": "viewer"}).status_code == 403
        assert c.post("/w/acme/members/alice/role/", {"role": "viewer"}).status_code == 403
        assert c.post("/w/acme/members/alice/remove/").status_code == 403


def test_role_change_and_removal_in_pages_keep_the_last_owner(client_as, alice, workspace):
    c = client_as(alice)
    c.post("/w/acme/members/dave/role/", {"role": "admin"})
    assert Membership.objects.get(user__username="dave", workspace=workspace).role == "admin"
    c.post("/w/acme/members/alice/remove/")
    assert Membership.objects.filter(user=alice, workspace=workspace).exists()
    refused = c.post("/w/acme/members/alice/role/", {"role": "viewer"})
    assert refused.status_code == 302  # back to the members page, with the reason
    assert Membership.objects.get(user=alice, workspace=workspace).role == "owner"
    assert "last owner" in c.get(refused["Location"]).content.decode()
    c.post("/w/acme/members/bob/remove/")
    assert not Membership.objects.filter(user__username="bob", workspace=workspace).exists()
    assert c.post("/w/acme/members/nobody/remove/").status_code == 404


def test_only_the_owner_opens_settings_and_deletes(client_as, alice, dave, workspace):
    assert client_as(dave).get("/w/acme/settings/").status_code == 403
    c = client_as(alice)
    assert c.get("/w/acme/settings/").status_code == 200
    c.post("/w/acme/settings/", {"action": "delete", "confirm_slug": "wrong"})
    assert Workspace.objects.filter(pk=workspace.pk).exists()
    c.post("/w/acme/settings/", {"action": "rename", "name": "Acme Labs"})
    assert Workspace.objects.get(pk=workspace.pk).name == "Acme Labs"
    c.post("/w/acme/settings/", {"action": "delete", "confirm_slug": "acme"})
    assert not Workspace.objects.filter(pk=workspace.pk).exists()


def test_workspace_create_page(client_as, alice, workspace):
    c = client_as(alice)
    assert c.get("/w/new/").status_code == 200
    response = c.post("/w/new/", {"name": "Research"})
    assert response.status_code == 302 and response["Location"] == "/w/research/"


def test_tokens_page_shows_a_new_key_once_and_revokes(client_as, alice, workspace, client):
    c = client_as(alice)
    html = c.post("/account/tokens/", {"name": "notebook"}).content.decode()
    token = ApiToken.objects.get(user=alice, name="notebook")
    assert token.prefix in html and "will not be shown again" in html
    key = html.split('id="new-token"')[0].rsplit('value="', 1)[1].split('"')[0]
    assert client.get("/api/v1/workspaces/", HTTP_AUTHORIZATION=f"Token {key}").status_code == 200
    assert "will not be shown again" not in c.get("/account/tokens/").content.decode()
    c.post(f"/account/tokens/{token.pk}/revoke/")
    assert client.get("/api/v1/workspaces/", HTTP_AUTHORIZATION=f"Token {key}").status_code == 401


def test_a_user_cannot_revoke_someone_elses_token(client_as, alice, charlie, workspace):
    from apps.accounts.services import token_create

    token, _ = token_create(user=charlie, name="theirs")
    client_as(alice).post(f"/account/tokens/{token.pk}/revoke/")
    assert ApiToken.objects.filter(pk=token.pk).exists()


def test_unknown_pages_render_the_404_page(client_as, alice, workspace):
    response = client_as(alice).get("/no/such/page/")
    assert response.status_code == 404
