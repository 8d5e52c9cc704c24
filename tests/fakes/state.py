"""State backends for tests: a Redis one under its own key prefix (deleted afterwards), and a
stepped clock for the memory backend."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from switchgear.state import RedisState


def new_prefix() -> str:
    return f"sgtest:{uuid.uuid4().hex[:12]}:"


async def delete_prefix(state: RedisState, prefix: str) -> None:
    keys = [key async for key in state.client.scan_iter(match=prefix + "*", count=1000)]
    if keys:
        await state.client.delete(*keys)


@asynccontextmanager
async def redis_state(
    url: str, prefix: str | None = None, timeout_s: float = 2.0
) -> AsyncIterator[RedisState]:
    prefix = prefix or new_prefix()
    state = RedisState.from_url(url, prefix=prefix, timeout_s=timeout_s)
    await state.start()
    try:
        yield state
    finally:
        await delete_prefix(state, prefix)
        await state.close()


class SteppedClock:
    """Microseconds since the epoch that move only when the test says so."""

    def __init__(self, start_us: int = 1_767_225_600_000_000) -> None:  # 2026-01-01T00:00:00Z
        self.now_us = start_us

    def __call__(self) -> int:
        return self.now_us

    def advance(self, seconds: float) -> None:
        self.now_us += int(seconds * 1_000_000)
