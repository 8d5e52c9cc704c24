"""Settle queues linger after waking: records that arrive within ``linger`` go in one batch."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from switchgear.stages.base import Stage
from switchgear.stages.context import RequestContext
from switchgear.stages.record import RequestRecord
from switchgear.stages.settle import SettleQueue


class Batches(Stage):
    name = "batches"

    def __init__(self) -> None:
        self.sizes: list[int] = []

    async def settle(self, records: Sequence[RequestRecord]) -> None:
        self.sizes.append(len(records))


async def _three_spread(linger: float) -> list[int]:
    stage = Batches()
    queue = SettleQueue(stage, size=100, overflow="drop_new", batch=100, linger=linger)
    queue.start()
    await asyncio.sleep(0)  # the consumer waits, idle, for its first record
    for i in range(3):
        queue.put(RequestContext(request_id=f"r{i}", api="chat"))
        await asyncio.sleep(0.01)  # one request every 10 ms
    await asyncio.sleep(0.2)
    await queue.close()
    return stage.sizes


async def test_records_within_the_linger_share_a_batch() -> None:
    assert await _three_spread(0.1) == [3]


async def test_without_linger_each_record_is_its_own_batch() -> None:
    assert await _three_spread(0.0) == [1, 1, 1]
