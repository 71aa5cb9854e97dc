"""Workspaces, members and tokens over the API: tenancy and roles."""

import pytest

from apps.accounts.models import Membership, Role, Workspace

pytestmark = pytest.mark.django_db


def test_it_gives_a_token_for_right_credentials_only(client, alice):
    ok = client.post("/api/v1/auth/token/", {"username": "alice", "password": "pw-alice"})
    assert ok.status_code == 200
    token = ok.json()["token"]
    bad = client.post("/api/v1/auth/token/", {"username": "alice", "password": "nope"})
    assert bad.status_code in (400, 401)
    assert "detail" in bad.json()
    me = client.get("/api/v1/workspaces/", HTTP_AUTHORIZATION=f"Token {token}")
    assert me.status_code == 200


def test_it_refuses_no_or_bad_credentials_with_401(client, workspace):
    assert client.get("/api/v1/workspaces/").status_code == 401
    bad = client.get("/api/v1/workspaces/", HTTP_AUTHORIZATION="Token mw_nonsense")
    assert bad.status_code == 401
    assert client.get(f"/api/v1/workspaces/{workspace.slug}/").status_code == 401


def test_it_stores_only_a_hash_of_the_token(api):
    from apps.accounts.models import ApiToken

    key = api._credentials["HTTP_AUTHORIZATION"].split()[1]
    stored = ApiToken.objects.get(user=api.user)
    assert key not in (stored.key_hash, stored.prefix)
    assert key.startswith(stored.prefix)


def test_it_lists_only_the_callers_workspaces_paginated(api, other_workspace):
    body = api.get("/api/v1/workspaces/").json()
    assert body["count"] == 1 and body["next"] is None and body["previous"] is None
    assert body["results"][0]["slug"] == "acme"
    assert body["results"][0]["role"] == "owner"


def test_it_creates_a_workspace_with_a_unique_slug_and_owner(api, other_workspace):
    first = api.post("/api/v1/workspaces/", {"name": "Rival"}, format="json")
    assert first.status_code == 201
    assert first.json()["slug"] == "rival-2"
    assert first.json()["role"] == "owner"
    assert api.post("/api/v1/workspaces/", {}, format="json").status_code == 400


def test_it_hides_other_workspaces_with_404(api_as, charlie, workspace):
    client = api_as(charlie)
    for url in (
        f"/api/v1/workspaces/{workspace.slug}/",
        f"/api/v1/workspaces/{workspace.slug}/members/",
    ):
        assert client.get(url).status_code == 404
    assert client.delete(f"/api/v1/workspaces/{workspace.slug}/").status_code == 404
    assert client.get("/api/v1/workspaces/no-such-ws/").status_code == 404
    assert Workspace.objects.filter(pk=workspace.pk).exists()


def test_it_shows_the_workspace_with_the_callers_role(api_as, bob, workspace):
    body = api_as(bob).get(f"/api/v1/workspaces/{workspace.slug}/").json()
    assert body["role"] == "viewer"
    assert set(body) >= {"slug", "name", "role", "created_at"}


def test_only_an_owner_deletes_the_workspace(api_as, dave, bob, alice, workspace):
    url = f"/api/v1/workspaces/{workspace.slug}/"
    assert api_as(bob).delete(url).status_code == 403
    assert api_as(dave).delete(url).status_code == 403
    assert api_as(alice).delete(url).status_code == 204
    assert not Workspace.objects.filter(pk=workspace.pk).exists()


def test_it_lists_members(api, workspace):
    body = api.get(f"/api/v1/workspaces/{workspace.slug}/members/").json()
    assert {(m["username"], m["role"]) for m in body["results"]} == {
        ("alice", "owner"),
        ("bob", "viewer"),
        ("dave", "member"),
    }
    assert body["results"][0]["email"].endswith("@example.com")


def test_an_admin_manages_members(api_as, alice, dave, charlie, workspace):
    Membership.objects.filter(user=dave).update(role=Role.ADMIN)
    client = api_as(dave)
    url = f"/api/v1/workspaces/{workspace.slug}/members/"
    added = client.post(url, {"email": "charlie@example.com", "role": "viewer"}, format="json")
    assert added.status_code == 201, added.content
    assert added.json() == {"username": "charlie", "email": "charlie@example.com", "role": "viewer"}
    changed = client.patch(f"{url}charlie/", {"role": "member"}, format="json")
    assert changed.status_code == 200 and changed.json()["role"] == "member"
    assert client.delete(f"{url}charlie/").status_code == 204
    assert not Membership.objects.filter(user=charlie, workspace=workspace).exists()


def test_an_admin_cannot_touch_the_owner_role(api_as, dave, workspace):
    Membership.objects.filter(user=dave).update(role=Role.ADMIN)
    url = f"/api/v1/workspaces/{workspace.slug}/members/"
    assert api_as(dave).patch(f"{url}alice/", {"role": "viewer"}, format="json").status_code == 403
    assert api_as(dave).delete(f"{url}alice/").status_code == 403


def test_it_refuses_unknown_users_and_bad_roles_with_400(api, workspace):
    url = f"/api/v1/workspaces/{workspace.slug}/members/"
    unknown = api.post(url, {"username": "nobody", "role": "member"}, format="json")
    assert unknown.status_code == 400 and "nobody" in str(unknown.json())
    bad_role = api.post(url, {"username": "charlie", "role": "king"}, format="json")
    assert bad_role.status_code == 400 and "role" in bad_role.json()
    twice = api.post(url, {"username": "bob", "role": "member"}, format="json")
    assert twice.status_code == 400


@pytest.mark.parametrize("who", ["bob", "dave"])
def test_viewers_and_members_cannot_manage_members(request, api_as, who, workspace, charlie):
    client = api_as(request.getfixturevalue(who))
    url = f"/api/v1/workspaces/{workspace.slug}/members/"
    assert client.get(url).status_code == 200
    assert client.post(url, {"username": "charlie"}, format="json").status_code == 403
    assert client.patch(f"{url}bob/", {"role": "admin"}, format="json").status_code == 403
    assert client.delete(f"{url}bob/").status_code == 403


def test_the_last_owner_stays(api, workspace):
    url = f"/api/v1/workspaces/{workspace.slug}/members/alice/"
    removed = api.delete(url)
    assert removed.status_code == 400 and "last owner" in removed.json()["detail"]
    demoted = api.patch(url, {"role": "admin"}, format="json")
    assert demoted.status_code == 400
    assert Membership.objects.get(user__username="alice", workspace=workspace).role == "owner"


def test_a_second_owner_lets_the_first_leave(api, workspace):
    url = f"/api/v1/workspaces/{workspace.slug}/members/"
    assert api.patch(f"{url}dave/", {"role": "owner"}, format="json").status_code == 200
    assert api.delete(f"{url}alice/").status_code == 204


def test_member_urls_of_another_workspace_are_404(api_as, charlie, workspace, other_workspace):
    url = f"/api/v1/workspaces/{other_workspace.slug}/members/charlie/"
    assert api_as(charlie).patch(url, {"role": "owner"}, format="json").status_code == 200
    # alice may not reach a member of charlie's workspace through her own workspace's path
    from apps.accounts.services import token_create

    _, key = token_create(user=workspace.memberships.get(role="owner").user, name="x")
    from rest_framework.test import APIClient

    c = APIClient()
    c.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert c.delete(f"/api/v1/workspaces/{workspace.slug}/members/charlie/").status_code == 404
    assert c.delete(url).status_code == 404


def test_invites_and_removals_are_audited(api, workspace, charlie):
    from apps.core.models import AuditEvent

    url = f"/api/v1/workspaces/{workspace.slug}/members/"
    api.post(url, {"username": "charlie", "role": "viewer"}, format="json")
    api.delete(f"{url}charlie/")
    verbs = list(AuditEvent.objects.filter(workspace=workspace).values_list("verb", "target"))
    assert ("member.invite", "charlie") in verbs and ("member.remove", "charlie") in verbs
