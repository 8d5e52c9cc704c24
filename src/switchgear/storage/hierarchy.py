"""Organizations, teams, users and end-users: typed create / get / list / update / delete.

An ``actor`` (a key id, or "master") writes an audit row in the same transaction; None writes
none. Deleting an object that still owns something (a team with keys) raises ``Conflict``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, TypedDict, Unpack

from switchgear.storage import crud
from switchgear.storage.database import Database
from switchgear.storage.errors import NotFound
from switchgear.storage.rows import NO_LIMITS, EndUser, Limits, Organization, Team, User, new_id, utcnow
from switchgear.storage.tables import end_users, organizations, teams, users


class LimitChanges(TypedDict, total=False):
    max_budget_microusd: int | None
    soft_budget_microusd: int | None
    budget_duration: str | None
    rpm_limit: int | None
    tpm_limit: int | None


class OrgChanges(LimitChanges, total=False):
    name: str
    models: list[str]
    metadata: dict[str, Any]


class TeamChanges(OrgChanges, total=False):
    org_id: str | None


class UserChanges(LimitChanges, total=False):
    org_id: str | None
    team_id: str | None
    email: str | None
    name: str | None
    role: str
    metadata: dict[str, Any]


class EndUserChanges(LimitChanges, total=False):
    blocked: bool
    metadata: dict[str, Any]


def _org(row: Any) -> Organization:
    return Organization(
        id=row.id,
        name=row.name,
        models=row.models,
        metadata=row.metadata,
        limits=Limits.of(row),
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def _team(row: Any) -> Team:
    return Team(
        id=row.id,
        org_id=row.org_id,
        name=row.name,
        models=row.models,
        metadata=row.metadata,
        limits=Limits.of(row),
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def _user(row: Any) -> User:
    return User(
        id=row.id,
        org_id=row.org_id,
        team_id=row.team_id,
        email=row.email,
        name=row.name,
        role=row.role,
        metadata=row.metadata,
        limits=Limits.of(row),
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def _end_user(row: Any) -> EndUser:
    return EndUser(
        id=row.id,
        blocked=row.blocked,
        metadata=row.metadata,
        limits=Limits.of(row),
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


# organizations


async def create_org(
    db: Database,
    name: str,
    *,
    models: list[str] | None = None,
    metadata: dict[str, Any] | None = None,
    limits: Limits = NO_LIMITS,
    id: str | None = None,
    actor: str | None = None,
    now: datetime | None = None,
) -> Organization:
    values = {
        "id": id or new_id("org"),
        "name": name,
        "models": models or [],
        "metadata": metadata or {},
        **limits.columns(parallel=False),
    }
    return _org(await crud.insert(db, organizations, "org", values, actor=actor, now=now or utcnow()))


async def get_org(db: Database, org_id: str) -> Organization:
    row = await crud.get(db, organizations, org_id)
    if row is None:
        raise NotFound("org", org_id)
    return _org(row)


async def list_orgs(db: Database, *, limit: int = 100, offset: int = 0) -> list[Organization]:
    return [_org(r) for r in await crud.select_many(db, organizations, {}, limit=limit, offset=offset)]


async def update_org(
    db: Database,
    org_id: str,
    *,
    actor: str | None = None,
    now: datetime | None = None,
    **changes: Unpack[OrgChanges],
) -> Organization:
    return _org(
        await crud.update(db, organizations, "org", org_id, changes, actor=actor, now=now or utcnow())
    )


async def delete_org(
    db: Database, org_id: str, *, actor: str | None = None, now: datetime | None = None
) -> None:
    await crud.delete(db, organizations, "org", org_id, actor=actor, now=now or utcnow())


# teams


async def create_team(
    db: Database,
    name: str,
    *,
    org_id: str | None = None,
    models: list[str] | None = None,
    metadata: dict[str, Any] | None = None,
    limits: Limits = NO_LIMITS,
    id: str | None = None,
    actor: str | None = None,
    now: datetime | None = None,
) -> Team:
    values = {
        "id": id or new_id("team"),
        "org_id": org_id,
        "name": name,
        "models": models or [],
        "metadata": metadata or {},
        **limits.columns(parallel=False),
    }
    return _team(await crud.insert(db, teams, "team", values, actor=actor, now=now or utcnow()))


async def get_team(db: Database, team_id: str) -> Team:
    row = await crud.get(db, teams, team_id)
    if row is None:
        raise NotFound("team", team_id)
    return _team(row)


async def list_teams(
    db: Database, *, org_id: str | None = None, limit: int = 100, offset: int = 0
) -> list[Team]:
    rows = await crud.select_many(db, teams, {"org_id": org_id}, limit=limit, offset=offset)
    return [_team(r) for r in rows]


async def update_team(
    db: Database,
    team_id: str,
    *,
    actor: str | None = None,
    now: datetime | None = None,
    **changes: Unpack[TeamChanges],
) -> Team:
    return _team(await crud.update(db, teams, "team", team_id, changes, actor=actor, now=now or utcnow()))


async def delete_team(
    db: Database, team_id: str, *, actor: str | None = None, now: datetime | None = None
) -> None:
    await crud.delete(db, teams, "team", team_id, actor=actor, now=now or utcnow())


# users


async def create_user(
    db: Database,
    *,
    name: str | None = None,
    email: str | None = None,
    org_id: str | None = None,
    team_id: str | None = None,
    role: str = "member",
    metadata: dict[str, Any] | None = None,
    limits: Limits = NO_LIMITS,
    id: str | None = None,
    actor: str | None = None,
    now: datetime | None = None,
) -> User:
    values = {
        "id": id or new_id("user"),
        "org_id": org_id,
        "team_id": team_id,
        "email": email,
        "name": name,
        "role": role,
        "metadata": metadata or {},
        **limits.columns(parallel=False),
    }
    return _user(await crud.insert(db, users, "user", values, actor=actor, now=now or utcnow()))


async def get_user(db: Database, user_id: str) -> User:
    row = await crud.get(db, users, user_id)
    if row is None:
        raise NotFound("user", user_id)
    return _user(row)


async def list_users(
    db: Database,
    *,
    org_id: str | None = None,
    team_id: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> list[User]:
    filters = {"org_id": org_id, "team_id": team_id}
    return [_user(r) for r in await crud.select_many(db, users, filters, limit=limit, offset=offset)]


async def update_user(
    db: Database,
    user_id: str,
    *,
    actor: str | None = None,
    now: datetime | None = None,
    **changes: Unpack[UserChanges],
) -> User:
    return _user(await crud.update(db, users, "user", user_id, changes, actor=actor, now=now or utcnow()))


async def delete_user(
    db: Database, user_id: str, *, actor: str | None = None, now: datetime | None = None
) -> None:
    await crud.delete(db, users, "user", user_id, actor=actor, now=now or utcnow())


# end-users (the request's ``user`` field): rows exist only for those given limits or blocked


async def create_end_user(
    db: Database,
    end_user_id: str,
    *,
    blocked: bool = False,
    metadata: dict[str, Any] | None = None,
    limits: Limits = NO_LIMITS,
    actor: str | None = None,
    now: datetime | None = None,
) -> EndUser:
    values = {
        "id": end_user_id,
        "blocked": blocked,
        "metadata": metadata or {},
        **limits.columns(parallel=False),
    }
    return _end_user(await crud.insert(db, end_users, "end_user", values, actor=actor, now=now or utcnow()))


async def get_end_user(db: Database, end_user_id: str) -> EndUser:
    row = await crud.get(db, end_users, end_user_id)
    if row is None:
        raise NotFound("end_user", end_user_id)
    return _end_user(row)


async def list_end_users(db: Database, *, limit: int = 100, offset: int = 0) -> list[EndUser]:
    return [_end_user(r) for r in await crud.select_many(db, end_users, {}, limit=limit, offset=offset)]


async def update_end_user(
    db: Database,
    end_user_id: str,
    *,
    actor: str | None = None,
    now: datetime | None = None,
    **changes: Unpack[EndUserChanges],
) -> EndUser:
    row = await crud.update(db, end_users, "end_user", end_user_id, changes, actor=actor, now=now or utcnow())
    return _end_user(row)


async def delete_end_user(
    db: Database, end_user_id: str, *, actor: str | None = None, now: datetime | None = None
) -> None:
    await crud.delete(db, end_users, "end_user", end_user_id, actor=actor, now=now or utcnow())
