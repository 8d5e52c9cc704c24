"""The public surface of the state package, and the scripts it ships."""

from __future__ import annotations

import switchgear.state as state_package
from switchgear.state.redis_scripts import Scripts


def test_public_surface() -> None:
    assert sorted(state_package.__all__) == [
        "Admission", "Budget", "Concurrency", "LimitStatus", "MemoryState", "Period", "RateLimit",
        "Reaper", "RedisState", "Refusal", "Reservation", "Scope", "Settlement", "SoftCrossing",
        "Spend", "StateBackend", "StateStats", "StateUnavailable", "build_state",
    ]  # fmt: skip


def test_every_script_is_the_common_part_and_its_own() -> None:
    scripts = Scripts()
    for script in (scripts.admit, scripts.settle, scripts.reap, scripts.read):
        assert script.source.startswith("-- Shared by every script")
        assert len(script.sha) == 40
