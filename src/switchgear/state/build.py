"""Pick the state backend from the settings: Redis when ``storage.redis_url`` is set, else memory."""

from __future__ import annotations

from switchgear.config.model import Settings
from switchgear.state.memory import MemoryState
from switchgear.state.protocol import StateBackend
from switchgear.state.redis_backend import RedisState


def build_state(settings: Settings) -> StateBackend:
    url = settings.storage.redis_url
    if url is None:
        return MemoryState()
    return RedisState.from_url(url.get_secret_value())
