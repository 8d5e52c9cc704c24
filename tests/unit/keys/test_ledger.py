"""Durable budgets: settled spend written to the database, and a fresh state backend seeded from it."""

from __future__ import annotations

import time

from switchgear.keys.ledger import SpendLedger, stored_period
from switchgear.state import Budget, MemoryState, Period, Scope
from switchgear.storage import Database
from switchgear.storage.budgets import get_counter

MONTH = Period.parse("month")


async def test_spend_is_written_per_scope_and_period_and_seeds_a_new_backend(db: Database) -> None:
    key = Budget(Scope("key", "k1"), 10_000, MONTH)
    forever = Budget(Scope("global"), 10_000)
    now_s = int(time.time())
    ledger = SpendLedger(db)
    ledger.add(key, now_s, 120)
    ledger.add(key, now_s, 30)
    ledger.add(forever, now_s, 7)
    ledger.add(key, now_s, 0)  # nothing spent: nothing written
    assert await ledger.flush()
    assert ledger.pending == {}
    counter = await get_counter(db, "key", "k1", stored_period(key, now_s))
    assert counter is not None and counter.spent_microusd == 150
    everything = await get_counter(db, "global", "", "")
    assert everything is not None and everything.spent_microusd == 7

    state = MemoryState()
    assert await ledger.seed(state, [key, forever, Budget(Scope("team", "none"), 5)]) == 2
    assert (await state.spent(key.scope, MONTH)).spent_microusd == 150
    assert (await state.spent(forever.scope)).spent_microusd == 7


async def test_close_writes_what_is_pending(db: Database) -> None:
    key = Budget(Scope("key", "k2"), 10_000)
    ledger = SpendLedger(db)
    ledger.start()
    ledger.add(key, int(time.time()), 42)
    await ledger.close()
    counter = await get_counter(db, "key", "k2", "")
    assert counter is not None and counter.spent_microusd == 42
