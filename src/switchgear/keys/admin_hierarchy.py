"""Admin operations on organizations, teams, users and end-users, within the caller's tenancy.

The master key does everything. An org admin sees its organization and what is inside it: it may
make and change teams and users there, and change its organization's name and metadata (not its
limits or models). A team admin sees its team and its users: it may make and change users there
(members and team admins, never org admins) and change its team's name and metadata. Only the
master key makes or deletes organizations and manages end-users. Limits and models granted are
bounded as ``keys.grants`` says.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

from switchgear.core.errors import InvalidRequest, NotFound, PermissionDenied
from switchgear.keys.admin_base import (
    NAME_AND_METADATA,
    AdminContext,
    audit_name,
    check_soft_budget,
    limit_columns,
    limits_of,
    plain_changes,
    storage_errors,
)
from switchgear.keys.grants import ceilings, check_grant, refuse_self_grant
from switchgear.keys.schemas import EndUserInput, OrgInput, TeamInput, UserInput
from switchgear.keys.tenancy import Actor, not_found
from switchgear.keys.views import EndUserView, Listing, OrgView, TeamView, UserView
from switchgear.storage import NotFound as Missing
from switchgear.storage import Team, User
from switchgear.storage import hierarchy as stored

V = TypeVar("V")
_CLEARED: dict[str, Any] = {"models": [], "metadata": {}}


def _page(rows: Sequence[V], limit: int, offset: int) -> Listing[V]:
    more = len(rows) > limit
    return Listing[V](data=list(rows[:limit]), next_offset=offset + limit if more else None)


def _named(body: OrgInput | TeamInput, *, create: bool) -> None:
    if (create or "name" in body.model_fields_set) and body.name is None:
        raise InvalidRequest("name is required", param="name")


class HierarchyAdmin:
    def __init__(self, ctx: AdminContext) -> None:
        self._ctx = ctx
        self._db = ctx.db

    async def _get(self, find: Callable[[Any, str], Awaitable[V]], kind: str, object_id: str) -> V:
        try:
            return await find(self._db, object_id)
        except Missing:
            raise not_found(kind, object_id) from None

    # organizations

    async def create_org(self, actor: Actor, body: OrgInput) -> OrgView:
        actor.only_master("create an organization")
        _named(body, create=True)
        check_soft_budget(body.given())
        assert body.name is not None
        with storage_errors():
            org = await stored.create_org(
                self._db,
                body.name,
                models=body.models,
                metadata=body.metadata,
                limits=limits_of(body.given()),
                actor=audit_name(actor),
                now=self._ctx.clock(),
            )
        await self._ctx.changed("org", org.id)
        return OrgView.of(org)

    async def get_org(self, actor: Actor, org_id: str) -> OrgView:
        if not actor.sees_org(org_id):
            raise not_found("org", org_id)
        return OrgView.of(await self._get(stored.get_org, "org", org_id))

    async def list_orgs(self, actor: Actor, *, limit: int = 100, offset: int = 0) -> Listing[OrgView]:
        if actor.is_master:
            rows = await stored.list_orgs(self._db, limit=limit + 1, offset=offset)
        elif actor.role == "org_admin" and actor.org_id is not None and offset == 0:
            rows = [await self._get(stored.get_org, "org", actor.org_id)]
        else:
            rows = []
        return _page([OrgView.of(o) for o in rows], limit, offset)

    async def update_org(self, actor: Actor, org_id: str, body: OrgInput) -> OrgView:
        if not actor.sees_org(org_id):
            raise not_found("org", org_id)
        current = await self._get(stored.get_org, "org", org_id)
        given = body.given()
        if not actor.is_master:
            refuse_self_grant(given, NAME_AND_METADATA, "your organization")
        _named(body, create=False)
        check_soft_budget(given, current.limits)
        changes = {**limit_columns(given), **plain_changes(given, _CLEARED)}
        with storage_errors():
            org = await stored.update_org(
                self._db, org_id, actor=audit_name(actor), now=self._ctx.clock(), **changes
            )
        await self._ctx.changed("org", org.id)
        return OrgView.of(org)

    async def delete_org(self, actor: Actor, org_id: str) -> None:
        if not actor.sees_org(org_id):
            raise not_found("org", org_id)
        actor.only_master("delete an organization")
        with storage_errors():
            await stored.delete_org(self._db, org_id, actor=audit_name(actor), now=self._ctx.clock())
        await self._ctx.changed("org", org_id)

    # teams

    async def _team(self, actor: Actor, team_id: str) -> Team:
        team = await self._get(stored.get_team, "team", team_id)
        if not actor.sees_team(team):
            raise not_found("team", team_id)
        return team

    async def _team_org(self, actor: Actor, org_id: str | None) -> str | None:
        if actor.role == "team_admin":
            raise PermissionDenied("a team admin cannot make teams or move them")
        if actor.role == "org_admin":
            if org_id not in (None, actor.org_id):
                raise PermissionDenied(
                    "an org admin makes teams in its own organization only", param="org_id"
                )
            return actor.org_id
        if org_id is not None:
            try:
                await stored.get_org(self._db, org_id)
            except Missing:
                raise InvalidRequest(f"org_id: no org {org_id!r}", param="org_id") from None
        return org_id

    async def create_team(self, actor: Actor, body: TeamInput) -> TeamView:
        org_id = await self._team_org(actor, body.org_id)
        _named(body, create=True)
        given = body.given()
        check_soft_budget(given)
        check_grant(given, await ceilings(self._db, actor))
        assert body.name is not None
        with storage_errors():
            team = await stored.create_team(
                self._db,
                body.name,
                org_id=org_id,
                models=body.models,
                metadata=body.metadata,
                limits=limits_of(given),
                actor=audit_name(actor),
                now=self._ctx.clock(),
            )
        await self._ctx.changed("team", team.id)
        return TeamView.of_team(team)

    async def get_team(self, actor: Actor, team_id: str) -> TeamView:
        return TeamView.of_team(await self._team(actor, team_id))

    async def list_teams(
        self, actor: Actor, *, org_id: str | None = None, limit: int = 100, offset: int = 0
    ) -> Listing[TeamView]:
        rows: list[Team] = []
        if actor.role == "team_admin":
            own = await self._team(actor, actor.team_id or "")
            rows = [own] if offset == 0 and org_id in (None, own.org_id) else []
        elif actor.is_master or org_id in (None, actor.org_id):
            scope = org_id if actor.is_master else actor.org_id
            rows = await stored.list_teams(self._db, org_id=scope, limit=limit + 1, offset=offset)
        return _page([TeamView.of_team(t) for t in rows], limit, offset)

    async def update_team(self, actor: Actor, team_id: str, body: TeamInput) -> TeamView:
        current = await self._team(actor, team_id)
        given = body.given()
        if actor.role == "team_admin":
            refuse_self_grant(given, NAME_AND_METADATA, "your team")
        _named(body, create=False)
        check_soft_budget(given, current.limits)
        check_grant(given, await ceilings(self._db, actor))
        changes = {**limit_columns(given), **plain_changes(given, _CLEARED)}
        if "org_id" in given:
            changes["org_id"] = await self._team_org(actor, body.org_id)
        with storage_errors():
            team = await stored.update_team(
                self._db, team_id, actor=audit_name(actor), now=self._ctx.clock(), **changes
            )
        await self._ctx.changed("team", team.id)
        return TeamView.of_team(team)

    async def delete_team(self, actor: Actor, team_id: str) -> None:
        await self._team(actor, team_id)
        if actor.role == "team_admin":
            raise PermissionDenied("a team admin cannot delete its team")
        with storage_errors():
            await stored.delete_team(self._db, team_id, actor=audit_name(actor), now=self._ctx.clock())
        await self._ctx.changed("team", team_id)

    # users

    async def _user(self, actor: Actor, user_id: str) -> User:
        user = await self._get(stored.get_user, "user", user_id)
        if not actor.sees_user(user):
            raise not_found("user", user_id)
        return user

    async def _placement(
        self, actor: Actor, org_id: str | None, team_id: str | None, role: str
    ) -> tuple[str | None, str | None]:
        """A user's organization and team: within the caller's tenancy, and consistent."""
        if role == "org_admin" and actor.role == "team_admin":
            raise PermissionDenied("a team admin cannot make org admins", param="role")
        if not actor.is_master and org_id not in (None, actor.org_id):  # refused before any consistency check
            raise PermissionDenied("users can be placed in your own organization only", param="org_id")
        if actor.role == "team_admin":
            if team_id not in (None, actor.team_id):
                raise PermissionDenied("a team admin places users in its own team only", param="team_id")
            team_id = actor.team_id
        team = None
        if team_id is not None:
            try:
                team = await self._team(actor, team_id)
            except NotFound:
                if actor.is_master:
                    raise InvalidRequest(f"team_id: no team {team_id!r}", param="team_id") from None
                raise PermissionDenied(
                    f"team_id {team_id!r} is not a team you administer", param="team_id"
                ) from None
        if team is not None:
            if org_id not in (None, team.org_id):
                raise InvalidRequest("org_id is not the organization of team_id", param="org_id")
            org_id = team.org_id
        if actor.role == "org_admin":
            if org_id not in (None, actor.org_id):
                raise PermissionDenied(
                    "an org admin places users in its own organization only", param="org_id"
                )
            org_id = actor.org_id
        elif org_id is not None and actor.is_master:
            try:
                await stored.get_org(self._db, org_id)
            except Missing:
                raise InvalidRequest(f"org_id: no org {org_id!r}", param="org_id") from None
        if role == "team_admin" and team_id is None:
            raise InvalidRequest("a team admin needs a team_id", param="team_id")
        if role == "org_admin" and org_id is None:
            raise InvalidRequest("an org admin needs an org_id", param="org_id")
        return org_id, team_id

    async def create_user(self, actor: Actor, body: UserInput) -> UserView:
        given = body.given()
        role = body.role or "member"
        org_id, team_id = await self._placement(actor, body.org_id, body.team_id, role)
        check_soft_budget(given)
        check_grant(given, await ceilings(self._db, actor))
        with storage_errors():
            user = await stored.create_user(
                self._db,
                name=body.name,
                email=body.email,
                org_id=org_id,
                team_id=team_id,
                role=role,
                metadata=body.metadata,
                limits=limits_of(given),
                actor=audit_name(actor),
                now=self._ctx.clock(),
            )
        await self._ctx.changed("user", user.id)
        return UserView.of(user)

    async def get_user(self, actor: Actor, user_id: str) -> UserView:
        return UserView.of(await self._user(actor, user_id))

    async def list_users(
        self,
        actor: Actor,
        *,
        org_id: str | None = None,
        team_id: str | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> Listing[UserView]:
        if actor.role == "team_admin" and team_id not in (None, actor.team_id):
            return _page([], limit, offset)
        if actor.role == "org_admin" and org_id not in (None, actor.org_id):
            return _page([], limit, offset)
        if actor.role == "team_admin":
            team_id = actor.team_id
        elif actor.role == "org_admin":
            org_id = actor.org_id
        rows = await stored.list_users(
            self._db, org_id=org_id, team_id=team_id, limit=limit + 1, offset=offset
        )
        return _page([UserView.of(u) for u in rows], limit, offset)

    async def update_user(self, actor: Actor, user_id: str, body: UserInput) -> UserView:
        current = await self._user(actor, user_id)
        given = body.given()
        if actor.user_id == user_id:
            refuse_self_grant(given, NAME_AND_METADATA | {"email"}, "your own user")
        check_soft_budget(given, current.limits)
        check_grant(given, await ceilings(self._db, actor))
        changes = {**limit_columns(given), **plain_changes(given, {"metadata": {}})}
        if "email" in given:
            changes["email"] = body.email
        if {"org_id", "team_id", "role"} & set(given):
            role = body.role or current.role
            team_id = given.get("team_id", current.team_id)
            org_id = given.get("org_id", None if "team_id" in given else current.org_id)
            changes["org_id"], changes["team_id"] = await self._placement(actor, org_id, team_id, role)
            changes["role"] = role
        with storage_errors():
            user = await stored.update_user(
                self._db, user_id, actor=audit_name(actor), now=self._ctx.clock(), **changes
            )
        await self._ctx.changed("user", user.id)
        return UserView.of(user)

    async def delete_user(self, actor: Actor, user_id: str) -> None:
        await self._user(actor, user_id)
        with storage_errors():
            await stored.delete_user(self._db, user_id, actor=audit_name(actor), now=self._ctx.clock())
        await self._ctx.changed("user", user_id)

    # end-users: identified by the request's `user`, shared by every tenant: the master key's

    async def create_end_user(self, actor: Actor, body: EndUserInput) -> EndUserView:
        actor.only_master("manage end-users")
        if body.id is None:
            raise InvalidRequest("id is required: the value clients send as the request's user", param="id")
        given = body.given()
        check_soft_budget(given)
        with storage_errors():
            end_user = await stored.create_end_user(
                self._db,
                body.id,
                blocked=bool(body.blocked),
                metadata=body.metadata,
                limits=limits_of(given),
                actor=audit_name(actor),
                now=self._ctx.clock(),
            )
        await self._ctx.changed("end_user", end_user.id)
        return EndUserView.of(end_user)

    async def get_end_user(self, actor: Actor, end_user_id: str) -> EndUserView:
        actor.only_master("manage end-users")
        return EndUserView.of(await self._get(stored.get_end_user, "end_user", end_user_id))

    async def list_end_users(
        self, actor: Actor, *, limit: int = 100, offset: int = 0
    ) -> Listing[EndUserView]:
        actor.only_master("manage end-users")
        rows = await stored.list_end_users(self._db, limit=limit + 1, offset=offset)
        return _page([EndUserView.of(e) for e in rows], limit, offset)

    async def update_end_user(self, actor: Actor, end_user_id: str, body: EndUserInput) -> EndUserView:
        actor.only_master("manage end-users")
        if "id" in body.model_fields_set:
            raise InvalidRequest("an end-user's id cannot change", param="id")
        current = await self._get(stored.get_end_user, "end_user", end_user_id)
        given = body.given()
        check_soft_budget(given, current.limits)
        changes = {**limit_columns(given), **plain_changes(given, {"metadata": {}})}
        changes.pop("name", None)
        if "blocked" in given:
            changes["blocked"] = bool(body.blocked)
        with storage_errors():
            end_user = await stored.update_end_user(
                self._db, end_user_id, actor=audit_name(actor), now=self._ctx.clock(), **changes
            )
        await self._ctx.changed("end_user", end_user.id)
        return EndUserView.of(end_user)

    async def delete_end_user(self, actor: Actor, end_user_id: str) -> None:
        actor.only_master("manage end-users")
        with storage_errors():
            await stored.delete_end_user(
                self._db, end_user_id, actor=audit_name(actor), now=self._ctx.clock()
            )
        await self._ctx.changed("end_user", end_user_id)
