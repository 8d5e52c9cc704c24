"""Budget counters in SQL: reserve all scopes or none, settle, release, reap (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from switchgear.storage import BudgetExceeded, Conflict, Database, Scope
from switchgear.storage.budgets import (
    add_spend,
    counters_in_periods,
    get_counter,
    list_counters,
    reap_expired,
    release,
    reserve,
    settle,
)

MINUTE = timedelta(minutes=1)
NOW = datetime(2026, 11, 4, 12, 0, tzinfo=UTC)


async def counters(db: Database, *scopes: Scope) -> list[tuple[int, int]]:
    out = []
    for scope in scopes:
        counter = await get_counter(db, scope.kind, scope.id, scope.period)
        out.append((counter.spent_microusd, counter.reserved_microusd) if counter else (0, 0))
    return out


async def test_reserve_settle_and_a_second_settle_does_nothing(db: Database) -> None:
    key, team = Scope("key", "k1", "2026-11", 1000), Scope("team", "t1", "2026-11", 5000)
    await reserve(db, "r1", [team, key], 300, ttl=MINUTE)
    assert await counters(db, key, team) == [(0, 300), (0, 300)]
    assert await settle(db, "r1", 120) is True
    assert await counters(db, key, team) == [(120, 0), (120, 0)]
    assert await settle(db, "r1", 120) is False  # idempotent by reservation id
    assert await release(db, "r1") is False
    assert await counters(db, key, team) == [(120, 0), (120, 0)]


async def test_refusal_names_the_scope_and_reserves_nowhere(db: Database) -> None:
    key = Scope("key", "k1", "p", 1000)
    team = Scope("team", "t1", "p", 500)  # the tighter one
    org = Scope("org", "o1", "p", None)  # counted, never refusing
    await reserve(db, "r1", [key, team, org], 400, ttl=MINUTE)
    with pytest.raises(BudgetExceeded) as refused:
        await reserve(db, "r2", [org, team, key], 200, ttl=MINUTE)
    assert (refused.value.kind, refused.value.scope_id, refused.value.limit) == ("team", "t1", 500)
    assert (refused.value.spent, refused.value.reserved) == (0, 400)
    assert "team 't1' budget exceeded" in str(refused.value)
    # the key scope came first and had room: its increment was rolled back with the rest
    assert await counters(db, key, team, org) == [(0, 400), (0, 400), (0, 400)]
    assert await settle(db, "r2", 0) is False  # no reservation row was left either


async def test_a_request_larger_than_a_fresh_budget_is_refused_before_any_row(db: Database) -> None:
    with pytest.raises(BudgetExceeded) as refused:
        await reserve(db, "r1", [Scope("end_user", "alice", "", 100)], 101, ttl=MINUTE)
    assert refused.value.kind == "end_user"
    assert await get_counter(db, "end_user", "alice") is None


async def test_exactly_the_limit_is_admitted_then_nothing_more(db: Database) -> None:
    scope = Scope("key", "k1", "", 900)
    for i in range(3):
        await reserve(db, f"r{i}", [scope], 300, ttl=MINUTE)
    with pytest.raises(BudgetExceeded):
        await reserve(db, "r3", [scope], 1, ttl=MINUTE)
    await reserve(db, "r4", [scope], 0, ttl=MINUTE)  # a zero estimate always fits
    await release(db, "r0")
    await reserve(db, "r5", [scope], 300, ttl=MINUTE)
    assert await counters(db, scope) == [(0, 900)]


async def test_spend_over_the_estimate_is_recorded_and_blocks_what_follows(db: Database) -> None:
    scope = Scope("key", "k1", "", 1000)
    await reserve(db, "r1", [scope], 100, ttl=MINUTE)
    await settle(db, "r1", 950)  # the provider overran max_tokens: the slack of the promise
    assert await counters(db, scope) == [(950, 0)]
    with pytest.raises(BudgetExceeded):
        await reserve(db, "r2", [scope], 100, ttl=MINUTE)


async def test_periods_are_separate_counters_and_settlement_lands_in_the_reserved_period(
    db: Database,
) -> None:
    october, november = Scope("key", "k1", "2026-10", 100), Scope("key", "k1", "2026-11", 100)
    await reserve(db, "r1", [october], 100, ttl=MINUTE)
    await reserve(db, "r2", [november], 100, ttl=MINUTE)  # a new period: a new counter
    await settle(db, "r1", 60)
    assert await counters(db, october, november) == [(60, 0), (0, 100)]
    assert [c.period for c in await list_counters(db, "key", "k1")] == ["2026-10", "2026-11"]


async def test_reaper_returns_expired_reservations_and_a_late_settle_only_adds_spend(db: Database) -> None:
    scope = Scope("key", "k1", "", 1000)
    await reserve(db, "lost", [scope], 400, ttl=MINUTE, owner="replica-1", now=NOW)
    await reserve(db, "live", [scope], 100, ttl=10 * MINUTE, owner="replica-2", now=NOW)
    assert await reap_expired(db, now=NOW + 2 * MINUTE) == 1
    assert await counters(db, scope) == [(0, 100)]
    assert await reap_expired(db, now=NOW + 2 * MINUTE) == 0  # reaped once
    assert await settle(db, "lost", 30) is True  # the worker came back: spend counted, no double release
    assert await counters(db, scope) == [(30, 100)]
    assert await settle(db, "lost", 30) is False


async def test_reaped_reservations_are_forgotten_after_a_day(db: Database) -> None:
    scope = Scope("key", "k1", "", 1000)
    await reserve(db, "lost", [scope], 400, ttl=MINUTE, now=NOW)
    await reap_expired(db, now=NOW + 2 * MINUTE)
    await reap_expired(db, now=NOW + timedelta(days=2))
    assert await settle(db, "lost", 30) is False
    assert await counters(db, scope) == [(0, 0)]


async def test_counters_never_go_negative(db: Database) -> None:
    scope = Scope("key", "k1", "", 1000)
    await reserve(db, "r1", [scope], 100, ttl=MINUTE, now=NOW)
    async with db.write() as conn:  # someone reset the counter meanwhile
        await conn.exec_driver_sql("UPDATE budgets SET reserved_microusd = 0")
    await settle(db, "r1", 10)
    assert await counters(db, scope) == [(10, 0)]


async def test_bad_amounts_and_duplicate_scopes_are_refused(db: Database) -> None:
    with pytest.raises(ValueError, match="negative"):
        await reserve(db, "r1", [Scope("key", "k1")], -1, ttl=MINUTE)
    with pytest.raises(ValueError, match="twice"):
        await reserve(db, "r1", [Scope("key", "k1"), Scope("key", "k1")], 1, ttl=MINUTE)
    await reserve(db, "r1", [Scope("key", "k1")], 1, ttl=MINUTE)
    with pytest.raises(ValueError, match="negative"):
        await settle(db, "r1", -5)
    with pytest.raises(Conflict, match="exists already"):
        await reserve(db, "r1", [Scope("key", "k1")], 1, ttl=MINUTE)
    assert await counters(db, Scope("key", "k1")) == [(0, 1)]  # the second one reserved nothing


async def test_add_spend_accumulates_without_touching_reservations(db: Database) -> None:
    key = Scope("key", "k1", "202611", 1000)
    await reserve(db, "r1", [key], 300, ttl=MINUTE)
    await add_spend(db, [("key", "k1", "202611", 120), ("global", "", "", 5)])
    await add_spend(db, [("key", "k1", "202611", 30), ("key", "k1", "202610", 7)])
    assert await counters(db, key) == [(150, 300)]
    rows = await counters_in_periods(db, ["202611", ""])
    found = {(c.kind, c.id, c.period): c.spent_microusd for c in rows}
    assert found == {("key", "k1", "202611"): 150, ("global", "", ""): 5}
    with pytest.raises(ValueError, match="negative"):
        await add_spend(db, [("key", "k1", "202611", -1)])
