"""Create, read, update, delete and list for the object tables, each change audited in its own
transaction. The typed functions of ``hierarchy`` and ``keys`` are built on these."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from switchgear.storage.audit import write_audit
from switchgear.storage.database import Database
from switchgear.storage.errors import Conflict, NotFound


def conflict(kind: str, exc: IntegrityError) -> Conflict:
    text = str(exc.orig).lower()
    if "foreign key" in text:
        return Conflict(f"{kind}: it refers to an object that does not exist, or is still in use")
    return Conflict(f"{kind}: a unique value is already taken")


async def insert(
    db: Database, table: sa.Table, kind: str, values: dict[str, Any], *, actor: str | None, now: datetime
) -> sa.Row[Any]:
    """Insert one object and return its row; ``Conflict`` on a taken id / unique value or a
    missing owner."""
    values = {**values, "created_at": now, "updated_at": now}
    try:
        async with db.write() as conn:
            row = (await conn.execute(table.insert().values(values).returning(*table.c))).one()
            await write_audit(conn, actor, "create", kind, values["id"], details=values, now=now)
    except IntegrityError as exc:
        raise conflict(kind, exc) from None
    return row


async def get(db: Database, table: sa.Table, object_id: str) -> sa.Row[Any] | None:
    async with db.read() as conn:
        return (await conn.execute(sa.select(table).where(table.c.id == object_id))).one_or_none()


async def update(
    db: Database,
    table: sa.Table,
    kind: str,
    object_id: str,
    changes: Mapping[str, Any],
    *,
    actor: str | None,
    now: datetime,
    action: str = "update",
) -> sa.Row[Any]:
    """Change the given columns of one object and return its new row (``NotFound`` when absent)."""
    unknown = set(changes) - set(table.c.keys()) - {"created_at", "updated_at", "id"}
    if unknown or "id" in changes:
        raise ValueError(f"{kind}: cannot change {', '.join(sorted(unknown or {'id'}))}")
    values = {**changes, "updated_at": now}
    statement = table.update().where(table.c.id == object_id).values(values).returning(*table.c)
    try:
        async with db.write() as conn:
            row = (await conn.execute(statement)).one_or_none()
            if row is None:
                raise NotFound(kind, object_id)
            await write_audit(conn, actor, action, kind, object_id, details=dict(changes), now=now)
    except IntegrityError as exc:
        raise conflict(kind, exc) from None
    return row


async def delete(
    db: Database, table: sa.Table, kind: str, object_id: str, *, actor: str | None, now: datetime
) -> None:
    """Delete one object; ``Conflict`` while anything still refers to it (its keys, its teams)."""
    try:
        async with db.write() as conn:
            result = await conn.execute(table.delete().where(table.c.id == object_id).returning(table.c.id))
            if result.one_or_none() is None:
                raise NotFound(kind, object_id)
            await write_audit(conn, actor, "delete", kind, object_id, details={}, now=now)
    except IntegrityError as exc:
        raise conflict(kind, exc) from None


async def select_many(
    db: Database,
    table: sa.Table,
    filters: Mapping[str, Any],
    *,
    limit: int,
    offset: int,
    extra: Sequence[sa.ColumnElement[bool]] = (),
) -> list[sa.Row[Any]]:
    """Rows whose columns equal every non-None filter, ordered by creation then id."""
    query = sa.select(table).order_by(table.c.created_at, table.c.id).limit(limit).offset(offset)
    for name, value in filters.items():
        if value is not None:
            query = query.where(table.c[name] == value)
    for condition in extra:
        query = query.where(condition)
    async with db.read() as conn:
        return list((await conn.execute(query)).all())
