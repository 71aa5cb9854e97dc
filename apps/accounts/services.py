"""Writes for users, workspaces, memberships and tokens."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify

from apps.accounts.models import ApiToken, Membership, Role, Workspace
from apps.accounts.tokens import token_generate, token_hash
from apps.core.files import storage_delete_prefix, workspace_prefix
from apps.core.models import Verb
from apps.core.services import audit_record

User = get_user_model()


def _unique_slug(name: str) -> str:
    base = slugify(name)[:50] or "workspace"
    slug, n = base, 2
    while Workspace.objects.filter(slug=slug).exists():
        slug = f"{base}-{n}"
        n += 1
    return slug


@transaction.atomic
def workspace_create(*, name: str, owner: Any) -> Workspace:
    """Create a workspace with a unique slug derived from `name`; `owner` becomes its owner."""
    name = name.strip()
    if not name:
        raise ValidationError({"name": "A workspace needs a name."})
    workspace = Workspace.objects.create(name=name[:100], slug=_unique_slug(name))
    Membership.objects.create(user=owner, workspace=workspace, role=Role.OWNER)
    return workspace


def workspace_create_personal(*, user: Any) -> Workspace:
    """Create the personal workspace every new user gets."""
    return workspace_create(name=f"{user.username}'s workspace", owner=user)


def workspace_delete(*, workspace: Workspace) -> None:
    """Delete a workspace, everything in it, and its stored files."""
    prefix = workspace_prefix(workspace)
    workspace.delete()
    transaction.on_commit(lambda: storage_delete_prefix(prefix))


def _user_find(identifier: str) -> Any:
    """Find the user a workspace admin means: by username, or by a *verified* e-mail address.

    Something with an "@" is only ever an e-mail address, matched against addresses their
    owners have confirmed, never against usernames (anyone may register the username
    "alice@corp.example") or unconfirmed addresses. The answer is the same for no account and
    for an account whose address is not confirmed.
    """
    from allauth.account.models import EmailAddress

    identifier = identifier.strip()
    if "@" in identifier:
        found = list(User.objects.filter(pk__in=EmailAddress.objects.filter(
            email__iexact=identifier, verified=True).values("user"))[:2])
    else:
        found = list(User.objects.filter(username__iexact=identifier)[:2])
    if len(found) != 1:
        raise ValidationError({"username": (
            f"No user has the username or confirmed e-mail address “{identifier}”. "
            "People add an address in their account settings and confirm it from the e-mail.")})
    return found[0]


def membership_add(
    *, workspace: Workspace, identifier: str, role: str, actor: Any = None
) -> Membership:
    """Add an existing user (by username or e-mail) to the workspace with `role`."""
    user = _user_find(identifier)
    if Membership.objects.filter(workspace=workspace, user=user).exists():
        raise ValidationError({"username": f"{user.username} is already a member."})
    membership = Membership.objects.create(workspace=workspace, user=user, role=Role(role))
    audit_record(
        workspace=workspace,
        actor=actor,
        verb=Verb.MEMBER_INVITE,
        target=user.username,
        detail={"role": membership.role},
    )
    return membership


def owner_rule_check(*, by: Membership, role: str | None = None,
                     target: Membership | None = None) -> None:
    """Only owners may grant the owner role, or change or remove an owner's membership.

    Raises django's PermissionDenied (a 403 on the pages and in the API)."""
    touches_owner = role == Role.OWNER or (target is not None and target.role == Role.OWNER)
    if touches_owner and not by.has_role(Role.OWNER):
        from django.core.exceptions import PermissionDenied

        raise PermissionDenied("Only an owner can grant, change or remove the owner role.")


def _owners_left(workspace: Workspace, excluding: Membership) -> int:
    return workspace.memberships.filter(role=Role.OWNER).exclude(pk=excluding.pk).count()


@transaction.atomic
def membership_set_role(*, membership: Membership, role: str, actor: Any = None) -> Membership:
    """Change a member's role (recorded in the audit log); the last owner cannot be demoted."""
    role = Role(role)
    locked = Membership.objects.select_for_update().get(pk=membership.pk)
    if locked.role == Role.OWNER and role != Role.OWNER:
        if _owners_left(locked.workspace, locked) == 0:
            raise ValidationError({"role": "The last owner cannot be demoted."})
    before = locked.role
    locked.role = role
    locked.save(update_fields=["role"])
    if before != role:
        audit_record(workspace=locked.workspace, actor=actor, verb=Verb.MEMBER_ROLE,
                     target=locked.user.username, detail={"from": before, "to": str(role)})
    return locked


def workspace_rename(*, workspace: Workspace, name: str, actor: Any = None) -> Workspace:
    """Give the workspace a new display name (its slug, and so its URLs, stay)."""
    name = name.strip()[:100]
    if not name:
        raise ValidationError({"name": "Give the workspace a name."})
    before = workspace.name
    if name != before:
        workspace.name = name
        workspace.save(update_fields=["name"])
        audit_record(workspace=workspace, actor=actor, verb=Verb.WORKSPACE_RENAME,
                     target=name, detail={"from": before})
    return workspace


@transaction.atomic
def membership_remove(*, membership: Membership, actor: Any = None) -> None:
    """Remove a member; the last owner cannot be removed."""
    locked = Membership.objects.select_for_update().get(pk=membership.pk)
    if locked.role == Role.OWNER and _owners_left(locked.workspace, locked) == 0:
        raise ValidationError(
            {"detail": "The last owner cannot be removed. Make someone else owner first."}
        )
    audit_record(workspace=locked.workspace, actor=actor, verb=Verb.MEMBER_REMOVE,
                 target=locked.user.username)
    locked.delete()


def token_create(*, user: Any, name: str, expires_in_days: int | None = None
                 ) -> tuple[ApiToken, str]:
    """Create an API token (expiring after `expires_in_days`, or never); return it with the
    plain key, which is never stored."""
    key = token_generate()
    expires_at = (timezone.now() + timedelta(days=expires_in_days)
                  if expires_in_days else None)
    token = ApiToken.objects.create(
        user=user,
        name=(name.strip() or "API token")[:100],
        prefix=key[:10],
        key_hash=token_hash(key),
        expires_at=expires_at,
    )
    return token, key


def token_revoke_all(*, user: Any) -> int:
    """Delete every token of `user` (on a password change); return how many there were."""
    deleted, _ = ApiToken.objects.filter(user=user).delete()
    return deleted


def token_revoke(*, user: Any, token_id: int) -> None:
    """Delete one of the user's tokens."""
    ApiToken.objects.filter(user=user, pk=token_id).delete()


def token_authenticate(*, key: str) -> ApiToken | None:
    """Return the token for `key` (recording its use), or None."""
    token = ApiToken.objects.select_related("user").filter(key_hash=token_hash(key)).first()
    if token is None or not token.user.is_active or token.is_expired:
        return None
    now = timezone.now()
    # Write at most once a minute per token: a busy client should not turn reads into writes.
    if token.last_used_at is None or (now - token.last_used_at).total_seconds() > 60:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token
