"""``switchgear replay``: the spend log's bill over a date range, beside what it would have cost
under other prices, another model (a tiered one decides on the logged prompts), another tiering
goal or with the exact cache on (``routing.tiering.replay``).

Reads the database of the configuration given (``storage``), prices with its models and the
bundled catalog, sends nothing to any provider. Exit status 2 on a bad option or configuration.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from switchgear.catalog import parse_usd_per_mtok
from switchgear.catalog.catalog import Prices
from switchgear.config import ConfigError, Settings, load_settings
from switchgear.core.money import usd_text
from switchgear.core.usage import Usage
from switchgear.providers import PROVIDER_SETTINGS
from switchgear.routing.router import Router
from switchgear.routing.tiering.policy import Policy, load_model
from switchgear.routing.tiering.replay import Bill, Line, Logged, Scenario, Target, replay
from switchgear.routing.tiering.rules import Facts
from switchgear.routing.tiering.signals import signals

if TYPE_CHECKING:  # the storage package is imported by the command only (other commands start without it)
    from switchgear.storage import Database, SpendRow


def _fail(message: str) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(2)


def _pairs(values: list[str] | None, option: str) -> dict[str, str]:
    found: dict[str, str] = {}
    for value in values or ():
        name, sep, rest = value.partition("=")
        if not sep or not name.strip() or not rest.strip():
            raise _fail(f"{option} {value!r}: expected NAME=VALUE")
        found[name.strip()] = rest.strip()
    return found


def _prices(values: dict[str, str]) -> dict[str, Prices]:
    made: dict[str, Prices] = {}
    for name, text in values.items():
        given, _, output = text.partition(",")
        try:
            made[name] = Prices(
                input=parse_usd_per_mtok(given.strip()), output=parse_usd_per_mtok(output.strip())
            )
        except ValueError as exc:
            raise _fail(f"--price {name}={text}: USD per million tokens as INPUT,OUTPUT ({exc})") from None
    return made


def _scenario(
    settings: Settings,
    price: list[str] | None,
    reroute: list[str] | None,
    share: list[str] | None,
    cache: bool,
) -> Scenario:
    models = {m.name: m for m in settings.models}
    routes = _pairs(reroute, "--reroute")
    for source, target in routes.items():
        if target not in models:
            raise _fail(f"--reroute {source}={target}: {target!r} is not a configured model")
    thresholds: dict[str, float] = {}
    for name, text in _pairs(share, "--tier-share").items():
        tiering = models[name].tiering if name in models else None
        if tiering is None or tiering.policy != "classifier":
            raise _fail(f"--tier-share {name}: not a model with a classifier tiering policy")
        try:
            value = float(text)
        except ValueError:
            raise _fail(f"--tier-share {name}={text}: a share between 0 and 1") from None
        if not 0 <= value <= 1:
            raise _fail(f"--tier-share {name}={text}: a share between 0 and 1")
        thresholds[name] = load_model(tiering).threshold_for_share(value)
    deciders = {
        target: _decider(Policy(target, tiering))
        for target in set(routes.values())
        if (tiering := models[target].tiering) is not None
    }
    return Scenario(
        prices=_prices(_pairs(price, "--price")),
        reroute=routes,
        tier_thresholds=thresholds,
        deciders=deciders,
        cache=cache,
    )


def _day(text: str | None, option: str) -> date | None:
    try:
        return date.fromisoformat(text) if text else None
    except ValueError as exc:
        raise _fail(f"{option}: {exc}") from None


async def _rows(db: Database, start: datetime | None, end: datetime | None, bodies: bool) -> list[Logged]:
    """The spend log's rows in the range, oldest first; with ``bodies``, each with its logged
    request body (payload logging), where there is one."""
    from switchgear.storage.payloads import get_payload
    from switchgear.storage.reports import query_requests

    found: list[Logged] = []
    cursor: str | None = None
    try:
        while True:
            page = await query_requests(db, start=start, end=end, limit=1000, cursor=cursor)
            for row in page.rows:
                payload = await get_payload(db, row.request_id) if bodies else None
                found.append(_logged(row, payload.request if payload is not None else None))
            cursor = page.next_cursor
            if cursor is None:
                found.reverse()  # newest first -> in arrival order (a cache fills as requests come)
                return found
    finally:
        await db.close()


def _logged(row: SpendRow, body: str | None) -> Logged:
    usage = Usage(
        prompt_tokens=row.prompt_tokens,
        completion_tokens=row.completion_tokens,
        cached_tokens=row.cached_tokens,
        cache_write_tokens=row.cache_write_tokens,
        reasoning_tokens=row.reasoning_tokens,
    )
    served = f"{row.provider}/{row.deployment}" if row.provider and row.deployment else None
    return Logged(row.model, row.team_id, served, usage, row.cost_nanousd, row.tier, row.tier_reason, body)


def _decider(policy: Policy) -> Callable[[Logged], str | None]:
    """A tiered model's choice for a logged request, from its logged body (None without one)."""

    def decide(row: Logged) -> str | None:
        try:
            body = json.loads(row.body) if row.body is not None else None
        except ValueError:
            return None
        if not isinstance(body, dict):
            return None
        decision = policy.decide(signals(body), Facts(hint=None, tags=(), team=row.team))
        return policy.tiers[decision.tier]

    return decide


def _lookups(router: Router) -> tuple[dict[str, Target], dict[str, Prices]]:
    """Each configured model's first deployment, and the prices of every configured deployment."""
    first: dict[str, Target] = {}
    known: dict[str, Prices] = {}
    for name, pool in router.pools.items():
        for d in pool.deployments:
            if d.info is not None:
                known.setdefault(d.label, d.info.prices)
                first.setdefault(name, Target(d.label, d.info.prices))
    return first, known


def replay_command(
    *,
    config: Annotated[Path, typer.Option("--config", "-c", help="YAML configuration (storage, models)")],
    since: Annotated[
        str | None, typer.Option(help="first UTC day, YYYY-MM-DD (default: 30 days ago)")
    ] = None,
    until: Annotated[str | None, typer.Option(help="last UTC day, YYYY-MM-DD (default: today)")] = None,
    price: Annotated[list[str] | None, typer.Option(help="LABEL=IN,OUT USD per Mtok (repeatable)")] = None,
    reroute: Annotated[
        list[str] | None, typer.Option(help="MODEL=OTHER: serve MODEL by OTHER (repeatable)")
    ] = None,
    tier_share: Annotated[
        list[str] | None, typer.Option(help="MODEL=SHARE: a classifier goal (repeatable)")
    ] = None,
    cache: Annotated[
        bool, typer.Option("--cache", help="exact repeats (logged prompts) answered from the cache")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="one JSON object")] = False,
) -> None:
    """Recompute the spend log's bill under other prices, models or tiering goals (no provider called)."""
    from switchgear.engine.build import build_router
    from switchgear.storage import Database, StorageError

    try:
        settings = load_settings(config, dict(os.environ), PROVIDER_SETTINGS)
        router = build_router(settings)
        db = Database.from_settings(settings.storage, dict(os.environ))
    except (ConfigError, StorageError) as exc:
        raise _fail(str(exc)) from None
    scenario = _scenario(settings, price, reroute, tier_share, cache)
    last = _day(until, "--until") or datetime.now(UTC).date()
    first = _day(since, "--since") or last - timedelta(days=30)
    start = datetime.combine(first, time(), UTC)
    end = datetime.combine(last + timedelta(days=1), time(), UTC)
    rows = asyncio.run(_rows(db, start, end, bodies=cache or bool(scenario.deciders)))
    targets, known = _lookups(router)
    tiers = {m.name: tuple(m.tiering.tiers) for m in settings.models if m.tiering is not None}
    bill = replay(rows, scenario, first_of=targets.get, tiers_of=tiers.get, catalog=known.get)
    _print(bill, as_json, first, last)


def _line(name: str, line: Line) -> dict[str, object]:
    return {
        "name": name,
        "requests": line.requests,
        "actual_usd": usd_text(line.actual_nanousd),
        "projected_usd": usd_text(line.projected_nanousd),
        "unpriced": line.unpriced,
    }


def _print(bill: Bill, as_json: bool, first: date, last: date) -> None:
    groups = {
        "by_model": [_line(k, v) for k, v in sorted(bill.by_model.items())],
        "by_team": [_line(k, v) for k, v in sorted(bill.by_team.items())],
    }
    total = _line("total", bill.total)
    if as_json:
        made = {"start": first.isoformat(), "end": last.isoformat(), "total": total, **groups}
        typer.echo(json.dumps(made))
        return
    typer.echo(f"{first} to {last} (USD; unpriced requests are left out of both sums)")
    for title, lines in groups.items():
        heading = title.replace("_", " ")
        typer.echo(f"\n{heading:<26} {'requests':>8} {'actual':>14} {'projected':>14} {'unpriced':>8}")
        for item in [*lines, total]:
            typer.echo(
                f"  {item['name']!s:<24} {item['requests']!s:>8} {item['actual_usd']!s:>14}"
                f" {item['projected_usd']!s:>14} {item['unpriced']!s:>8}"
            )
