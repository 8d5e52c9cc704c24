"""The admin UI's sign-in sessions, kept in the database so that every worker and replica knows
them: signing in with the master key or an admin key makes one, signing out deletes it everywhere.

The cookie holds a random 256-bit token; the database keeps its SHA-256 digest, who signed in (an
admin key's id, or ``master:`` and a fingerprint of the master key — never a key) and a random form
(CSRF) token. Each read checks the caller again: a revoked admin key ends its sessions at once, and
a changed master key every session made with the old one.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from switchgear.core.errors import GatewayError
from switchgear.keys.admin_base import AdminContext
from switchgear.keys.tenancy import MASTER_ACTOR, Actor, Gate
from switchgear.storage.rows import UiSession
from switchgear.storage.sessions import create_session, delete_session, get_session

__all__ = ["SESSION_TTL", "SessionAdmin", "UiSession"]  # UiSession: what the server sees of one

SESSION_TTL = timedelta(hours=8)
_MAX_TOKEN = 128
_MASTER = "master:"


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class SessionAdmin:
    def __init__(self, ctx: AdminContext, gate: Gate, ttl: timedelta = SESSION_TTL) -> None:
        self._ctx = ctx
        self._gate = gate
        self.ttl = ttl

    async def sign_in(self, key: bytes | None) -> tuple[str, UiSession]:
        """A new session for the caller ``key`` is (refused as the admin API refuses it): the token
        for the cookie, and the session."""
        now = self._ctx.clock()
        actor = await self._gate.actor(key, now)
        token = secrets.token_urlsafe(32)
        who = f"{_MASTER}{self._gate.master_fingerprint()}" if actor.is_master else actor.label
        session = UiSession(_digest(token), who, secrets.token_urlsafe(32), now, now + self.ttl)
        await create_session(self._ctx.db, session)
        return token, session

    async def read(self, token: str | None) -> tuple[Actor, UiSession] | None:
        """Who the session of ``token`` is now, or None: no such session, expired or signed out, or
        its key revoked or no longer an admin's since."""
        if not token or len(token) > _MAX_TOKEN:
            return None
        now = self._ctx.clock()
        session = await get_session(self._ctx.db, _digest(token), now)
        if session is None:
            return None
        if session.actor.startswith(_MASTER):
            if session.actor != f"{_MASTER}{self._gate.master_fingerprint()}":
                return None  # made with another master key
            return MASTER_ACTOR, session
        try:
            actor = await self._gate.actor_of(session.actor, now)
        except GatewayError:
            return None
        return actor, session

    async def sign_out(self, token: str) -> None:
        await delete_session(self._ctx.db, _digest(token))
