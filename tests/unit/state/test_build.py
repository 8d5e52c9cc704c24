"""The settings pick the backend: Redis with storage.redis_url, else memory."""

from __future__ import annotations

from switchgear.config import Settings
from switchgear.state import MemoryState, RedisState, build_state


async def test_the_settings_pick_the_backend() -> None:
    assert isinstance(build_state(Settings()), MemoryState)
    chosen = build_state(Settings.model_validate({"storage": {"redis_url": "redis://127.0.0.1:1/2"}}))
    assert isinstance(chosen, RedisState)
    assert chosen.client.connection_pool.connection_kwargs["db"] == 2
    await chosen.close()
