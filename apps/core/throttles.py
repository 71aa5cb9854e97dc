"""API throttles: per token (or signed-in user) and per anonymous address, rates from settings.

DRF keeps the counts in the default cache: Redis when REDIS_URL is set, so every web process
and machine counts together; without it each process counts on its own. A throttled request
gets `429` with `Retry-After` (DRF's own answer).
"""

from __future__ import annotations

from typing import Any

from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle

from apps.core.security import client_ip


class _Throttle(SimpleRateThrottle):
    def get_rate(self) -> str | None:
        # Read now, not at import as DRF's class attribute is: settings may change (tests).
        rates: dict[str, Any] = api_settings.DEFAULT_THROTTLE_RATES
        return rates.get(self.scope or "")

    def get_ident(self, request: Any) -> str:
        return client_ip(request) or "unknown"


class TokenRateThrottle(_Throttle):
    """Each API token is counted on its own (a session by its user)."""

    scope = "user"

    def get_cache_key(self, request: Any, view: Any) -> str | None:
        if not request.user or not request.user.is_authenticated:
            return None
        token = getattr(request.auth, "pk", None)
        ident = f"token-{token}" if token is not None else f"user-{request.user.pk}"
        return self.cache_format % {"scope": self.scope, "ident": ident}


class AnonymousRateThrottle(_Throttle):
    """Requests without credentials, by client address."""

    scope = "anon"

    def get_cache_key(self, request: Any, view: Any) -> str | None:
        if request.user and request.user.is_authenticated:
            return None
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


class LoginRateThrottle(_Throttle):
    """Token requests (`POST /api/v1/auth/token/`) by client address, whatever their outcome."""

    scope = "login"

    def get_cache_key(self, request: Any, view: Any) -> str | None:
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}
