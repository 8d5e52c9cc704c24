"""Logged prompts and answers (``request_payloads``): written in batches by the payload log,
read one request at a time by the admin API and UI, deleted after their retention."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa

from switchgear.storage.database import Database
from switchgear.storage.dialect import insert
from switchgear.storage.rows import Payload
from switchgear.storage.tables import request_payloads


async def record_payloads(db: Database, payloads: Sequence[Payload]) -> int:
    """Write ``payloads`` (a request id already written is left as it was); returns how many."""
    if not payloads:
        return 0
    rows = [
        {
            "request_id": p.request_id[:128],
            "created_at": p.created_at,
            "key_id": p.key_id,
            "request": _text(p.request),
            "response": _text(p.response),
            "truncated": p.truncated,
        }
        for p in sorted(payloads, key=lambda p: p.request_id)  # one lock order for every writer
    ]
    statement = insert(db.dialect, request_payloads).on_conflict_do_nothing(
        index_elements=[request_payloads.c.request_id]
    )
    async with db.write() as conn:
        await conn.execute(statement, rows)
    return len(rows)


async def get_payload(db: Database, request_id: str) -> Payload | None:
    async with db.read() as conn:
        row = (
            await conn.execute(sa.select(request_payloads).where(request_payloads.c.request_id == request_id))
        ).first()
    return None if row is None else Payload(**row._asdict())


async def delete_payloads_before(db: Database, cutoff: datetime, *, batch: int = 5000) -> int:
    """Delete payloads of requests that arrived before ``cutoff``, ``batch`` rows per transaction."""
    deleted = 0
    while True:
        old = (
            sa.select(request_payloads.c.request_id)
            .where(request_payloads.c.created_at < cutoff)
            .limit(batch)
        )
        async with db.write() as conn:
            result = await conn.execute(
                sa.delete(request_payloads).where(request_payloads.c.request_id.in_(old))
            )
        count = result.rowcount or 0
        deleted += count
        if count < batch:
            return deleted


def _text(value: str | None) -> str | None:
    return None if value is None else value.replace("\x00", "\ufffd")
