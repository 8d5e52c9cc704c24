"""Authentication of client requests: the master key now; virtual keys resolve to principals later.

Tokens are compared as SHA-256 digests with ``hmac.compare_digest``, so the comparison takes the
same time whatever the token, and the key itself is never kept in a comparable form.
"""

from __future__ import annotations

import hashlib
import hmac

from switchgear.core.errors import AuthenticationFailed
from switchgear.stages.context import ANONYMOUS, MASTER, Principal


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
        return MASTER
