"""Database fixtures: ``db`` runs a test on a real SQLite file and on a real PostgreSQL database.

One database of each kind per test session, migrated once; every test starts with empty tables.
``postgres_server`` finds or starts a server (``tests/fakes/postgres.py``) and skips only when no
PostgreSQL is installed at all.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from switchgear.storage import Database
from switchgear.storage.migrate import upgrade
from switchgear.storage.tables import metadata
from tests.fakes.postgres import PostgresServer

KINDS = ["sqlite", "postgresql"]


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    server = PostgresServer.find_or_start()
    if server is None:
        pytest.skip(
            "PostgreSQL: no server answers on 127.0.0.1:5432 and no PostgreSQL binaries (initdb, pg_ctl) "
            "are installed to start one (Debian: apt-get install postgresql)"
        )
    yield server
    server.stop()


def session_database_name() -> str:
    return f"switchgear_test_{os.getpid()}_{secrets.token_hex(4)}"


@pytest.fixture(scope="session")
async def postgresql_database(postgres_server: PostgresServer) -> AsyncIterator[Database]:
    name = session_database_name()
    url = await postgres_server.create_database(name)
    try:
        db = Database.open(url)
        try:
            await upgrade(db)
            yield db
        finally:
            await db.close()
    finally:
        await postgres_server.drop_database(name)  # also when opening or migrating failed


@pytest.fixture(scope="session")
async def sqlite_database(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Database]:
    path: Path = tmp_path_factory.mktemp("sqlite") / "switchgear.db"
    db = Database.open(f"sqlite+aiosqlite:///{path}")
    await upgrade(db)
    yield db
    await db.close()


@pytest.fixture(params=KINDS)
def any_database(request: pytest.FixtureRequest) -> Database:
    database: Database = request.getfixturevalue(f"{request.param}_database")
    return database


async def wipe(db: Database) -> None:
    async with db.write() as conn:
        for table in reversed(metadata.sorted_tables):
            await conn.execute(table.delete())


@pytest.fixture
async def db(any_database: Database) -> Database:
    """A migrated database with empty tables: SQLite, then PostgreSQL."""
    await wipe(any_database)
    return any_database
