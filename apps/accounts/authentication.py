"""DRF authentication with hashed personal tokens: `Authorization: Token <key>`."""

from __future__ import annotations

from typing import Any

from rest_framework import authentication, exceptions

from apps.accounts.services import token_authenticate


class HashedTokenAuthentication(authentication.TokenAuthentication):
    keyword = "Token"

    def authenticate_credentials(self, key: str) -> tuple[Any, Any]:
        token = token_authenticate(key=key)
        if token is None:
            raise exceptions.AuthenticationFailed(
                "Invalid, expired or revoked API token. Tokens are revoked when their owner's "
                "password changes; create a new one.")
        return token.user, token
