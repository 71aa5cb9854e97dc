"""allauth hooks: every new user gets a personal workspace."""

from __future__ import annotations

from typing import Any

from allauth.account.adapter import DefaultAccountAdapter

from apps.accounts.services import workspace_create_personal


class AccountAdapter(DefaultAccountAdapter):
    def save_user(self, request: Any, user: Any, form: Any, commit: bool = True) -> Any:
        user = super().save_user(request, user, form, commit=commit)
        if commit:
            workspace_create_personal(user=user)
        return user
