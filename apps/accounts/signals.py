"""A password change revokes the user's API tokens, whoever changes it and wherever.

Watched on the user row itself, so the account pages, a password reset, the admin and
`manage.py changepassword` are all covered: someone who learnt the old password and made a
token with it loses that token too.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db.models.signals import post_save, pre_save
from django.dispatch import receiver


@receiver(pre_save, sender=settings.AUTH_USER_MODEL)
def _remember_password_change(sender: Any, instance: Any, update_fields: Any = None,
                              **kwargs: Any) -> None:
    instance._password_changed = False
    if instance.pk is None or (update_fields is not None and "password" not in update_fields):
        return
    old = sender.objects.filter(pk=instance.pk).values_list("password", flat=True).first()
    instance._password_changed = old is not None and old != instance.password


@receiver(post_save, sender=settings.AUTH_USER_MODEL)
def _revoke_tokens_on_password_change(sender: Any, instance: Any, **kwargs: Any) -> None:
    if getattr(instance, "_password_changed", False):
        from apps.accounts.services import token_revoke_all

        token_revoke_all(user=instance)
        instance._password_changed = False
