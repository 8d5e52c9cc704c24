"""The audit log: who did what to which object, written in the transaction that did it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from switchgear.storage.database import Database
from switchgear.storage.rows import AuditEntry
from switchgear.storage.tables import audit_log

# Never written to the audit log: a key's digest identifies the key as well as the key does.
_SECRET_FIELDS = frozenset({"key_hash"})


async def write_audit(
    conn: AsyncConnection,
    actor: str | None,
    action: str,
    object_kind: str,
    object_id: str,
    *,
    details: dict[str, Any],
    now: datetime,
) -> None:
    """Add one row in ``conn``'s transaction; ``actor`` None writes nothing (an internal change)."""
    if actor is None:
        return
    shown = {k: _plain(v) for k, v in details.items() if k not in _SECRET_FIELDS}
    await conn.execute(
        audit_log.insert().values(
            at=now, actor=actor, action=action, object_kind=object_kind, object_id=object_id, details=shown
        )
    )


def _plain(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


async def list_audit(
    db: Database,
    *,
    object_kind: str | None = None,
    object_id: str | None = None,
    actor: str | None = None,
    limit: int = 100,
    before_id: int | None = None,
) -> list[AuditEntry]:
    """Newest first; ``before_id`` pages on (the last id of the previous page)."""
    query = sa.select(audit_log).order_by(audit_log.c.id.desc()).limit(limit)
    if object_kind is not None:
        query = query.where(audit_log.c.object_kind == object_kind)
    if object_id is not None:
        query = query.where(audit_log.c.object_id == object_id)
    if actor is not None:
        query = query.where(audit_log.c.actor == actor)
    if before_id is not None:
        query = query.where(audit_log.c.id < before_id)
    async with db.read() as conn:
        rows = (await conn.execute(query)).all()
    return [
        AuditEntry(
            id=row.id,
            at=row.at,
            actor=row.actor,
            action=row.action,
            object_kind=row.object_kind,
            object_id=row.object_id,
            details=row.details,
        )
        for row in rows
    ]
