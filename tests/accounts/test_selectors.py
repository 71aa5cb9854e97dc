"""Selectors take the workspace: calling one without it fails loudly."""

import pytest

from apps.accounts import selectors

pytestmark = pytest.mark.django_db


def test_it_fails_when_a_selector_is_called_without_a_workspace():
    with pytest.raises(TypeError):
        selectors.membership_list()  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        selectors.membership_list(workspace=None)


def test_it_scopes_members_to_the_workspace(workspace, other_workspace):
    names = {m.user.username for m in selectors.membership_list(workspace=workspace)}
    assert names == {"alice", "bob", "dave"}
