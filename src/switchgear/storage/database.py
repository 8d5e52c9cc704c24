"""An open database: the async engine, where it is, and how a transaction begins on each dialect.

``storage.database_url`` unset means a SQLite file, ``switchgear.db`` in the data directory
(``storage.data_dir``, else ``$XDG_DATA_HOME/switchgear``, else ``~/.local/share/switchgear``).
``sqlite:///…`` and ``postgresql://…`` are taken as they are written; the async drivers
(aiosqlite, asyncpg) are filled in.

SQLite runs in WAL mode (readers never wait for the writer) with a busy timeout; a transaction
that writes begins with ``BEGIN IMMEDIATE``, so two writers queue for the lock instead of one of
them failing halfway. PostgreSQL runs at READ COMMITTED: its conditional ``UPDATE``s re-check
their ``WHERE`` against the row a concurrent transaction just committed.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, Literal

import orjson
import sqlalchemy as sa
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from switchgear.config import StorageSettings
from switchgear.storage.errors import Unavailable

Dialect = Literal["sqlite", "postgresql"]
SQLITE_BUSY_TIMEOUT_MS = 30_000
_WRITE = "switchgear_write"  # execution option: this connection's transaction will write


def data_dir(settings: StorageSettings, environ: Mapping[str, str]) -> Path:
    """The folder of the default SQLite file."""
    if settings.data_dir:
        return Path(os.path.expanduser(settings.data_dir))
    base = environ.get("XDG_DATA_HOME") or os.path.join(environ.get("HOME") or Path.home(), ".local/share")
    return Path(base) / "switchgear"


def database_url(settings: StorageSettings, environ: Mapping[str, str]) -> URL:
    """The URL to open, with its async driver."""
    if settings.database_url is None:
        path = data_dir(settings, environ) / "switchgear.db"
        return URL.create("sqlite+aiosqlite", database=str(path))
    return async_url(settings.database_url.get_secret_value().strip())


def async_url(url: URL | str) -> URL:
    """``url`` with the async driver of its database (aiosqlite, asyncpg)."""
    url = make_url(url)
    if url.drivername in ("sqlite", "sqlite+aiosqlite"):
        return url.set(drivername="sqlite+aiosqlite")
    if url.drivername in ("postgres", "postgresql", "postgresql+asyncpg"):
        return url.set(drivername="postgresql+asyncpg")
    raise ValueError(f"unsupported database {url.drivername!r}: SQLite or PostgreSQL")


def shown(url: URL) -> str:
    """The URL as it may be printed: no password."""
    return url.render_as_string(hide_password=True)


def _json(value: Any) -> str:
    return orjson.dumps(value).decode()


class Database:
    """The gateway's database. ``read()`` and ``write()`` give a connection inside a transaction
    that commits when the block ends and rolls back when it raises. A ``write()`` block must not
    open another ``write()`` (on SQLite the second would wait for the first forever)."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        name = engine.dialect.name
        if name not in ("sqlite", "postgresql"):
            raise ValueError(f"unsupported database {name!r}")
        self.dialect: Dialect = "sqlite" if name == "sqlite" else "postgresql"
        # SQLite lets one transaction write at a time: this process's writers queue here, in
        # order, rather than poll the file lock (other processes still meet the busy timeout)
        self._writer: asyncio.Lock | None = None
        if self.dialect == "sqlite":
            _sqlite_transactions(engine)
            self._writer = asyncio.Lock()

    @classmethod
    def open(cls, url: URL | str, **engine_options: Any) -> Database:
        """Open (lazily: the first query connects) the database at ``url``. A SQLite file's folder
        is created, readable by its owner only."""
        url = async_url(url)
        if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
            folder = Path(url.database).parent
            try:
                folder.mkdir(mode=0o700, parents=True, exist_ok=True)
            except OSError as exc:
                raise Unavailable(f"cannot create the data directory {folder}: {exc.strerror}") from None
        options: dict[str, Any] = {"json_serializer": _json, "json_deserializer": orjson.loads}
        if url.get_backend_name() == "postgresql":
            options["pool_pre_ping"] = True
        options.update(engine_options)
        return cls(create_async_engine(url, **options))

    @classmethod
    def from_settings(cls, settings: StorageSettings, environ: Mapping[str, str]) -> Database:
        return cls.open(database_url(settings, environ))

    @property
    def url(self) -> str:
        return shown(self.engine.url)

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncConnection]:
        async with self._transaction(write=False) as conn:
            yield conn

    @asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncConnection]:
        if self._writer is None:
            async with self._transaction(write=True) as conn:
                yield conn
            return
        async with self._writer, self._transaction(write=True) as conn:  # SQLite: one writer at a time
            yield conn

    @asynccontextmanager
    async def _transaction(self, *, write: bool) -> AsyncIterator[AsyncConnection]:
        async with self.engine.connect() as conn:
            if write:
                await conn.execution_options(**{_WRITE: True})
            async with conn.begin():
                yield conn

    async def close(self) -> None:
        await self.engine.dispose()


def _sqlite_transactions(engine: AsyncEngine) -> None:
    """Let SQLAlchemy, not the sqlite3 module, say when a transaction begins (the module's own
    implicit BEGIN would come too late and never be IMMEDIATE), and set the pragmas."""

    @sa.event.listens_for(engine.sync_engine, "connect")
    def _connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.close()

    @sa.event.listens_for(engine.sync_engine, "begin")
    def _begin(conn: sa.Connection) -> None:
        writes = conn.get_execution_options().get(_WRITE, False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if writes else "BEGIN")
