"""Virtual keys: create, look up by id or by digest, list, update, revoke, rotate.

The key itself is never stored: only its SHA-256 digest (hex, unique, indexed: the lookup) and a
short display prefix. Making keys and digests is the caller's job; storage takes them as given.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Unpack

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from switchgear.storage import crud
from switchgear.storage.audit import write_audit
from switchgear.storage.database import Database
from switchgear.storage.errors import NotFound
from switchgear.storage.hierarchy import LimitChanges
from switchgear.storage.rows import NO_LIMITS, Limits, VirtualKey, new_id, utcnow
from switchgear.storage.tables import virtual_keys

_COPIED_ON_ROTATION = (
    "name", "org_id", "team_id", "user_id", "models", "metadata", "tags", "expires_at",
    "max_budget_microusd", "soft_budget_microusd", "budget_duration", "rpm_limit", "tpm_limit",
    "max_parallel_requests",
)  # fmt: skip


class KeyChanges(LimitChanges, total=False):
    name: str | None
    org_id: str | None
    team_id: str | None
    user_id: str | None
    models: list[str]
    metadata: dict[str, Any]
    tags: list[str]
    max_parallel_requests: int | None
    expires_at: datetime | None


def _key(row: Any) -> VirtualKey:
    return VirtualKey(
        id=row.id,
        key_hash=row.key_hash,
        key_prefix=row.key_prefix,
        name=row.name,
        org_id=row.org_id,
        team_id=row.team_id,
        user_id=row.user_id,
        models=row.models,
        metadata=row.metadata,
        tags=row.tags,
        limits=Limits.of(row, parallel=True),
        expires_at=row.expires_at,
        revoked_at=row.revoked_at,
        rotated_from=row.rotated_from,
        rotation_grace_until=row.rotation_grace_until,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


async def create_key(
    db: Database,
    *,
    key_hash: str,
    key_prefix: str,
    name: str | None = None,
    org_id: str | None = None,
    team_id: str | None = None,
    user_id: str | None = None,
    models: list[str] | None = None,
    metadata: dict[str, Any] | None = None,
    tags: list[str] | None = None,
    limits: Limits = NO_LIMITS,
    expires_at: datetime | None = None,
    id: str | None = None,
    actor: str | None = None,
    now: datetime | None = None,
) -> VirtualKey:
    """Store a new key (``Conflict`` if the digest is taken or an owner does not exist)."""
    values = {
        "id": id or new_id("key"),
        "key_hash": key_hash,
        "key_prefix": key_prefix,
        "name": name,
        "org_id": org_id,
        "team_id": team_id,
        "user_id": user_id,
        "models": models or [],
        "metadata": metadata or {},
        "tags": tags or [],
        **limits.columns(parallel=True),
        "expires_at": expires_at,
    }
    return _key(await crud.insert(db, virtual_keys, "key", values, actor=actor, now=now or utcnow()))


async def get_key(db: Database, key_id: str) -> VirtualKey:
    row = await crud.get(db, virtual_keys, key_id)
    if row is None:
        raise NotFound("key", key_id)
    return _key(row)


async def get_key_by_hash(db: Database, key_hash: str) -> VirtualKey | None:
    """The key whose digest this is, usable or not (the caller checks ``usable``), or None."""
    query = sa.select(virtual_keys).where(virtual_keys.c.key_hash == key_hash)
    async with db.read() as conn:
        row = (await conn.execute(query)).one_or_none()
    return _key(row) if row is not None else None


async def list_keys(
    db: Database,
    *,
    org_id: str | None = None,
    team_id: str | None = None,
    user_id: str | None = None,
    include_revoked: bool = False,
    updated_since: datetime | None = None,
    limit: int = 100,
    offset: int = 0,
) -> list[VirtualKey]:
    """Keys in creation order. ``updated_since`` gives what changed since a previous look (revoked
    keys included then, whatever ``include_revoked`` says: a cache must drop them)."""
    extra: list[sa.ColumnElement[bool]] = []
    if updated_since is not None:
        extra.append(virtual_keys.c.updated_at >= updated_since)
    elif not include_revoked:
        extra.append(virtual_keys.c.revoked_at.is_(None))
    filters = {"org_id": org_id, "team_id": team_id, "user_id": user_id}
    rows = await crud.select_many(db, virtual_keys, filters, limit=limit, offset=offset, extra=extra)
    return [_key(r) for r in rows]


async def update_key(
    db: Database,
    key_id: str,
    *,
    actor: str | None = None,
    now: datetime | None = None,
    **changes: Unpack[KeyChanges],
) -> VirtualKey:
    return _key(await crud.update(db, virtual_keys, "key", key_id, changes, actor=actor, now=now or utcnow()))


async def revoke_key(
    db: Database, key_id: str, *, actor: str | None = None, now: datetime | None = None
) -> VirtualKey:
    """Refuse the key from ``now`` on (a key revoked before stays revoked since then)."""
    now = now or utcnow()
    current = await get_key(db, key_id)
    if current.revoked_at is not None and current.revoked_at <= now:
        return current
    changes = {"revoked_at": now}
    return _key(
        await crud.update(db, virtual_keys, "key", key_id, changes, actor=actor, now=now, action="revoke")
    )


async def rotate_key(
    db: Database,
    key_id: str,
    *,
    key_hash: str,
    key_prefix: str,
    grace: timedelta = timedelta(0),
    new_id_: str | None = None,
    actor: str | None = None,
    now: datetime | None = None,
) -> VirtualKey:
    """Replace a key by a new one with the same owners and limits, in one transaction. The old
    key keeps working for ``grace`` (then it is revoked); the new key names it in ``rotated_from``."""
    now = now or utcnow()
    try:
        replacement = new_id_ or new_id("key")
        return await _rotate(db, key_id, key_hash, key_prefix, replacement, grace=grace, actor=actor, now=now)
    except IntegrityError as exc:
        raise crud.conflict("key", exc) from None


async def _rotate(
    db: Database,
    key_id: str,
    key_hash: str,
    key_prefix: str,
    replacement: str,
    *,
    grace: timedelta,
    actor: str | None,
    now: datetime,
) -> VirtualKey:
    deadline = now + grace
    table = virtual_keys
    async with db.write() as conn:
        old = (await conn.execute(sa.select(table).where(table.c.id == key_id))).one_or_none()
        if old is None:
            raise NotFound("key", key_id)
        revoked = old.revoked_at if old.revoked_at is not None and old.revoked_at <= deadline else deadline
        await conn.execute(
            table.update().where(table.c.id == key_id).values(revoked_at=revoked, updated_at=now)
        )
        values = {name: getattr(old, name) for name in _COPIED_ON_ROTATION}
        values.update(
            id=replacement,
            key_hash=key_hash,
            key_prefix=key_prefix,
            rotated_from=key_id,
            rotation_grace_until=deadline if grace else None,
            created_at=now,
            updated_at=now,
        )
        row = (await conn.execute(table.insert().values(values).returning(*table.c))).one()
        details = {"new_key_id": values["id"], "old_key_revoked_at": revoked}
        await write_audit(conn, actor, "rotate", "key", key_id, details=details, now=now)
    return _key(row)
