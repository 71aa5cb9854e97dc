"""Pages: home, dashboard, workspaces, members and API tokens."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from apps.accounts.forms import MemberAddForm, MemberRoleForm, TokenForm, WorkspaceForm
from apps.accounts.models import Membership, Role
from apps.accounts.selectors import (
    membership_get,
    membership_list,
    token_list,
    workspace_list_for_user,
)
from apps.accounts.services import (
    membership_add,
    membership_remove,
    membership_set_role,
    owner_rule_check,
    token_create,
    token_revoke,
    workspace_create,
    workspace_delete,
    workspace_rename,
)
from apps.accounts.tenancy import WorkspaceRequest, workspace_view


def _errors_text(exc: ValidationError) -> str:
    return " ".join(exc.messages)


def home(request: HttpRequest) -> HttpResponse:
    """Send a signed-in user to their first workspace, anyone else to the login page."""
    if not request.user.is_authenticated:
        return redirect("account_login")
    first = workspace_list_for_user(user=request.user).order_by("created_at").first()
    if first is None:
        return redirect("workspace_create")
    return redirect("workspace_dashboard", first.workspace.slug)


@login_required
@require_http_methods(["GET", "POST"])
def workspace_create_view(request: HttpRequest) -> HttpResponse:
    form = WorkspaceForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        workspace = workspace_create(name=form.cleaned_data["name"], owner=request.user)
        messages.success(request, f"Workspace “{workspace.name}” created.")
        return redirect("workspace_dashboard", workspace.slug)
    return render(request, "accounts/workspace_create.html", {"form": form})


@workspace_view(role=Role.OWNER, write_role=Role.OWNER)
@require_http_methods(["GET", "POST"])
def workspace_settings(request: WorkspaceRequest) -> HttpResponse:
    """Owners rename or delete the workspace."""
    if request.method == "GET":
        return render(
            request,
            "accounts/workspace_settings.html",
            {"form": WorkspaceForm(initial={"name": request.workspace.name})},
        )
    if request.POST.get("action") == "delete":
        if request.POST.get("confirm_slug") != request.workspace.slug:
            messages.error(request, "Type the workspace's slug to confirm deletion.")
            return redirect("workspace_settings", request.workspace.slug)
        name = request.workspace.name
        workspace_delete(workspace=request.workspace)
        messages.success(request, f"Workspace “{name}” and everything in it was deleted.")
        return redirect("home")
    form = WorkspaceForm(request.POST)
    if form.is_valid():
        workspace_rename(workspace=request.workspace, name=form.cleaned_data["name"],
                         actor=request.user)
        messages.success(request, "Workspace renamed.")
    return redirect("workspace_settings", request.workspace.slug)


@workspace_view(write_role=Role.ADMIN)
@require_http_methods(["GET", "POST"])
def members(request: WorkspaceRequest) -> HttpResponse:
    form = MemberAddForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        role = form.cleaned_data["role"]
        owner_rule_check(by=request.membership, role=role)
        try:
            m = membership_add(
                workspace=request.workspace,
                identifier=form.cleaned_data["identifier"],
                role=role,
                actor=request.user,
            )
            messages.success(request, f"{m.user.username} added as {m.role}.")
            return redirect("workspace_members", request.workspace.slug)
        except ValidationError as exc:
            form.add_error("identifier", _errors_text(exc))
    memberships = list(membership_list(workspace=request.workspace))
    owners = [m for m in memberships if m.role == Role.OWNER]
    is_owner = request.membership.role == Role.OWNER
    context = {
        "form": form,
        "memberships": memberships,
        "roles": Role.choices if is_owner else [c for c in Role.choices if c[0] != Role.OWNER],
        "locked": _locked_rows(owners, is_owner=is_owner),
    }
    return render(request, "accounts/members.html", context)


def _locked_rows(owners: list[Membership], *, is_owner: bool) -> set[int]:
    """Return the memberships whose role the page must not offer to change or remove."""
    if not is_owner:
        return {m.pk for m in owners}  # only owners change owners
    # The last owner cannot demote or remove themselves.
    return {owners[0].pk} if len(owners) == 1 else set()


def _member_or_404(request: WorkspaceRequest, username: str) -> Membership:
    try:
        return membership_get(workspace=request.workspace, username=username)
    except Membership.DoesNotExist:
        raise Http404("No such member.") from None


@workspace_view(write_role=Role.ADMIN)
@require_POST
def member_update(request: WorkspaceRequest, username: str) -> HttpResponse:
    target = _member_or_404(request, username)
    form = MemberRoleForm(request.POST)
    if form.is_valid():
        role = form.cleaned_data["role"]
        owner_rule_check(by=request.membership, role=role, target=target)
        try:
            membership_set_role(membership=target, role=role, actor=request.user)
            messages.success(request, f"{username} is now {role}.")
        except ValidationError as exc:
            messages.error(request, _errors_text(exc))
    return redirect("workspace_members", request.workspace.slug)


@workspace_view(write_role=Role.ADMIN)
@require_POST
def member_remove(request: WorkspaceRequest, username: str) -> HttpResponse:
    target = _member_or_404(request, username)
    owner_rule_check(by=request.membership, target=target)
    try:
        membership_remove(membership=target, actor=request.user)
        messages.success(request, f"{username} was removed from the workspace.")
    except ValidationError as exc:
        messages.error(request, _errors_text(exc))
    return redirect("workspace_members", request.workspace.slug)


@login_required
@require_http_methods(["GET", "POST"])
@never_cache  # the page may show a new key: no browser or proxy may keep a copy
def tokens(request: HttpRequest) -> HttpResponse:
    form = TokenForm(request.POST or None)
    new_key = None
    if request.method == "POST" and form.is_valid():
        _, new_key = token_create(user=request.user, name=form.cleaned_data["name"],
                                  expires_in_days=form.cleaned_data["expires_in_days"] or None)
        form = TokenForm()
    context = {"form": form, "tokens": token_list(user=request.user), "new_key": new_key}
    return render(request, "accounts/tokens.html", context)


@login_required
@require_POST
def token_delete(request: HttpRequest, token_id: int) -> HttpResponse:
    token_revoke(user=request.user, token_id=token_id)
    messages.success(request, "Token revoked. Scripts using it will stop working.")
    return redirect("tokens")
