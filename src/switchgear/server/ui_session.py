"""Sign-in sessions and CSRF tokens of the admin UI.

A session is a cookie the gateway signs (HMAC-SHA256 under a secret derived from the master key):
who signed in (``master`` or an admin key's id — never a key), until when, and a random nonce. The
signature makes it unforgeable and the same on every worker and replica that shares the master key;
the caller it names is checked again through the admin service on every request, so a revoked
admin key ends its sessions at once. Changing the master key ends every session.

Every form carries a CSRF token bound to the session (an HMAC of its nonce); the sign-in form,
before any session exists, a double-submit token (a random cookie the form must repeat). The
cookies are ``HttpOnly``, ``SameSite=Strict``, ``Path=/ui``, and ``Secure`` when served over TLS.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass

import orjson

SESSION_COOKIE = "sg_session"
LOGIN_COOKIE = "sg_login"
SESSION_SECONDS = 8 * 3600
_MAX_COOKIE = 1024


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass(frozen=True, slots=True)
class Session:
    label: str  # Actor.label: "master" or an admin key's id
    expires: int  # Unix seconds
    nonce: str
    csrf: str


class Sessions:
    def __init__(self, master_key: str, *, seconds: int = SESSION_SECONDS) -> None:
        self._secret = hmac.new(master_key.encode(), b"switchgear-ui-session-v1", hashlib.sha256).digest()
        self.seconds = seconds

    def _mac(self, purpose: bytes, data: bytes) -> str:
        return _b64(hmac.new(self._secret, purpose + b"\0" + data, hashlib.sha256).digest())

    def issue(self, label: str, now: float | None = None) -> tuple[str, Session]:
        """A new session for ``label``: the cookie's value and the session."""
        expires = int((now or time.time()) + self.seconds)
        nonce = secrets.token_urlsafe(16)
        body = _b64(orjson.dumps({"a": label, "e": expires, "n": nonce}))
        return f"{body}.{self._mac(b'session', body.encode())}", self._session(label, expires, nonce)

    def _session(self, label: str, expires: int, nonce: str) -> Session:
        return Session(label, expires, nonce, self._mac(b"csrf", nonce.encode()))

    def read(self, cookie: str | None, now: float | None = None) -> Session | None:
        """The session a cookie carries, or None if it is missing, forged or expired."""
        if not cookie or len(cookie) > _MAX_COOKIE or cookie.count(".") != 1:
            return None
        body, mac = cookie.split(".")
        if not hmac.compare_digest(mac, self._mac(b"session", body.encode())):
            return None
        try:
            fields = orjson.loads(_unb64(body))
            label, expires, nonce = fields["a"], fields["e"], fields["n"]
        except (ValueError, KeyError, TypeError):
            return None
        if not (isinstance(label, str) and isinstance(expires, int) and isinstance(nonce, str)):
            return None
        if expires <= (now or time.time()):
            return None
        return self._session(label, expires, nonce)


def csrf_matches(expected: str, given: str | None) -> bool:
    return bool(given) and hmac.compare_digest(expected.encode(), (given or "").encode())


def cookie(name: str, value: str, *, secure: bool, max_age: int | None) -> str:
    """A ``Set-Cookie`` value; ``max_age`` 0 deletes the cookie."""
    parts = [f"{name}={value}", "Path=/ui", "HttpOnly", "SameSite=Strict"]
    if max_age is not None:
        parts.append(f"Max-Age={max_age}")
    if secure:
        parts.append("Secure")
    return "; ".join(parts)
