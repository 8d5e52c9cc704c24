"""Migrations on fresh databases (SQLite file, PostgreSQL): upgrade from empty, downgrade, upgrade
again; the migrated schema is the one the code's tables describe; ``switchgear db`` as a user runs it."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from switchgear.storage import Database, SpendRow, Unavailable
from switchgear.storage.migrate import current, downgrade, head, upgrade
from switchgear.storage.spend import record_spend
from switchgear.storage.tables import metadata
from tests.fakes.databases import session_database_name
from tests.fakes.postgres import PostgresServer

CLI = [sys.executable, "-m", "switchgear.cli"]
TABLES = {t.name for t in metadata.sorted_tables}


@pytest.fixture(params=["sqlite", "postgresql"])
async def fresh_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """The URL of an empty database nobody else uses."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/data/fresh.db"
        return
    server: PostgresServer = request.getfixturevalue("postgres_server")
    name = session_database_name()
    url = await server.create_database(name)
    yield url
    await server.drop_database(name)


def _tables(connection: sa.Connection) -> set[str]:
    return set(sa.inspect(connection).get_table_names())


def _on_this_database(dialect: str) -> Callable[..., bool]:
    """Leave out what ``tables.py`` builds on another database only (``.ddl_if(dialect=...)``)."""

    def include(obj: object, *_: object) -> bool:
        only = getattr(obj, "_ddl_if", None)
        return only is None or only.dialect in (None, dialect)

    return include


def _differences(connection: sa.Connection) -> list[object]:
    opts = {"compare_type": True, "include_object": _on_this_database(connection.dialect.name)}
    return list(compare_metadata(MigrationContext.configure(connection, opts=opts), metadata))


async def test_upgrade_downgrade_upgrade_and_the_schema_matches_the_tables(fresh_url: str) -> None:
    db = Database.open(fresh_url)
    try:
        assert await current(db) is None
        assert await upgrade(db) == (None, head())
        async with db.read() as conn:
            assert await conn.run_sync(_tables) == TABLES | {"alembic_version"}
            assert await conn.run_sync(_differences) == []
        assert await upgrade(db) == (head(), head())  # again: nothing to do
        await record_spend(db, [SpendRow(request_id="r1", created_at=datetime.now(UTC), model="m")])

        assert await downgrade(db, "base") == (head(), None)
        async with db.read() as conn:
            assert await conn.run_sync(_tables) == {"alembic_version"}

        await upgrade(db)
        async with db.read() as conn:
            assert await conn.run_sync(_tables) == TABLES | {"alembic_version"}
            assert await conn.run_sync(_differences) == []
        assert (
            await record_spend(db, [SpendRow(request_id="r1", created_at=datetime.now(UTC), model="m")]) == 1
        )
    finally:
        await db.close()


def db_cli(*args: str, config: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, "db", *args, "--config", str(config)], capture_output=True, text=True, timeout=60, check=False
    )


@pytest.fixture
async def fresh_postgres_url(postgres_server: PostgresServer) -> AsyncIterator[str]:
    name = session_database_name()
    url = await postgres_server.create_database(name)
    yield url
    await postgres_server.drop_database(name)


_MIGRATE = """
import asyncio, sys
from switchgear.storage import Database
from switchgear.storage.migrate import upgrade

async def main():
    db = Database.open(sys.argv[1])
    try:
        before, after = await upgrade(db)
        print(before or "-", after)
    finally:
        await db.close()

asyncio.run(main())
"""


def test_processes_starting_together_migrate_an_empty_database_once(fresh_url: str) -> None:
    """``serve --workers N`` or several replicas on a new database: each runs the migrations at start."""
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", _MIGRATE, fresh_url], stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        for _ in range(4)
    ]
    outcomes = [worker.communicate(timeout=60) for worker in workers]
    assert [worker.returncode for worker in workers] == [0] * 4, [err.decode()[-600:] for _, err in outcomes]
    lines = sorted(out.decode().split() for out, _ in outcomes)
    assert lines == [["-", head()], *[[head(), head()]] * 3]  # one migrated, three found it current


async def test_in_one_process_migrations_take_turns(fresh_url: str) -> None:
    import asyncio

    databases = [Database.open(fresh_url) for _ in range(3)]
    try:
        results = await asyncio.gather(*(upgrade(db) for db in databases))
        assert sorted(before or "" for before, _ in results) == ["", head(), head()]
    finally:
        for db in databases:
            await db.close()


async def test_switchgear_db_current_and_upgrade_on_postgresql(
    fresh_postgres_url: str, tmp_path: Path
) -> None:
    config = tmp_path / "switchgear.yaml"
    config.write_text(f"storage:\n  database_url: {fresh_postgres_url}\n")
    before = db_cli("current", config=config)
    assert before.returncode == 0, before.stderr
    assert "revision none (empty database), behind: run `switchgear db upgrade`" in before.stdout
    first = db_cli("upgrade", config=config)
    assert first.returncode == 0, first.stderr
    assert f"migrated from an empty database to revision {head()}" in first.stdout
    db = Database.open(fresh_postgres_url)
    assert await current(db) == head()
    await db.close()


def test_the_default_database_is_a_file_in_the_data_directory(tmp_path: Path) -> None:
    config = tmp_path / "switchgear.yaml"
    config.write_text(  # a whole gateway configuration: its providers are checked as serve checks them
        f"storage:\n  data_dir: {tmp_path}/state\n"
        "providers:\n  aws: {type: bedrock, region: us-east-1,"
        " aws_access_key_id: AK, aws_secret_access_key: s}\n"
    )
    result = db_cli("upgrade", config=config)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "state/switchgear.db").is_file()
    assert (tmp_path / "state").stat().st_mode & 0o777 == 0o700
    assert (
        f"sqlite+aiosqlite:///{tmp_path}/state/switchgear.db: migrated from an empty database"
        in result.stdout
    )


async def test_an_unreachable_database_is_a_clear_error_without_its_password() -> None:
    db = Database.open("postgresql://app:pw-canary-8d1e@127.0.0.1:9/gateway")
    with pytest.raises(Unavailable) as refused:
        await upgrade(db)
    await db.close()
    shown = "postgresql+asyncpg://app:***@127.0.0.1:9/gateway"
    assert str(refused.value).startswith(f"cannot use the database {shown}: ")
    assert "pw-canary-8d1e" not in str(refused.value)
