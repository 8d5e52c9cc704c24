"""Who is calling the admin API, and what they may see.

Three kinds of caller: the master key (``server.master_key``; everything), an org admin and a team
admin (a virtual key whose user has the role ``org_admin`` / ``team_admin``: the objects inside
that organization / team only). Any other key may call models, never the admin API (403).

An object outside the caller's tenancy is answered exactly as a missing one (the same 404 body), so
ids of other tenants can be neither read nor probed.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from switchgear.core.errors import AuthenticationFailed, NotFound, PermissionDenied
from switchgear.keys.material import digest, looks_like_key
from switchgear.storage import Database, Organization, Team, User, VirtualKey
from switchgear.storage import NotFound as Missing
from switchgear.storage.hierarchy import get_org, get_team, get_user
from switchgear.storage.keys import get_key, get_key_by_hash

Role = Literal["master", "org_admin", "team_admin"]
NOT_ADMIN = "this route needs the master key or an org or team admin's key"


@dataclass(frozen=True, slots=True)
class Actor:
    """The caller of an admin operation; ``label`` is what the audit log records."""

    role: Role
    label: str = "master"
    org_id: str | None = None
    team_id: str | None = None
    key_id: str | None = None
    user_id: str | None = None

    @property
    def is_master(self) -> bool:
        return self.role == "master"

    def sees_org(self, org_id: str | None) -> bool:
        return self.is_master or (self.role == "org_admin" and org_id == self.org_id)

    def sees_team(self, team: Team) -> bool:
        if self.role == "team_admin":
            return team.id == self.team_id
        return self.sees_org(team.org_id)

    def sees_user(self, user: User) -> bool:
        if self.role == "team_admin":
            return user.team_id == self.team_id
        return self.sees_org(user.org_id)

    def sees_key(self, key: VirtualKey) -> bool:
        if self.role == "team_admin":
            return key.team_id == self.team_id
        return self.sees_org(key.org_id)

    def only_master(self, what: str) -> None:
        if not self.is_master:
            raise PermissionDenied(f"only the master key can {what}")


MASTER_ACTOR = Actor("master")
CLI_ACTOR = Actor("master", label="cli")  # the command line works on the database directly


def not_found(kind: str, object_id: str) -> NotFound:
    """The one answer for a missing object and for another tenant's object."""
    del object_id  # named by the request already; not echoed, so every such answer is the same
    return NotFound(f"{kind} not found", code="not_found")


class Gate:
    """Turns a bearer token into an ``Actor``: the master key by a constant-time comparison of
    digests, an admin key by its digest through storage (the admin path, never the request path)."""

    def __init__(self, db: Database, master_key: str | None) -> None:
        self._db = db
        self._master = hashlib.sha256(master_key.encode()).digest() if master_key else None

    async def actor(self, token: bytes | None, now: datetime) -> Actor:
        if not token:
            raise AuthenticationFailed(
                "missing API key: send 'Authorization: Bearer <key>' (or 'x-api-key: <key>')"
            )
        if self._master is not None and hmac.compare_digest(hashlib.sha256(token).digest(), self._master):
            return MASTER_ACTOR
        key = await get_key_by_hash(self._db, digest(token)) if looks_like_key(token) else None
        if key is None or not key.usable(now):
            raise AuthenticationFailed("invalid API key")
        return await self._scoped(key)

    def master_fingerprint(self) -> str | None:
        """A short digest of the master key's digest (None: no master key): what a stored session
        keeps to know it was made with the master key of now."""
        if self._master is None:
            return None
        return hashlib.sha256(b"switchgear-master-fingerprint\0" + self._master).hexdigest()[:32]

    async def actor_of(self, label: str, now: datetime) -> Actor:
        """The actor an earlier ``actor`` answered, by its label, as it stands now."""
        if label == MASTER_ACTOR.label:
            if self._master is None:
                raise AuthenticationFailed("the master key is not set")
            return MASTER_ACTOR
        try:
            key = await get_key(self._db, label)
        except Missing:
            raise AuthenticationFailed("invalid API key") from None
        if not key.usable(now):
            raise AuthenticationFailed("invalid API key")
        return await self._scoped(key)

    async def _scoped(self, key: VirtualKey) -> Actor:
        if key.user_id is None:
            raise PermissionDenied(NOT_ADMIN)
        try:
            user = await get_user(self._db, key.user_id)
            if user.role == "org_admin" and user.org_id is not None:
                org: Organization = await get_org(self._db, user.org_id)
                return Actor("org_admin", key.id, org_id=org.id, key_id=key.id, user_id=user.id)
            if user.role == "team_admin" and user.team_id is not None:
                team = await get_team(self._db, user.team_id)
                return Actor(
                    "team_admin", key.id, org_id=team.org_id, team_id=team.id, key_id=key.id, user_id=user.id
                )
        except Missing:
            pass
        raise PermissionDenied(NOT_ADMIN)
