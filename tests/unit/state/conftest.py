"""Every backend test runs twice: on the memory backend and on a real Redis."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from switchgear.state import MemoryState, RedisState
from tests.fakes.state import redis_state


@pytest.fixture(params=["memory", "redis"])
async def state(request: pytest.FixtureRequest) -> AsyncIterator[MemoryState | RedisState]:
    if request.param == "memory":
        yield MemoryState()
        return
    url = request.getfixturevalue("redis_url")
    async with redis_state(url) as backend:
        yield backend
