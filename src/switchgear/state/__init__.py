"""Counters and leases for budgets, rate limits and concurrency: one protocol, two backends.

``MemoryState`` keeps them in the process (one worker); ``RedisState`` keeps them in Redis, shared
by every process and machine, each operation one Lua script. ``build_state`` picks one from the
settings (``storage.redis_url``). See docs/state.md for the exactness guarantee and its bound.
"""

from switchgear.state.build import build_state
from switchgear.state.memory import MemoryState
from switchgear.state.periods import Period
from switchgear.state.protocol import StateBackend, StateUnavailable
from switchgear.state.reaper import Reaper
from switchgear.state.redis_backend import RedisState
from switchgear.state.types import (
    Admission,
    Budget,
    Concurrency,
    LimitStatus,
    RateLimit,
    Refusal,
    Reservation,
    Scope,
    Settlement,
    SoftCrossing,
    Spend,
    StateStats,
)

__all__ = [
    "Admission",
    "Budget",
    "Concurrency",
    "LimitStatus",
    "MemoryState",
    "Period",
    "RateLimit",
    "Reaper",
    "RedisState",
    "Refusal",
    "Reservation",
    "Scope",
    "Settlement",
    "SoftCrossing",
    "Spend",
    "StateBackend",
    "StateStats",
    "StateUnavailable",
    "build_state",
]
