"""``switchgear db``: the database's schema (``upgrade``, ``current``).

The storage package (SQLAlchemy, Alembic) is imported by these commands only, so the other
commands start without it.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from switchgear.config import ConfigError, load_settings, parse_settings
from switchgear.providers import PROVIDER_SETTINGS

if TYPE_CHECKING:
    from switchgear.storage import Database

db_app = typer.Typer(
    help="The database of keys, budgets and spend (storage.database_url, else a SQLite file).",
    no_args_is_help=True,
    context_settings={"help_option_names": ["-h", "--help"]},
)

ConfigOption = Annotated[
    Path | None, typer.Option("--config", "-c", help="YAML configuration file (its storage: section)")
]


def _fail(message: str, code: int) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code=code)


def _open(config: Path | None) -> Database:
    from switchgear.storage import Database, StorageError

    environ = dict(os.environ)
    try:
        if config is None:
            settings = parse_settings({}, environ)
        else:  # the whole file is checked, its providers as their types' models (as serve does)
            settings = load_settings(config, environ, PROVIDER_SETTINGS)
        return Database.from_settings(settings.storage, environ)
    except (ConfigError, StorageError) as exc:
        raise _fail(str(exc), 2) from None


@db_app.command("upgrade")
def upgrade(
    config: ConfigOption = None,
    revision: Annotated[str, typer.Option(help="Revision to migrate to")] = "head",
) -> None:
    """Create or migrate the database schema to the newest revision (safe to run again)."""
    from switchgear.storage import StorageError, migrate

    db = _open(config)

    async def run() -> tuple[str | None, str | None]:
        try:
            return await migrate.upgrade(db, revision)
        finally:
            await db.close()

    try:
        before, after = asyncio.run(run())
    except StorageError as exc:
        raise _fail(str(exc), 1) from None
    if before == after:
        typer.echo(f"{db.url}: at revision {after}, up to date")
    else:
        typer.echo(f"{db.url}: migrated from {before or 'an empty database'} to revision {after}")


@db_app.command("current")
def current(config: ConfigOption = None) -> None:
    """Print the database's schema revision and the newest this version knows."""
    from switchgear.storage import StorageError, migrate

    db = _open(config)

    async def run() -> str | None:
        try:
            return await migrate.current(db)
        finally:
            await db.close()

    try:
        revision = asyncio.run(run())
    except StorageError as exc:
        raise _fail(str(exc), 1) from None
    head = migrate.head()
    state = "up to date" if revision == head else f"behind: run `switchgear db upgrade` (newest: {head})"
    typer.echo(f"{db.url}: revision {revision or 'none (empty database)'}, {state}")
