"""``switchgear keys create|list|revoke|rotate`` and ``switchgear spend``: the admin service on the
configuration's database, directly (no running gateway needed).

A new key is printed once. Running gateways see a change at their next refresh
(``governance.refresh_interval``), at once when the change reaches them over Redis.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer
from pydantic import BaseModel, ValidationError
from rich.console import Console
from rich.table import Table

from switchgear.cli.db import ConfigOption
from switchgear.config import ConfigError, Settings, load_settings, parse_settings
from switchgear.core.errors import GatewayError
from switchgear.providers import PROVIDER_SETTINGS

if TYPE_CHECKING:
    from switchgear.keys.admin import AdminService

T = TypeVar("T")
HELP = {"help_option_names": ["-h", "--help"]}
keys_app = typer.Typer(
    help="Virtual keys: create, list, revoke, rotate.", no_args_is_help=True, context_settings=HELP
)
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table")]
REFRESH_NOTE = "running gateways apply this at their next refresh (governance.refresh_interval)"
TOLD_NOTE = "running gateways were told through Redis (storage.redis_url) and apply this at once"


def _settings(config: Path | None) -> Settings:
    environ = dict(os.environ)
    if config is None:
        return parse_settings({}, environ)
    return load_settings(config, environ, PROVIDER_SETTINGS)


def _run(config: Path | None, work: Callable[[AdminService], Awaitable[T]], *, changes: bool = False) -> T:
    """Open the database, run ``work`` as the CLI actor, close; errors end the command plainly.
    After a change, say when running gateways will see it."""
    from switchgear.keys.admin import AdminService
    from switchgear.keys.offline import cli_feed
    from switchgear.storage import Database, StorageError

    try:
        settings = _settings(config)
        db = Database.from_settings(settings.storage, dict(os.environ))
    except (ConfigError, StorageError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None

    async def run() -> T:
        feed = cli_feed(settings)
        try:
            done = await work(AdminService(db, feed))
        finally:
            await feed.close()
            await db.close()
        if changes:
            told = feed.published and feed.delivered == len(feed.published)
            typer.echo(TOLD_NOTE if told else REFRESH_NOTE, err=True)
        return done

    try:
        return asyncio.run(run())
    except (GatewayError, StorageError) as exc:
        typer.echo(f"error: {getattr(exc, 'message', str(exc))}", err=True)
        raise typer.Exit(1) from None


def _print(
    value: BaseModel, as_json: bool, columns: list[str], rows: list[dict[str, Any]] | None = None
) -> None:
    if as_json:
        typer.echo(value.model_dump_json(indent=2))
        return
    table = Table()
    for column in columns:
        table.add_column(column, no_wrap=column in ("id", "group"), overflow="fold")
    for row in rows if rows is not None else [value.model_dump()]:
        table.add_row(*("" if row.get(c) is None else str(row.get(c)) for c in columns))
    Console().print(table)


KEY_COLUMNS = ["id", "name", "key_prefix", "status", "team_id", "user_id", "max_budget", "rpm_limit"]


@keys_app.command("create")
def create(
    *,
    config: ConfigOption = None,
    name: Annotated[str | None, typer.Option(help="A name for the key")] = None,
    model: Annotated[
        list[str] | None, typer.Option("--model", help="A model it may call (repeat; wildcards)")
    ] = None,
    max_budget: Annotated[str | None, typer.Option(help="Hard budget in USD")] = None,
    soft_budget: Annotated[str | None, typer.Option(help="Alert threshold in USD")] = None,
    budget_duration: Annotated[str | None, typer.Option(help="1h, 1d, 7d, 30d or month")] = None,
    rpm_limit: Annotated[int | None, typer.Option(help="Requests per minute")] = None,
    tpm_limit: Annotated[int | None, typer.Option(help="Tokens per minute")] = None,
    team_id: Annotated[str | None, typer.Option(help="The team it belongs to")] = None,
    user_id: Annotated[str | None, typer.Option(help="The user it belongs to")] = None,
    tag: Annotated[list[str] | None, typer.Option("--tag", help="A tag (repeat)")] = None,
    max_parallel_requests: Annotated[int | None, typer.Option(help="Requests in flight at once")] = None,
    expires_at: Annotated[str | None, typer.Option(help="When it stops working (ISO 8601, UTC)")] = None,
    as_json: JsonOption = False,
) -> None:
    """Make a virtual key and print it, this once."""
    from switchgear.keys.schemas import KeyInput
    from switchgear.keys.tenancy import CLI_ACTOR

    given = {
        "name": name,
        "models": model,
        "max_budget": max_budget,
        "soft_budget": soft_budget,
        "budget_duration": budget_duration,
        "rpm_limit": rpm_limit,
        "tpm_limit": tpm_limit,
        "team_id": team_id,
        "user_id": user_id,
        "tags": tag,
        "max_parallel_requests": max_parallel_requests,
        "expires_at": expires_at,
    }
    try:
        body = KeyInput.model_validate({k: v for k, v in given.items() if v is not None})
    except ValidationError as exc:
        first = exc.errors()[0]
        typer.echo(
            f"error: --{'-'.join(str(p) for p in first['loc']).replace('_', '-')}: {first['msg']}", err=True
        )
        raise typer.Exit(2) from None
    created = _run(config, lambda svc: svc.keys.create(CLI_ACTOR, body), changes=True)
    if as_json:
        typer.echo(created.model_dump_json(indent=2))
        return
    typer.echo(f"key {created.id} ({created.key_prefix}) created; it is shown this once:")
    typer.echo(created.key)


@keys_app.command("list")
def list_keys(
    config: ConfigOption = None,
    team_id: Annotated[str | None, typer.Option(help="Only this team's keys")] = None,
    include_revoked: Annotated[bool, typer.Option("--all", help="Include revoked keys")] = False,
    limit: Annotated[int, typer.Option(min=1, max=1000)] = 100,
    as_json: JsonOption = False,
) -> None:
    """List keys (prefixes only: a key is never shown again)."""
    from switchgear.keys.tenancy import CLI_ACTOR

    page = _run(
        config,
        lambda svc: svc.keys.list(CLI_ACTOR, team_id=team_id, include_revoked=include_revoked, limit=limit),
    )
    _print(page, as_json, KEY_COLUMNS, [k.model_dump() for k in page.data])


@keys_app.command("revoke")
def revoke(
    key_id: Annotated[str, typer.Argument(help="The key's id")],
    config: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """Revoke a key."""
    from switchgear.keys.tenancy import CLI_ACTOR

    key = _run(config, lambda svc: svc.keys.revoke(CLI_ACTOR, key_id), changes=True)
    _print(key, as_json, KEY_COLUMNS)


@keys_app.command("rotate")
def rotate(
    key_id: Annotated[str, typer.Argument(help="The key's id")],
    config: ConfigOption = None,
    grace: Annotated[str, typer.Option(help="How long the old key keeps working, e.g. 24h")] = "0s",
    as_json: JsonOption = False,
) -> None:
    """Replace a key by a new one (printed once); the old one works for --grace more."""
    from switchgear.keys.schemas import KeyRotate
    from switchgear.keys.tenancy import CLI_ACTOR

    try:
        body = KeyRotate(grace_period=grace)  # type: ignore[arg-type]
    except ValidationError as exc:
        typer.echo(f"error: --grace: {exc.errors()[0]['msg']}", err=True)
        raise typer.Exit(2) from None
    created = _run(config, lambda svc: svc.keys.rotate(CLI_ACTOR, key_id, body), changes=True)
    if as_json:
        typer.echo(created.model_dump_json(indent=2))
        return
    typer.echo(f"key {created.id} ({created.key_prefix}) replaces {key_id}; it is shown this once:")
    typer.echo(created.key)


GROUPS = ("key", "user", "team", "org", "model", "tag", "day")


def spend(
    config: ConfigOption = None,
    by: Annotated[str, typer.Option("--by", help="key, user, team, org, model, tag or day")] = "key",
    start: Annotated[str | None, typer.Option(help="First UTC day, YYYY-MM-DD (default: this month)")] = None,
    end: Annotated[str | None, typer.Option(help="Last UTC day, YYYY-MM-DD (default: today)")] = None,
    as_json: JsonOption = False,
) -> None:
    """Spend per key, user, team, org, model, tag or day over a range of days."""
    from switchgear.keys.tenancy import CLI_ACTOR

    if by not in GROUPS:
        typer.echo(f"error: --by must be one of {', '.join(GROUPS)}", err=True)
        raise typer.Exit(2)
    try:
        first = date.fromisoformat(start) if start else None
        last = date.fromisoformat(end) if end else None
    except ValueError as exc:
        typer.echo(f"error: --start/--end: {exc}", err=True)
        raise typer.Exit(2) from None
    report = _run(config, lambda svc: svc.reports.spend(CLI_ACTOR, by, first, last))  # type: ignore[arg-type]
    columns = ["group", "requests", "failed_requests", "prompt_tokens", "completion_tokens", "spend"]
    _print(report, as_json, columns, [g.model_dump() for g in report.data])
    if not as_json:
        typer.echo(f"{report.start} to {report.end}: total {report.total_spend} USD")
