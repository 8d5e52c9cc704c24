"""Authentication of client requests (the master key now; virtual keys plug in here later).

Tokens are compared as SHA-256 digests with ``hmac.compare_digest``, so the comparison takes the
same time whatever the token, and the key itself is never kept in a comparable form.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

from switchgear.core.errors import AuthenticationFailed


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling. With only a master key configured there is one principal, the admin."""

    key_id: str
    is_admin: bool = False


ANONYMOUS = Principal("anonymous")
_MASTER = Principal("master", is_admin=True)


class Authenticator:
    def __init__(self, master_key: str | None) -> None:
        self._digest = hashlib.sha256(master_key.encode()).digest() if master_key else None

    @property
    def required(self) -> bool:
        return self._digest is not None

    def authenticate(self, authorization: bytes | None, api_key: bytes | None) -> Principal:
        """Check ``Authorization: Bearer <key>`` or ``x-api-key: <key>``."""
        if self._digest is None:
            return ANONYMOUS
        token = api_key
        if authorization:
            scheme, _, value = authorization.partition(b" ")
            if scheme.lower() == b"bearer":
                token = value.strip()
        if not token:
            raise AuthenticationFailed(
                "missing API key: send 'Authorization: Bearer <key>' (or 'x-api-key: <key>')"
            )
        if not hmac.compare_digest(hashlib.sha256(token).digest(), self._digest):
            raise AuthenticationFailed("invalid API key")
        return _MASTER
