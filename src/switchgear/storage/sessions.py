"""The admin UI's sign-in sessions: made at sign-in, read on every page, deleted at sign-out or
once expired. Stored by the digest of the session token, so the table alone lets no one sign in."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from switchgear.storage.database import Database
from switchgear.storage.rows import UiSession
from switchgear.storage.tables import ui_sessions

_u = ui_sessions.c


async def create_session(db: Database, session: UiSession) -> None:
    """Store a new session, and delete every expired one (the table stays the size of the sessions
    in use)."""
    async with db.write() as conn:
        await conn.execute(sa.delete(ui_sessions).where(_u.expires_at <= session.created_at))
        await conn.execute(
            ui_sessions.insert().values(
                id=session.id,
                actor=session.actor,
                csrf=session.csrf,
                created_at=session.created_at,
                expires_at=session.expires_at,
            )
        )


async def get_session(db: Database, session_id: str, now: datetime) -> UiSession | None:
    """The session with this digest if it has not expired, else None."""
    query = sa.select(ui_sessions).where(_u.id == session_id, _u.expires_at > now)
    async with db.read() as conn:
        row = (await conn.execute(query)).one_or_none()
    if row is None:
        return None
    return UiSession(row.id, row.actor, row.csrf, row.created_at, row.expires_at)


async def delete_session(db: Database, session_id: str) -> None:
    async with db.write() as conn:
        await conn.execute(sa.delete(ui_sessions).where(_u.id == session_id))


async def delete_sessions_of(db: Database, actor: str) -> int:
    """End every session of one caller (an admin key's id, or ``master``); how many there were."""
    async with db.write() as conn:
        result = await conn.execute(sa.delete(ui_sessions).where(_u.actor == actor))
    return result.rowcount or 0
