"""The admin service behind the admin API and the ``switchgear keys`` / ``spend`` commands.

``AdminService(db, feed, master_key=...)`` holds the operations on virtual keys (here), on the
hierarchy (``admin_hierarchy``) and on spend, the request log, budgets and the audit log
(``admin_reports``). Every operation takes the ``Actor`` calling it (``keys.tenancy``) and answers
only within its tenancy; every change is written to the audit log with that actor, in the same
transaction, and then published on the change feed so that gateways read the object again.

A key is shown once, when it is created or rotated; storage keeps its SHA-256 digest and a display
prefix only.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from switchgear.core.errors import InvalidRequest, PermissionDenied
from switchgear.keys.admin_base import (
    NAME_AND_METADATA,
    AdminContext,
    audit_name,
    check_soft_budget,
    conflict,
    limit_columns,
    limits_of,
    plain_changes,
    storage_errors,
)
from switchgear.keys.admin_hierarchy import HierarchyAdmin
from switchgear.keys.admin_reports import ReportAdmin
from switchgear.keys.changes import ChangeFeed
from switchgear.keys.dashboard import DashboardAdmin
from switchgear.keys.grants import ceilings, check_grant, refuse_self_grant
from switchgear.keys.material import digest, display_prefix, new_key
from switchgear.keys.schemas import KeyInput, KeyRotate
from switchgear.keys.sessions import SessionAdmin
from switchgear.keys.tenancy import Actor, Gate, not_found
from switchgear.keys.views import KeyCreated, KeyView, Listing
from switchgear.storage import Database, Team, User, VirtualKey
from switchgear.storage import NotFound as Missing
from switchgear.storage import keys as stored
from switchgear.storage.hierarchy import get_org, get_team, get_user
from switchgear.storage.reports import spend_report

_EVER = (date(1970, 1, 1), date(9999, 12, 31))
_OWNERS = ("org_id", "team_id", "user_id")


class KeyAdmin:
    def __init__(self, ctx: AdminContext) -> None:
        self._ctx = ctx
        self._db = ctx.db

    async def create(self, actor: Actor, body: KeyInput) -> KeyCreated:
        given = body.given()
        now = self._ctx.clock()
        if body.expires_at is not None and body.expires_at <= now:
            raise InvalidRequest("expires_at is in the past", param="expires_at")
        check_soft_budget(given)
        check_grant(given, await ceilings(self._db, actor))
        org_id, team_id, user_id = await self._owners(actor, body.org_id, body.team_id, body.user_id)
        secret = new_key()
        with storage_errors():
            key = await stored.create_key(
                self._db,
                key_hash=digest(secret),
                key_prefix=display_prefix(secret),
                name=body.name,
                org_id=org_id,
                team_id=team_id,
                user_id=user_id,
                models=body.models,
                metadata=body.metadata,
                tags=body.tags,
                limits=limits_of(given, parallel=True),
                expires_at=body.expires_at,
                actor=audit_name(actor),
                now=now,
            )
        await self._ctx.changed("key", key.id)
        return KeyCreated(**KeyView.of(key, now).model_dump(), key=secret)

    async def get(self, actor: Actor, key_id: str) -> KeyView:
        key = await self._visible(actor, key_id)
        totals = await spend_report(self._db, "key", *_EVER, key_id=key.id)
        return KeyView.of(key, self._ctx.clock(), sum(t.cost_nanousd for t in totals))

    async def list(
        self,
        actor: Actor,
        *,
        org_id: str | None = None,
        team_id: str | None = None,
        user_id: str | None = None,
        include_revoked: bool = False,
        limit: int = 100,
        offset: int = 0,
    ) -> Listing[KeyView]:
        if actor.role == "team_admin":
            if team_id not in (None, actor.team_id) or org_id not in (None, actor.org_id):
                return Listing[KeyView](data=[], next_offset=None)
            team_id = actor.team_id
        elif actor.role == "org_admin":
            if org_id not in (None, actor.org_id):
                return Listing[KeyView](data=[], next_offset=None)
            org_id = actor.org_id
        rows = await stored.list_keys(
            self._db,
            org_id=org_id,
            team_id=team_id,
            user_id=user_id,
            include_revoked=include_revoked,
            limit=limit + 1,
            offset=offset,
        )
        now = self._ctx.clock()
        more = len(rows) > limit
        data = [KeyView.of(k, now) for k in rows[:limit]]
        return Listing[KeyView](data=data, next_offset=offset + limit if more else None)

    async def update(self, actor: Actor, key_id: str, body: KeyInput) -> KeyView:
        current = await self._visible(actor, key_id)
        given = body.given()
        if actor.key_id == key_id:
            refuse_self_grant(given, NAME_AND_METADATA, "the key you are using")
        check_soft_budget(given, current.limits)
        check_grant(given, await ceilings(self._db, actor))
        changes: dict[str, Any] = limit_columns(given)
        changes.update(plain_changes(given, cleared={"models": [], "tags": [], "metadata": {}}))
        if "expires_at" in given:
            changes["expires_at"] = given["expires_at"]
        if set(_OWNERS) & set(given):
            changes.update(zip(_OWNERS, await self._moved(actor, current, given), strict=True))
        now = self._ctx.clock()
        with storage_errors():
            key = await stored.update_key(self._db, key_id, actor=audit_name(actor), now=now, **changes)
        await self._ctx.changed("key", key.id)
        return KeyView.of(key, now)

    async def revoke(self, actor: Actor, key_id: str) -> KeyView:
        await self._visible(actor, key_id)
        now = self._ctx.clock()
        with storage_errors():
            key = await stored.revoke_key(self._db, key_id, actor=audit_name(actor), now=now)
        await self._ctx.changed("key", key.id)
        return KeyView.of(key, now)

    async def rotate(self, actor: Actor, key_id: str, body: KeyRotate) -> KeyCreated:
        current = await self._visible(actor, key_id)
        now = self._ctx.clock()
        if not current.usable(now):
            raise conflict(f"key {key_id!r} is revoked or expired: create a new key instead")
        secret = new_key()
        with storage_errors():
            key = await stored.rotate_key(
                self._db,
                key_id,
                key_hash=digest(secret),
                key_prefix=display_prefix(secret),
                grace=timedelta(seconds=body.grace_period),
                actor=audit_name(actor),
                now=now,
            )
        await self._ctx.changed("key", key_id)
        await self._ctx.changed("key", key.id)
        return KeyCreated(**KeyView.of(key, now).model_dump(), key=secret)

    async def _visible(self, actor: Actor, key_id: str) -> VirtualKey:
        try:
            key = await stored.get_key(self._db, key_id)
        except Missing:
            raise not_found("key", key_id) from None
        if not actor.sees_key(key):
            raise not_found("key", key_id)
        return key

    async def _moved(self, actor: Actor, current: VirtualKey, given: dict[str, Any]) -> tuple[Any, ...]:
        user_id = given.get("user_id", current.user_id)
        team_id = given.get("team_id", None if "user_id" in given else current.team_id)
        return await self._owners(actor, given.get("org_id"), team_id, user_id)

    async def _owners(
        self, actor: Actor, org_id: str | None, team_id: str | None, user_id: str | None
    ) -> tuple[str | None, str | None, str | None]:
        """The key's organization, team and user, each within the caller's tenancy and consistent
        with each other (a user's team and organization are the key's unless said otherwise)."""
        if not actor.is_master and org_id not in (None, actor.org_id):  # another tenant's: 403 first
            raise PermissionDenied("you can make keys only in your own organization", param="org_id")
        if team_id is not None:
            await self._team(actor, team_id)  # another tenant's team: refused before anything else
        user = await self._user(actor, user_id) if user_id is not None else None
        if user is not None:
            if team_id is None:
                team_id = user.team_id
            elif user.team_id is not None and user.team_id != team_id:
                raise InvalidRequest(f"user {user.id!r} is in another team than team_id", param="team_id")
        if actor.role == "team_admin":
            team_id = team_id or actor.team_id
            if team_id != actor.team_id:
                raise PermissionDenied("a team admin makes keys in its own team only", param="team_id")
        team = await self._team(actor, team_id) if team_id is not None else None
        derived = team.org_id if team is not None else user.org_id if user is not None else None
        if len({o.org_id for o in (user, team) if o is not None and o.org_id is not None}) > 1:
            raise InvalidRequest(f"user {user_id!r} is in another organization than team_id", param="user_id")
        if actor.role == "org_admin":
            derived = derived or actor.org_id
        if org_id is not None and derived is not None and org_id != derived:
            raise InvalidRequest("org_id is not the organization of the key's team or user", param="org_id")
        org_id = org_id or derived
        if org_id is not None and not actor.is_master and not (team is not None or actor.sees_org(org_id)):
            raise PermissionDenied("you can make keys only in your own organization", param="org_id")
        if org_id is not None and actor.is_master:
            await self._exists(get_org, org_id, "org_id")
        return org_id, team_id, user_id

    async def _user(self, actor: Actor, user_id: str) -> User:
        user: User = await self._exists(get_user, user_id, "user_id", actor)
        if not actor.sees_user(user):
            raise PermissionDenied(f"user_id {user_id!r} is not a user you administer", param="user_id")
        return user

    async def _team(self, actor: Actor, team_id: str) -> Team:
        team: Team = await self._exists(get_team, team_id, "team_id", actor)
        if not actor.sees_team(team):
            raise PermissionDenied(f"team_id {team_id!r} is not a team you administer", param="team_id")
        return team

    async def _exists(self, find: Any, object_id: str, field: str, actor: Actor | None = None) -> Any:
        try:
            return await find(self._db, object_id)
        except Missing:
            if actor is not None and not actor.is_master:  # as for another tenant's: no probing
                noun = field.removesuffix("_id")
                raise PermissionDenied(
                    f"{field} {object_id!r} is not a {noun} you administer", param=field
                ) from None
            raise InvalidRequest(
                f"{field}: no {field.removesuffix('_id')} {object_id!r}", param=field
            ) from None


class AdminService:
    """Everything the admin API and the CLI do, over one database and one change feed."""

    def __init__(self, db: Database, feed: ChangeFeed, *, master_key: str | None = None) -> None:
        ctx = AdminContext(db, feed)
        self.context = ctx
        self.gate = Gate(db, master_key)
        self.keys = KeyAdmin(ctx)
        self.hierarchy = HierarchyAdmin(ctx)
        self.reports = ReportAdmin(ctx)
        self.dashboard = DashboardAdmin(ctx, self.reports)
        self.sessions = SessionAdmin(ctx, self.gate)

    async def actor(self, token: bytes | None) -> Actor:
        return await self.gate.actor(token, self.context.clock())
