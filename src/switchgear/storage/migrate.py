"""Schema migrations (Alembic, shipped inside the package: ``switchgear/storage/migrations``).

``upgrade`` brings a database to the newest schema (an empty one included) in one transaction on
both SQLite and PostgreSQL, so a failed migration leaves the schema as it was. ``switchgear db
upgrade`` runs it by hand; ``storage.migrate_on_start`` lets the gateway run it when it opens the
database.

Several processes may start on a new database at once (``serve --workers N``, replicas): on
PostgreSQL a migration first takes a transaction-scoped advisory lock, so the first one migrates and
the others then find the schema current; on SQLite the write transaction (``BEGIN IMMEDIATE``)
already serializes them. Within one process migrations run one at a time (Alembic's context is
process-global).
"""

from __future__ import annotations

import asyncio
import weakref
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
_ADVISORY_KEY = 0x5367_4D69_6772  # "SgMigr": PostgreSQL's lock for switchgear's migrations
_LOCKS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = weakref.WeakKeyDictionary()


def _process_lock() -> asyncio.Lock:
    loop = asyncio.get_running_loop()
    lock = _LOCKS.get(loop)
    if lock is None:
        lock = _LOCKS[loop] = asyncio.Lock()
    return lock


def _exclusive(connection: sa.Connection) -> None:
    """Wait for any other process migrating this database (PostgreSQL; released at commit)."""
    if connection.dialect.name == "postgresql":
        connection.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _ADVISORY_KEY})


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
        _exclusive(connection)
        before = _current(connection)
        command.upgrade(alembic_config(connection), revision)
        return before, _current(connection)

    async with _process_lock(), _reachable(db), db.write() as conn:
        return await conn.run_sync(run)


async def downgrade(db: Database, revision: str) -> tuple[str | None, str | None]:
    """Migrate down to ``revision`` ("base": drop every table); return the revisions before and after."""

    def run(connection: sa.Connection) -> tuple[str | None, str | None]:
        _exclusive(connection)
        before = _current(connection)
        command.downgrade(alembic_config(connection), revision)
        return before, _current(connection)

    async with _process_lock(), _reachable(db), db.write() as conn:
        return await conn.run_sync(run)
