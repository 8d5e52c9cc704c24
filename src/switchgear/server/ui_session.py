"""The admin UI's cookies and CSRF checks. The sessions themselves are kept in the database by the
admin service (``keys.sessions``); the session cookie holds only their random token.

Every form carries a CSRF token: a signed-in session's own (stored with it); the sign-in form,
before any session exists, a double-submit token (a random cookie the form must repeat). The
cookies are ``HttpOnly``, ``SameSite=Strict``, ``Path=/ui``, and ``Secure`` over https (or always,
with ``server.ui_secure_cookies``).
"""

from __future__ import annotations

import hmac

SESSION_COOKIE = "sg_session"
LOGIN_COOKIE = "sg_login"


def csrf_matches(expected: str, given: str | None) -> bool:
    return bool(expected) and bool(given) and hmac.compare_digest(expected.encode(), (given or "").encode())


def cookie(name: str, value: str, *, secure: bool, max_age: int | None) -> str:
    """A ``Set-Cookie`` value; ``max_age`` 0 deletes the cookie."""
    parts = [f"{name}={value}", "Path=/ui", "HttpOnly", "SameSite=Strict"]
    if max_age is not None:
        parts.append(f"Max-Age={max_age}")
    if secure:
        parts.append("Secure")
    return "; ".join(parts)
