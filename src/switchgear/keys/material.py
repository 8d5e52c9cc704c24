"""Virtual key material: ``sk-sg-`` and 43 URL-safe characters (256 random bits).

A key is shown once, when it is made; the database keeps only its SHA-256 digest (hex, the lookup)
and a short display prefix. A lookup by digest is an exact match on a uniformly random value, so it
tells an attacker nothing about near misses (no timing side channel on the key itself).
"""

from __future__ import annotations

import hashlib
import secrets

KEY_PREFIX = "sk-sg-"
_SHOWN = len(KEY_PREFIX) + 4  # "sk-sg-" and four characters: enough to tell keys apart in a list


def new_key() -> str:
    """A fresh virtual key (never stored: show it once)."""
    return KEY_PREFIX + secrets.token_urlsafe(32)


def digest(key: str | bytes) -> str:
    """The stored form of a key: SHA-256, hex."""
    return hashlib.sha256(key.encode() if isinstance(key, str) else key).hexdigest()


def display_prefix(key: str) -> str:
    """What lists show of a key, e.g. ``sk-sg-Ab3x…``."""
    return key[:_SHOWN] + "…"


def looks_like_key(token: bytes) -> bool:
    """Whether a bearer token has a virtual key's form (cheap pre-check before a lookup)."""
    return token.startswith(b"sk-sg-") and len(token) == len(KEY_PREFIX) + 43
