"""Schema migrations (Alembic, shipped inside the package: ``switchgear/storage/migrations``).

``upgrade`` brings a database to the newest schema (an empty one included) in one transaction on
both SQLite and PostgreSQL, so a failed migration leaves the schema as it was. ``switchgear db
upgrade`` runs it by hand; ``storage.migrate_on_start`` lets the gateway run it when it opens the
database.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from switchgear.storage.database import Database
from switchgear.storage.errors import Unavailable

MIGRATIONS = Path(__file__).with_name("migrations")


def alembic_config(connection: sa.Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def head() -> str:
    """The newest revision this version of switchgear knows."""
    revision = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if revision is None:
        raise RuntimeError("no migrations found")
    return revision


def _current(connection: sa.Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


@asynccontextmanager
async def _reachable(db: Database) -> AsyncIterator[None]:
    try:
        yield
    except (sa.exc.DBAPIError, OSError) as exc:
        reason = getattr(exc, "orig", None) or exc
        raise Unavailable(f"cannot use the database {db.url}: {reason}") from None


async def current(db: Database) -> str | None:
    """The database's revision (None: no schema yet)."""
    async with _reachable(db), db.read() as conn:
        return await conn.run_sync(_current)


async def upgrade(db: Database, revision: str = "head") -> tuple[str | None, str | None]:
    """Migrate up to ``revision``; return the revisions before and after."""

    def run(connection: sa.Connection) -> tuple[str | None, str | None]:
        before = _current(connection)
        command.upgrade(alembic_config(connection), revision)
        return before, _current(connection)

    async with _reachable(db), db.write() as conn:
        return await conn.run_sync(run)


async def downgrade(db: Database, revision: str) -> tuple[str | None, str | None]:
    """Migrate down to ``revision`` ("base": drop every table); return the revisions before and after."""

    def run(connection: sa.Connection) -> tuple[str | None, str | None]:
        before = _current(connection)
        command.downgrade(alembic_config(connection), revision)
        return before, _current(connection)

    async with _reachable(db), db.write() as conn:
        return await conn.run_sync(run)
