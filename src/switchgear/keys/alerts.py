"""Soft-budget alerts: a JSON POST to ``governance.alert_webhook`` when a scope's spend crosses its
soft budget (once per scope and period, on whichever process settles the crossing request).

Posted by a background task, off the request path and off the settle hook, each with a 5 s timeout;
at most 1,000 alerts wait (more are counted as dropped). Failures are counted and logged, never
retried. Crossings are counted whether or not a webhook is set. The body::

    {"event": "soft_budget_crossed", "scope": "key", "id": "key_12", "period": "202612",
     "soft_budget_usd": "10", "spent_usd": "10.0125", "soft_budget_microusd": 10000000,
     "spent_microusd": 10012500}
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

import aiohttp

from switchgear.keys.limits import usd
from switchgear.state import SoftCrossing
from switchgear.state.periods import FOREVER_ID

log = logging.getLogger("switchgear.keys")
_TIMEOUT_S = 5.0
_QUEUE = 1000


def alert_body(crossing: SoftCrossing) -> dict[str, object]:
    scope = crossing.scope
    return {
        "event": "soft_budget_crossed",
        "scope": scope.kind,
        "id": scope.id,
        "period": "" if crossing.period_id == FOREVER_ID else crossing.period_id,
        "soft_budget_usd": usd(crossing.soft_microusd)[1:],
        "spent_usd": usd(crossing.spent_microusd)[1:],
        "soft_budget_microusd": crossing.soft_microusd,
        "spent_microusd": crossing.spent_microusd,
    }


class Alerts:
    def __init__(self, webhook: str | None) -> None:
        self.webhook = webhook
        self.crossings = 0
        self.sent = 0
        self.failed = 0
        self.dropped = 0
        self._queue: asyncio.Queue[SoftCrossing] = asyncio.Queue(_QUEUE)
        self._task: asyncio.Task[None] | None = None

    def crossed(self, crossing: SoftCrossing) -> None:
        """Count a crossing and queue its alert (never waits)."""
        self.crossings += 1
        log.info(
            "soft budget crossed: %s %s spent %s",
            crossing.scope.kind,
            crossing.scope.id,
            usd(crossing.spent_microusd),
        )
        if self.webhook is None:
            return
        try:
            self._queue.put_nowait(crossing)
        except asyncio.QueueFull:
            self.dropped += 1

    async def start(self) -> None:
        if self.webhook is not None and self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._post_all(), name="budget-alerts")

    async def close(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _post_all(self) -> None:
        assert self.webhook is not None
        timeout = aiohttp.ClientTimeout(total=_TIMEOUT_S)
        async with aiohttp.ClientSession(timeout=timeout) as session:
            while True:
                crossing = await self._queue.get()
                try:
                    async with session.post(self.webhook, json=alert_body(crossing)) as response:
                        if response.status >= 400:
                            raise RuntimeError(f"the webhook answered {response.status}")
                    self.sent += 1
                except Exception as exc:  # a task boundary: count it, say so, go on
                    self.failed += 1
                    log.warning("soft-budget alert to the webhook failed (%d so far): %s", self.failed, exc)
