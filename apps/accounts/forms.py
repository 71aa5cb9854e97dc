"""Forms for the workspace, members and token pages."""

from django import forms

from apps.accounts.models import Role


class WorkspaceForm(forms.Form):
    name = forms.CharField(max_length=100, label="Workspace name")


class MemberAddForm(forms.Form):
    identifier = forms.CharField(max_length=254, label="Username or e-mail")
    role = forms.ChoiceField(choices=Role.choices, initial=Role.MEMBER)


class MemberRoleForm(forms.Form):
    role = forms.ChoiceField(choices=Role.choices)


class TokenForm(forms.Form):
    name = forms.CharField(max_length=100, label="Token name", initial="My script")
    expires_in_days = forms.TypedChoiceField(
        label="Expires", coerce=int, initial=90, required=False,
        empty_value=90,  # type: ignore[arg-type]  # stubs: str only; Django takes any value
        choices=[(30, "in 30 days"), (90, "in 90 days"), (365, "in a year"), (0, "never")])
