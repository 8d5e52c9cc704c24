"""The promises of the state protocol, held by both backends (memory and a real Redis)."""

from __future__ import annotations

import asyncio
import time

import pytest

from switchgear.state import (
    Admission,
    Budget,
    Concurrency,
    MemoryState,
    Period,
    RateLimit,
    RedisState,
    Refusal,
    Reservation,
    Scope,
)

State = MemoryState | RedisState
KEY, TEAM, END_USER = Scope("key", "k1"), Scope("team", "t1"), Scope("end_user", "alice")
DAY = Period.parse("1d")


def ask(id_: str, cost: int = 100, tokens: int = 10, ttl: float = 30.0, **limits: object) -> Admission:
    return Admission(id_, cost, tokens, ttl, **limits)  # type: ignore[arg-type]


def admitted(result: Reservation | Refusal) -> Reservation:
    assert isinstance(result, Reservation), result
    return result


def refused(result: Reservation | Refusal) -> Refusal:
    assert isinstance(result, Refusal), result
    return result


async def test_a_budget_admits_while_the_worst_case_fits(state: State) -> None:
    budget = Budget(KEY, 350, DAY)
    for i in range(3):
        admitted(await state.admit(ask(f"r{i}", budgets=(budget,))))
    refusal = refused(await state.admit(ask("r3", budgets=(budget,))))
    assert (refusal.kind, refusal.scope, refusal.limit) == ("budget", KEY, 350)
    assert (refusal.used, refusal.requested, refusal.retry_after_s) == (300, 100, None)
    assert not refusal.never_fits
    spend = await state.spent(KEY, DAY)
    assert refusal.resets_at_us == spend.resets_at_us is not None
    assert (spend.spent_microusd, spend.reserved_microusd) == (0, 300)


async def test_a_refusal_in_one_scope_reserves_nothing_anywhere(state: State) -> None:
    rpm = RateLimit(KEY, "requests", 10)
    limits = {"budgets": (Budget(KEY, 1000, DAY), Budget(TEAM, 150, DAY)), "rates": (rpm,)}
    admitted(await state.admit(ask("a", **limits)))
    refusal = refused(await state.admit(ask("b", **limits)))
    assert (refusal.kind, refusal.scope, refusal.used) == ("budget", TEAM, 100)
    assert (await state.spent(KEY, DAY)).reserved_microusd == 100
    assert (await state.rate(rpm)).used == 1  # the refused request took no rate-limit slot


async def test_settle_moves_the_reservation_to_its_actual_cost_once(state: State) -> None:
    budgets = (Budget(KEY, 1000, DAY), Budget(END_USER, 1000, DAY))
    admitted(await state.admit(ask("a", budgets=budgets)))
    assert (await state.settle("a", 70, 5)).outcome == "settled"
    assert (await state.settle("a", 70, 5)).outcome == "unknown"
    assert (await state.release("a")).outcome == "unknown"
    for scope in (KEY, END_USER):
        spend = await state.spent(scope, DAY)
        assert (spend.spent_microusd, spend.reserved_microusd) == (70, 0)


async def test_release_gives_everything_back(state: State) -> None:
    parallel = Concurrency(KEY, 1)
    admitted(await state.admit(ask("a", budgets=(Budget(KEY, 100, DAY),), concurrency=(parallel,))))
    assert await state.in_flight(parallel) == 1
    assert (await state.release("a")).outcome == "settled"
    spend = await state.spent(KEY, DAY)
    assert (spend.spent_microusd, spend.reserved_microusd) == (0, 0)
    assert await state.in_flight(parallel) == 0
    admitted(await state.admit(ask("b", budgets=(Budget(KEY, 100, DAY),), concurrency=(parallel,))))


async def test_actual_cost_above_the_estimate_is_recorded_and_negative_counts_as_zero(state: State) -> None:
    budget = Budget(KEY, 1000, DAY)
    admitted(await state.admit(ask("a", budgets=(budget,))))
    admitted(await state.admit(ask("b", budgets=(budget,))))
    await state.settle("a", 150, 0)
    await state.settle("b", -40, -3)
    spend = await state.spent(KEY, DAY)
    assert (spend.spent_microusd, spend.reserved_microusd) == (150, 0)


async def test_money_beyond_32_bits_stays_exact(state: State) -> None:
    big = 4_000_000_000_123  # four million dollars and change, in micro-USD
    budget = Budget(Scope("global"), 10 * big, Period.parse("month"))
    admitted(await state.admit(ask("a", cost=big, budgets=(budget,))))
    await state.settle("a", big - 1, 0)
    assert (await state.spent(Scope("global"), Period.parse("month"))).spent_microusd == big - 1


async def test_a_soft_budget_crossing_is_reported_once(state: State) -> None:
    budget = Budget(KEY, 10_000, DAY, soft_microusd=150)
    crossings = []
    for i in range(3):
        admitted(await state.admit(ask(f"r{i}", budgets=(budget,))))
        crossings.append((await state.settle(f"r{i}", 100, 0)).soft_crossings)
    assert crossings[0] == crossings[2] == ()
    (crossing,) = crossings[1]
    assert (crossing.scope, crossing.soft_microusd, crossing.spent_microusd) == (KEY, 150, 200)
    assert crossing.period_id == (await state.spent(KEY, DAY)).period_id


async def test_a_request_limit_refuses_with_the_wait_until_a_slot_frees(state: State) -> None:
    rpm = RateLimit(KEY, "requests", 3, window_s=60)
    for i in range(3):
        reservation = admitted(await state.admit(ask(f"r{i}", rates=(rpm,))))
    (status,) = reservation.limits
    assert (status.used, status.remaining) == (3, 0)
    assert 59 < status.reset_s <= 60
    refusal = refused(await state.admit(ask("r3", rates=(rpm,))))
    assert (refusal.kind, refusal.scope, refusal.limit, refusal.used) == ("requests", KEY, 3, 3)
    assert refusal.retry_after_s is not None and 59 < refusal.retry_after_s <= 60
    assert refusal.limits[0].remaining == 0


async def test_the_request_crossing_a_token_limit_completes_and_the_next_is_refused(state: State) -> None:
    tpm = RateLimit(KEY, "tokens", 100)
    admitted(await state.admit(ask("a", tokens=40, rates=(tpm,))))
    await state.settle("a", 0, 150)  # the answer was longer than estimated
    assert (await state.rate(tpm)).used == 150
    refusal = refused(await state.admit(ask("b", tokens=40, rates=(tpm,))))
    assert (refusal.kind, refusal.used, refusal.requested) == ("tokens", 150, 40)
    assert refusal.retry_after_s is not None and 59 < refusal.retry_after_s <= 60


async def test_a_request_larger_than_the_token_limit_never_fits(state: State) -> None:
    refusal = refused(await state.admit(ask("a", tokens=101, rates=(RateLimit(KEY, "tokens", 100),))))
    assert refusal.never_fits and refusal.retry_after_s is None


async def test_a_short_token_window_lets_go(state: State) -> None:
    tpm = RateLimit(KEY, "tokens", 50, window_s=1)
    admitted(await state.admit(ask("a", tokens=40, rates=(tpm,))))
    refusal = refused(await state.admit(ask("b", tokens=40, rates=(tpm,))))
    assert refusal.retry_after_s is not None and 0 < refusal.retry_after_s <= 1
    await asyncio.sleep(refusal.retry_after_s + 0.01)
    admitted(await state.admit(ask("b", tokens=40, rates=(tpm,))))


async def test_concurrency_leases_are_taken_and_returned(state: State) -> None:
    parallel = Concurrency(KEY, 2)
    admitted(await state.admit(ask("a", concurrency=(parallel,))))
    admitted(await state.admit(ask("b", concurrency=(parallel,))))
    refusal = refused(await state.admit(ask("c", concurrency=(parallel,))))
    assert (refusal.kind, refusal.limit, refusal.used, refusal.retry_after_s) == ("concurrency", 2, 2, 1.0)
    await state.settle("a", 10, 10)
    admitted(await state.admit(ask("c", concurrency=(parallel,))))
    assert await state.in_flight(parallel) == 2


async def test_an_expired_lease_no_longer_holds_its_slot(state: State) -> None:
    parallel = Concurrency(KEY, 1)
    admitted(await state.admit(ask("a", ttl=0.05, concurrency=(parallel,))))
    await asyncio.sleep(0.08)
    assert await state.in_flight(parallel) == 0
    admitted(await state.admit(ask("b", concurrency=(parallel,))))


async def test_the_reaper_returns_expired_reservations_and_a_late_settle_records_spend(state: State) -> None:
    budget = Budget(KEY, 1000, DAY)
    admitted(await state.admit(ask("lost", ttl=0.05, budgets=(budget,), concurrency=(Concurrency(KEY, 5),))))
    admitted(await state.admit(ask("alive", ttl=30, budgets=(budget,))))
    await asyncio.sleep(0.08)
    assert await state.reap() == 1
    assert await state.reap() == 0
    assert state.stats.reaped_reservations == 1
    assert (await state.spent(KEY, DAY)).reserved_microusd == 100  # "alive" still holds its own
    assert (await state.settle("lost", 70, 0)).outcome == "late"
    assert (await state.settle("lost", 70, 0)).outcome == "unknown"
    await state.release("alive")
    spend = await state.spent(KEY, DAY)
    assert (spend.spent_microusd, spend.reserved_microusd) == (70, 0)


async def test_a_reservation_of_no_money_settles_releases_and_is_reaped(state: State) -> None:
    """An unpriced model reserves 0 in its budgets: giving 0 back must work (Lua's -0 is not an
    integer to Redis; a reservation of 0 once stopped every reap and settle of it)."""
    budget = Budget(KEY, 1000, DAY)
    tokens = RateLimit(KEY, "tokens", 10_000)
    admitted(await state.admit(ask("free-settled", cost=0, budgets=(budget,), rates=(tokens,))))
    admitted(await state.admit(ask("free-released", cost=0, budgets=(budget,))))
    admitted(await state.admit(ask("free-lost", cost=0, ttl=0.05, budgets=(budget,))))
    admitted(await state.admit(ask("priced-lost", cost=40, ttl=0.05, budgets=(budget,))))
    assert (await state.settle("free-settled", 0, 0)).outcome == "settled"
    assert (await state.release("free-released")).outcome == "settled"
    await asyncio.sleep(0.08)
    assert await state.reap() == 2  # the free one does not block the priced one behind it
    spend = await state.spent(KEY, DAY)
    assert (spend.spent_microusd, spend.reserved_microusd) == (0, 0)


async def test_a_reservation_id_is_used_once(state: State) -> None:
    admitted(await state.admit(ask("a")))
    with pytest.raises(ValueError, match="in use"):
        await state.admit(ask("a"))


async def test_a_budget_without_period_never_resets(state: State) -> None:
    admitted(await state.admit(ask("a", budgets=(Budget(KEY, 500),))))
    await state.settle("a", 100, 0)
    spend = await state.spent(KEY)
    assert (spend.period_id, spend.resets_at_us, spend.spent_microusd) == ("all", None, 100)


async def test_one_scope_may_have_budgets_over_several_periods(state: State) -> None:
    budgets = (Budget(KEY, 1000, DAY), Budget(KEY, 150, Period.parse("month")))
    admitted(await state.admit(ask("a", budgets=budgets)))
    refusal = refused(await state.admit(ask("b", budgets=budgets)))
    assert (refusal.kind, refusal.limit) == ("budget", 150)
    assert (await state.spent(KEY, DAY)).reserved_microusd == 100


async def test_a_settle_after_the_period_ended_lands_in_the_reservation_period(state: State) -> None:
    second = Period("fixed", 1)
    budget = Budget(KEY, 150, second)
    reservation = admitted(await state.admit(ask("a", budgets=(budget,))))
    old = await state.spent(KEY, second, at_us=reservation.at_us)
    assert old.resets_at_us is not None
    await asyncio.sleep(max(0.0, old.resets_at_us / 1e6 - time.time()) + 0.05)
    later = admitted(await state.admit(ask("b", budgets=(budget,))))  # a new period: a fresh budget
    await state.settle("a", 120, 0)
    before = await state.spent(KEY, second, at_us=reservation.at_us)
    assert (before.period_id, before.spent_microusd, before.reserved_microusd) == (old.period_id, 120, 0)
    after = await state.spent(KEY, second, at_us=later.at_us)
    assert after.period_id != old.period_id
    assert (after.spent_microusd, after.reserved_microusd) == (0, 100)


async def test_seed_raises_a_counter_to_the_ledger_and_never_lowers_it(state: State) -> None:
    budget = Budget(KEY, 1000, DAY, soft_microusd=500)
    assert await state.seed(budget, 600) == 600
    spend = await state.spent(KEY, DAY)
    assert (spend.spent_microusd, spend.reserved_microusd) == (600, 0)
    refusal = refused(await state.admit(ask("r1", cost=500, budgets=(budget,))))
    assert refusal.used == 600
    admitted(await state.admit(ask("r2", cost=400, budgets=(budget,))))
    assert await state.seed(budget, 100) == 600  # lower: unchanged
    settlement = await state.settle("r2", 50, 0)
    assert settlement.soft_crossings == ()  # the seeded spend had crossed it already: reported
    spend = await state.spent(KEY, DAY)
    assert (spend.spent_microusd, spend.reserved_microusd) == (650, 0)


async def test_seed_lands_in_the_period_of_the_given_time(state: State) -> None:
    budget = Budget(TEAM, 1000, DAY)
    yesterday_us = (int(time.time()) - 86_400) * 1_000_000
    await state.seed(budget, 700, yesterday_us)
    assert (await state.spent(TEAM, DAY)).spent_microusd == 0
    assert (await state.spent(TEAM, DAY, yesterday_us)).spent_microusd == 700
