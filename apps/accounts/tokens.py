"""Key generation and hashing for personal API tokens."""

from __future__ import annotations

import hashlib
import secrets

KEY_PREFIX = "mw_"


def token_generate() -> str:
    """Return a new random API key."""
    return KEY_PREFIX + secrets.token_urlsafe(32)


def token_hash(key: str) -> str:
    """Return the SHA-256 hex digest stored for `key`.

    A plain hash (not a slow password hash) is right here: keys are 256 random bits, so they
    cannot be brute-forced, and every API call must verify one quickly.
    """
    return hashlib.sha256(key.encode()).hexdigest()
