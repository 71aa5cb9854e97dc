"""allauth hooks: every new user gets a personal workspace; e-mailed links use SITE_URL."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from allauth.account.adapter import DefaultAccountAdapter
from django.conf import settings

from apps.accounts.services import workspace_create_personal


def site_url(url: str) -> str:
    """Put `url` (built from the request) on SITE_URL's scheme and host, when SITE_URL is set.

    A password-reset link built from the request's Host header would send the victim to
    whatever host the attacker's request named; the configured site address cannot be forged.
    """
    if not settings.SITE_URL or not url.startswith(("http://", "https://")):
        return url
    site = urlsplit(settings.SITE_URL)
    parts = urlsplit(url)
    return urlunsplit((site.scheme, site.netloc, site.path.rstrip("/") + parts.path,
                       parts.query, parts.fragment))


class AccountAdapter(DefaultAccountAdapter):
    def save_user(self, request: Any, user: Any, form: Any, commit: bool = True) -> Any:
        user = super().save_user(request, user, form, commit=commit)
        if commit:
            workspace_create_personal(user=user)
        return user

    def send_mail(self, template_prefix: str, email: str, context: dict[str, Any]) -> None:
        """Every link in an e-mail (reset, confirmation, sign-up) points at SITE_URL."""
        context = {key: site_url(value) if isinstance(value, str) and key.endswith("_url")
                   else value for key, value in context.items()}
        if settings.SITE_URL:  # "Hello from <host>" names the site, not the request's Host
            host = urlsplit(settings.SITE_URL).netloc
            context["current_site"] = SimpleNamespace(name=host, domain=host)
        super().send_mail(template_prefix, email, context)
