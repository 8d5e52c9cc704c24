"""Durable budgets: settled spend kept in the database, and the state backend seeded from it.

The state backend's counters are lost when the memory backend restarts or Redis is flushed. The
settle hook therefore adds what it settled, per scope and period, to the pending totals (``add``,
in memory); a background task writes them to the database's ``budgets`` counters once a second in
one transaction (never on the request path, and one write however many requests settled), and
once more when the worker stops. Spend that could not be written stays pending and goes with the
next flush (should the database fail after committing, that batch may count twice). At start-up,
``seed`` raises every known budget's counter of the current period in the state backend to what
the database holds (it never lowers one: a Redis that kept its counters keeps them).

Period ids are the state backend's (``202612`` for a calendar month, the period's index since the
epoch for a fixed length); a budget that never resets is stored under period ``""``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

from switchgear.state import Budget, StateBackend
from switchgear.state.periods import FOREVER_ID, period_at
from switchgear.storage import Database
from switchgear.storage import budgets as counters

log = logging.getLogger("switchgear.keys")
_MAX_PENDING = 100_000  # scope-periods held while the database is unreachable
FLUSH_INTERVAL_S = 1.0


def stored_period(budget: Budget, at_s: int) -> str:
    period_id, _end = period_at(budget.period, at_s)
    return "" if period_id == FOREVER_ID else period_id


class SpendLedger:
    def __init__(self, db: Database) -> None:
        self.db = db
        self.pending: dict[tuple[str, str, str], int] = {}
        self.written = 0  # micro-USD written so far
        self.failures = 0
        self.dropped = 0
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._flush_every(), name="spend-ledger")

    async def close(self) -> None:
        """Stop flushing in the background, then write what is pending."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self.flush()

    async def _flush_every(self) -> None:
        while True:
            await asyncio.sleep(FLUSH_INTERVAL_S)
            await self.flush()

    def add(self, budget: Budget, at_s: int, microusd: int) -> None:
        """Spend settled in ``budget``'s period holding ``at_s`` (the admission's time)."""
        if microusd <= 0:
            return
        scope = budget.scope
        key = (scope.kind, scope.id, stored_period(budget, at_s))
        if key not in self.pending and len(self.pending) >= _MAX_PENDING:
            self.dropped += 1
            return
        self.pending[key] = self.pending.get(key, 0) + microusd

    async def flush(self) -> bool:
        """Write what is pending in one transaction; False (kept for the next flush) on failure."""
        if not self.pending:
            return True
        batch, self.pending = self.pending, {}
        try:
            await counters.add_spend(self.db, [(*key, amount) for key, amount in batch.items()])
        except Exception as exc:  # the database is down: keep the spend for the next flush
            self.failures += 1
            for key, amount in batch.items():
                self.pending[key] = self.pending.get(key, 0) + amount
            log.warning(
                "could not record settled spend in the database (%d failures): %s", self.failures, exc
            )
            return False
        self.written += sum(batch.values())
        return True

    async def seed(self, state: StateBackend, budgets: list[Budget]) -> int:
        """Raise the state backend's counters of the current periods to the database's; how many."""
        now_s = int(time.time())
        wanted: dict[tuple[str, str, str], Budget] = {
            (b.scope.kind, b.scope.id, stored_period(b, now_s)): b for b in budgets
        }
        if not wanted:
            return 0
        found = await counters.counters_in_periods(self.db, sorted({key[2] for key in wanted}))
        seeded = 0
        for row in found:
            budget = wanted.get((row.kind, row.id, row.period))
            if budget is not None and row.spent_microusd > 0:
                await state.seed(budget, row.spent_microusd, now_s * 1_000_000)
                seeded += 1
        return seeded
