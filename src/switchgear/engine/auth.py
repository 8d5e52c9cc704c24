"""Authentication of client requests: the master key, and virtual keys from the key directory.

A token is hashed once (SHA-256). The master key is compared as a digest with
``hmac.compare_digest``, so the comparison takes the same time whatever the token; a virtual key is
found by its digest in the in-memory directory (no database on the request path), and a digest
tells nothing about near misses. Unknown, revoked and expired keys get a 401 whose message never
contains the key; a rotated key keeps working until its grace deadline.
"""

from __future__ import annotations

import hashlib
import hmac
from time import time

from switchgear.core.errors import AuthenticationFailed
from switchgear.keys.directory import KeyDirectory
from switchgear.stages.context import ANONYMOUS, MASTER, Principal


class Authenticator:
    def __init__(self, master_key: str | None, directory: KeyDirectory | None = None) -> None:
        self._digest = hashlib.sha256(master_key.encode()).digest() if master_key else None
        self._directory = directory

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
        digest = hashlib.sha256(token).digest()
        if hmac.compare_digest(digest, self._digest):
            return MASTER
        if self._directory is not None:
            entry = self._directory.lookup(digest)
            if entry is not None:
                return entry.check(time())
        raise AuthenticationFailed("invalid API key")
