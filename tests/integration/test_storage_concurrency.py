"""Concurrency on the real databases: the SQL budget reserve admits at most what the budget holds,
and overlapping spend batches written at once are counted once (SQLite and PostgreSQL).

Each test opens extra engines on the same database (``replicas``): separate connection pools, as
separate gateway processes would have.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import TypeVar

import pytest
import sqlalchemy as sa

from switchgear.storage import BudgetExceeded, Database, Scope, SpendRow
from switchgear.storage.budgets import get_counter, reserve, settle
from switchgear.storage.reports import spend_report
from switchgear.storage.spend import record_spend
from switchgear.storage.tables import budget_reservations, spend_log

T = TypeVar("T")
REQUESTS = 200
ESTIMATE = 1_250  # micro-USD per request
ADMITS = 7  # the team's budget holds exactly this many estimates


@pytest.fixture(params=[1, 3], ids=["one-engine", "three-engines"])
async def replicas(request: pytest.FixtureRequest, db: Database) -> AsyncIterator[list[Database]]:
    others = [Database.open(db.engine.url) for _ in range(request.param - 1)]
    yield [db, *others]
    for other in others:
        await other.close()


async def released_together(calls: list[Callable[[], Awaitable[T]]]) -> list[T | BaseException]:
    """Run every call at once: all wait at a gate, then go together."""
    gate = asyncio.Event()

    async def run(call: Callable[[], Awaitable[T]]) -> T:
        await gate.wait()
        return await call()

    tasks = [asyncio.ensure_future(run(call)) for call in calls]
    await asyncio.sleep(0)
    gate.set()
    return await asyncio.gather(*tasks, return_exceptions=True)


async def reserved_and_spent(db: Database, scope: Scope) -> tuple[int, int]:
    counter = await get_counter(db, scope.kind, scope.id, scope.period)
    return (counter.reserved_microusd, counter.spent_microusd) if counter else (0, 0)


async def test_200_concurrent_reserves_admit_exactly_what_the_budget_holds(replicas: list[Database]) -> None:
    db = replicas[0]
    period = "2026-11"
    # every request its own key (no shared row ahead of the team's to serialize them), one team
    keys = [Scope("key", f"k{i}", period, 10 * ESTIMATE) for i in range(REQUESTS)]
    team = Scope("team", "t1", period, ADMITS * ESTIMATE)  # the binding limit
    org = Scope("org", "o1", period, None)  # counted only
    end_user = Scope("end_user", "fresh-user", period, 100 * ESTIMATE)  # no row yet: created in the race

    def call(i: int) -> Callable[[], Awaitable[None]]:
        target = replicas[i % len(replicas)]
        scopes = [org, end_user, team, keys[i]] if i % 2 else [keys[i], team, org, end_user]  # any order
        return lambda: reserve(target, f"r{i}", scopes, ESTIMATE, ttl=timedelta(minutes=1))

    results = await released_together([call(i) for i in range(REQUESTS)])
    unexpected = [r for r in results if isinstance(r, BaseException) and not isinstance(r, BudgetExceeded)]
    assert not unexpected, unexpected[:3]
    admitted = [f"r{i}" for i, r in enumerate(results) if r is None]
    refused = [r for r in results if isinstance(r, BudgetExceeded)]
    assert len(admitted) == ADMITS
    assert all((r.kind, r.scope_id) == ("team", "t1") for r in refused)
    # refused transactions rolled back whole: every scope holds exactly the admitted estimates
    for scope in (team, org, end_user):
        assert await reserved_and_spent(db, scope) == (ADMITS * ESTIMATE, 0)
    admitted_keys = [keys[i] for i, r in enumerate(results) if r is None]
    for scope in admitted_keys:
        assert await reserved_and_spent(db, scope) == (ESTIMATE, 0)
    refused_key = next(keys[i] for i, r in enumerate(results) if r is not None)
    assert await reserved_and_spent(db, refused_key) == (0, 0)  # rolled back
    async with db.read() as conn:
        count = await conn.scalar(sa.select(sa.func.count()).select_from(budget_reservations))
    assert count == ADMITS

    # settle them all at once, each with its actual cost: spent is their sum, nothing stays reserved
    actual = {reservation: random.randint(0, ESTIMATE) for reservation in admitted}
    settled = await released_together(
        [partial(settle, replicas[i % len(replicas)], r, actual[r]) for i, r in enumerate(admitted)]
    )
    assert settled == [True] * ADMITS
    for scope in (team, org, end_user):
        assert await reserved_and_spent(db, scope) == (0, sum(actual.values()))
    for scope, reservation in zip(admitted_keys, admitted, strict=True):
        assert await reserved_and_spent(db, scope) == (0, actual[reservation])
    assert sum(actual.values()) <= team.limit  # type: ignore[operator]


async def test_overlapping_spend_batches_written_at_once_count_each_request_once(
    replicas: list[Database],
) -> None:
    db = replicas[0]
    start = datetime(2026, 11, 4, 23, 59, 58, tzinfo=UTC)  # across midnight: two rollup days
    rows = [
        SpendRow(
            request_id=f"req-{i:04d}",
            created_at=start + timedelta(milliseconds=10 * i),
            model=random.choice(["fast", "smart"]),
            key_id=f"k{i % 3}",
            team_id="t1",
            tags=tuple(random.sample(["a", "b", "c"], k=i % 3)),
            prompt_tokens=i,
            completion_tokens=2 * i,
            cost_nanousd=1_000 * i,
            status=500 if i % 7 == 0 else 200,
        )
        for i in range(400)
    ]
    batches = []
    for _ in range(12):  # every row in several batches, in shuffled orders, on every engine
        batch = random.sample(rows, k=150)
        batches.append(batch)
    batches.append(rows)

    results = await released_together(
        [partial(record_spend, replicas[i % len(replicas)], b) for i, b in enumerate(batches)]
    )
    assert not [r for r in results if isinstance(r, BaseException)], results
    assert sum(results) == len(rows)  # type: ignore[arg-type]

    async with db.read() as conn:
        stored = await conn.scalar(sa.select(sa.func.count()).select_from(spend_log))
    assert stored == len(rows)
    days = await spend_report(db, "day", start.date(), start.date() + timedelta(days=1))
    assert sum(d.requests for d in days) == len(rows)
    assert sum(d.cost_nanousd for d in days) == sum(r.cost_nanousd or 0 for r in rows)
    assert sum(d.completion_tokens for d in days) == sum(r.completion_tokens for r in rows)
    assert sum(d.failed_requests for d in days) == sum(r.status >= 400 for r in rows)
    assert len(days) == 2
    tags = {
        t.group: t.requests
        for t in await spend_report(db, "tag", start.date(), start.date() + timedelta(days=1))
    }
    assert tags == {tag: sum(tag in r.tags for r in rows) for tag in "abc"}
