"""The audit log page: admins and owners read who did what, per workspace."""

import pytest

from apps.accounts.models import Membership, Role
from apps.core.models import AuditEvent
from apps.core.services import audit_record

pytestmark = pytest.mark.django_db

URL = "/w/acme/audit/"


@pytest.fixture
def events(workspace, other_workspace, alice, dave, charlie):
    audit_record(workspace=workspace, actor=alice, verb="dataset.upload", target="iris.csv")
    audit_record(
        workspace=workspace,
        actor=dave,
        verb="experiment.run",
        target="Experiment 7",
        detail={"algorithm": "random_forest"},
    )
    audit_record(workspace=workspace, actor=dave, verb="model.download", target="iris v1")
    audit_record(
        workspace=other_workspace, actor=charlie, verb="dataset.upload", target="secret.csv"
    )


def test_the_owner_sees_the_workspace_events_newest_first(client_as, alice, events):
    response = client_as(alice).get(URL)
    assert response.status_code == 200
    html = response.content.decode()
    assert "iris.csv" in html and "Experiment 7" in html and "random_forest" in html
    assert "secret.csv" not in html  # another workspace's events never leak
    assert html.index("iris v1") < html.index("Experiment 7") < html.index("iris.csv")
    assert "<title>Audit log · Acme · Modelworks</title>" in html


def test_an_admin_may_read_it(client_as, dave, events):
    Membership.objects.filter(user=dave).update(role=Role.ADMIN)
    assert client_as(dave).get(URL).status_code == 200


def test_members_and_viewers_get_403(client_as, dave, bob, events):
    assert client_as(dave).get(URL).status_code == 403
    assert client_as(bob).get(URL).status_code == 403


def test_outsiders_get_404(client_as, charlie, events):
    assert client_as(charlie).get(URL).status_code == 404


def test_anonymous_visitors_are_sent_to_login(client, events):
    response = client.get(URL)
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_it_filters_by_verb(client_as, alice, events):
    html = client_as(alice).get(URL, {"verb": "experiment.run"}).content.decode()
    assert "Experiment 7" in html
    assert "iris.csv" not in html and "iris v1" not in html
    assert '<option value="experiment.run" selected>' in html


def test_the_filter_offers_known_and_recorded_verbs(client_as, alice, workspace, events):
    audit_record(workspace=workspace, actor=alice, verb="workspace.rename", target="Acme")
    html = client_as(alice).get(URL).content.decode()
    for verb in ("member.invite", "experiment.cancel", "dataset.delete", "workspace.rename"):
        assert f'<option value="{verb}"' in html


def test_an_unknown_verb_shows_an_empty_state(client_as, alice, events):
    html = client_as(alice).get(URL, {"verb": "nothing.here"}).content.decode()
    assert "No “nothing.here” events yet" in html


def test_an_empty_log_explains_itself(client_as, alice, workspace):
    html = client_as(alice).get(URL).content.decode()
    assert "Nothing recorded yet" in html


def test_it_paginates_and_keeps_the_filter(client_as, alice, workspace):
    AuditEvent.objects.bulk_create(
        AuditEvent(workspace=workspace, actor=alice, verb="model.download", target=f"m{i}")
        for i in range(60)
    )
    audit_record(workspace=workspace, actor=alice, verb="dataset.upload", target="other.csv")
    c = client_as(alice)
    first = c.get(URL, {"verb": "model.download"}).content.decode()
    assert first.count('data-verb="model.download"') == 50
    assert "Page 1 of 2" in first and "?verb=model.download&amp;page=2" in first
    second = c.get(URL, {"verb": "model.download", "page": 2}).content.decode()
    assert second.count('data-verb="model.download"') == 10
    assert "other.csv" not in second
    # A page past the end shows the last page rather than an error.
    assert c.get(URL, {"page": 99}).status_code == 200


def test_a_deleted_actor_still_shows_the_event(client_as, alice, dave, workspace):
    audit_record(workspace=workspace, actor=dave, verb="dataset.delete", target="old.csv")
    dave.delete()
    html = client_as(alice).get(URL).content.decode()
    assert "old.csv" in html and "(deleted user or system)" in html


def test_writes_are_not_allowed(client_as, alice, events):
    assert client_as(alice).post(URL).status_code == 405


def test_role_changes_and_renames_are_audited_and_every_verb_is_in_the_filter(
    client_as, alice, bob, workspace
):
    from apps.core.models import AuditEvent, Verb

    client = client_as(alice)
    client.post(f"/w/{workspace.slug}/members/bob/role/", {"role": "member"})
    client.post(f"/w/{workspace.slug}/settings/", {"name": "Acme Labs"})
    events = {e.verb: e for e in AuditEvent.objects.filter(workspace=workspace)}
    assert events["member.role"].detail == {"from": "viewer", "to": "member"}
    assert events["member.role"].target == "bob"
    assert events["workspace.rename"].detail == {"from": "Acme"}
    page = client.get(f"/w/{workspace.slug}/audit/").content.decode()
    for verb in Verb.values:  # the filter offers every verb, recorded yet or not
        assert f'<option value="{verb}"' in page


def test_an_unknown_verb_is_refused(workspace, alice):
    import pytest

    from apps.core.services import audit_record

    with pytest.raises(ValueError, match="not an audit Verb"):
        audit_record(workspace=workspace, actor=alice, verb="dataset.uploaded")
