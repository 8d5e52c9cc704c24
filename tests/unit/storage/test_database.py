"""Where the database is, the ``storage:`` settings, and how a connection behaves on each dialect."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from switchgear.config import ConfigError, StorageSettings, parse_settings
from switchgear.storage import Database, Unavailable, data_dir, database_url
from switchgear.storage.database import shown
from switchgear.storage.hierarchy import create_org, list_orgs


def storage(**values: object) -> StorageSettings:
    return parse_settings({"storage": values}, {}).storage


def test_defaults() -> None:
    settings = parse_settings({}, {}).storage
    assert settings == StorageSettings()
    assert (settings.database_url, settings.data_dir, settings.redis_url) == (None, None, None)
    assert settings.migrate_on_start is True and settings.spend_log_retention_days is None


def test_the_default_database_is_a_sqlite_file_in_the_data_directory() -> None:
    env = {"HOME": "/home/ada"}
    assert (
        str(database_url(storage(), env))
        == "sqlite+aiosqlite:////home/ada/.local/share/switchgear/switchgear.db"
    )
    assert data_dir(storage(), {**env, "XDG_DATA_HOME": "/xdg"}) == Path("/xdg/switchgear")
    assert data_dir(storage(data_dir="/srv/gw"), env) == Path("/srv/gw")
    assert data_dir(storage(data_dir="~/gw"), env) == Path.home() / "gw"


@pytest.mark.parametrize(
    ("given", "opened"),
    [
        ("sqlite:////var/lib/gw.db", "sqlite+aiosqlite:////var/lib/gw.db"),
        ("sqlite+aiosqlite:///rel.db", "sqlite+aiosqlite:///rel.db"),
        ("postgresql://gw:pw@db:5432/gw", "postgresql+asyncpg://gw:***@db:5432/gw"),
        ("postgres://gw@db/gw", "postgresql+asyncpg://gw@db/gw"),
        ("postgresql+asyncpg://db/gw", "postgresql+asyncpg://db/gw"),
    ],
)
def test_urls_get_their_async_driver(given: str, opened: str) -> None:
    assert shown(database_url(storage(database_url=given), {})) == opened


def test_the_database_url_is_a_secret_and_checked() -> None:
    settings = storage(
        database_url="postgresql://gw:pw-canary-51@db/gw", redis_url="redis://:pw-canary-52@r:6379"
    )
    assert "pw-canary" not in repr(settings) + str(settings)
    with pytest.raises(ConfigError) as refused:
        storage(database_url="mysql://root:pw-canary-53@db/gw")
    assert "storage.database_url: database_url must be a SQLite" in str(refused.value)
    assert "pw-canary-53" not in str(refused.value)
    assert storage(database_url="", redis_url=" ").database_url is None  # an unset ${VAR:-}
    with pytest.raises(ConfigError, match=r"storage.spend_log_retention_days"):
        storage(spend_log_retention_days=0)
    with pytest.raises(
        ConfigError, match=r"storage.migrate_on_strat: unknown key \(did you mean 'migrate_on_start'"
    ):
        storage(migrate_on_strat=False)


def test_a_data_directory_that_cannot_be_made_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(Unavailable, match="cannot create the data directory"):
        Database.open(f"sqlite:///{blocker}/sub/gw.db")


async def test_sqlite_runs_in_wal_mode_with_foreign_keys(sqlite_database: Database) -> None:
    async with sqlite_database.read() as conn:
        assert (await conn.exec_driver_sql("PRAGMA journal_mode")).scalar() == "wal"
        assert (await conn.exec_driver_sql("PRAGMA foreign_keys")).scalar() == 1
        assert (await conn.exec_driver_sql("PRAGMA busy_timeout")).scalar() == 30_000


async def test_a_failed_write_rolls_back_and_naive_times_are_refused(db: Database) -> None:
    with pytest.raises(RuntimeError):
        async with db.write() as conn:
            await conn.exec_driver_sql(
                "INSERT INTO organizations (id, name, models, metadata, created_at, updated_at) "
                "VALUES ('o1', 'x', '[]', '{}', '2026-01-01', '2026-01-01')"
            )
            raise RuntimeError("halfway")
    assert await list_orgs(db) == []
    with pytest.raises(Exception, match="naive datetime"):
        await create_org(db, "acme", now=datetime(2026, 1, 1))
