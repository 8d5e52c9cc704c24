"""The overview dashboard on a real database (SQLite and PostgreSQL): per-day series with the empty
days filled, totals, top models and keys from the rollup, latency percentiles from the newest
requests, and a team admin seeing only its team; ``actor_of`` re-checking a signed-in caller."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from switchgear.core.errors import AuthenticationFailed, InvalidRequest
from switchgear.keys.admin import AdminService
from switchgear.keys.dashboard import Percentiles
from switchgear.keys.schemas import KeyInput, OrgInput, TeamInput, UserInput
from switchgear.keys.tenancy import MASTER_ACTOR
from switchgear.storage import Database, SpendRow
from switchgear.storage.spend import record_spend
from tests.fakes.admin import RecordingFeed

NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)


@pytest.fixture
def service(db: Database) -> AdminService:
    admin = AdminService(db, RecordingFeed(), master_key="sk-master-dash")
    admin.context.clock = lambda: NOW
    return admin


def _row(i: int, *, day: int, team: str | None, model: str, status: int = 200, ms: float = 100) -> SpendRow:
    return SpendRow(
        request_id=f"req_{i:04d}",
        created_at=NOW - timedelta(days=day, minutes=i),
        model=model,
        key_id="key_a" if team == "t1" else "key_b",
        team_id=team,
        status=status,
        cost_nanousd=1000 * (i + 1),
        prompt_tokens=10,
        completion_tokens=20,
        duration_ms=ms,
        ttfb_ms=ms / 2,
    )


def test_percentiles_are_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert Percentiles.of(values) == Percentiles(50.0, 90.0, 99.0)
    assert Percentiles.of([7.0]) == Percentiles(7.0, 7.0, 7.0)
    assert Percentiles.of([]) == Percentiles(None, None, None)


async def test_the_overview_sums_the_rollup_and_samples_latency(service: AdminService, db: Database) -> None:
    rows = [_row(i, day=i % 3, team="t1", model="fast", ms=10 * (i + 1)) for i in range(10)]
    rows += [_row(100 + i, day=1, team="t2", model="smart", status=502) for i in range(3)]
    rows.append(_row(200, day=30, team="t1", model="fast"))  # outside the 14 days
    await record_spend(db, rows)
    board = await service.dashboard.overview(MASTER_ACTOR, 14)
    assert (board.start, board.end) == (NOW.date() - timedelta(days=13), NOW.date())
    assert len(board.days) == 14 and [d.group for d in board.days][-1] == "2026-12-07"
    assert [d.requests for d in board.days[-3:]] == [3, 3 + 3, 4]  # 2 days ago, yesterday, today
    assert sum(d.requests for d in board.days[:-3]) == 0
    assert (board.requests, board.failed_requests) == (13, 3)
    assert board.cost_nanousd == sum(1000 * (i + 1) for i in range(10)) + sum(
        1000 * (101 + i) for i in range(3)
    )
    assert [g.group for g in board.top_models] == ["smart", "fast"]
    assert {g.group for g in board.top_keys} == {"key_a", "key_b"}
    assert board.latency_sampled == 13
    assert board.latency.p50 == 70.0 and board.latency.p99 == 100.0 and board.ttfb.p99 == 50.0
    assert board.error_rate == pytest.approx(3 / 13)


async def test_a_team_admin_sees_its_team_only(service: AdminService, db: Database) -> None:
    org = await service.hierarchy.create_org(MASTER_ACTOR, OrgInput(name="acme"))
    team = await service.hierarchy.create_team(MASTER_ACTOR, TeamInput(name="ml", org_id=org.id))
    user = await service.hierarchy.create_user(MASTER_ACTOR, UserInput(team_id=team.id, role="team_admin"))
    key = await service.keys.create(MASTER_ACTOR, KeyInput(user_id=user.id))
    await record_spend(
        db,
        [
            _row(1, day=0, team=team.id, model="fast", ms=5),
            _row(2, day=0, team="other", model="fast", ms=900),
        ],
    )
    actor = await service.actor(key.key.encode())
    board = await service.dashboard.overview(actor, 1)
    assert board.requests == 1 and board.latency.p99 == 5.0 and board.latency_sampled == 1
    # a signed-in session names the caller by label; it is checked again each time
    assert await service.gate.actor_of(actor.label, NOW) == actor
    assert await service.gate.actor_of("master", NOW) == MASTER_ACTOR
    await service.keys.revoke(MASTER_ACTOR, key.id)
    with pytest.raises(AuthenticationFailed):
        await service.gate.actor_of(actor.label, NOW)
    with pytest.raises(AuthenticationFailed):
        await service.gate.actor_of("key_does_not_exist", NOW)


async def test_days_out_of_range_are_refused(service: AdminService) -> None:
    with pytest.raises(InvalidRequest, match="days"):
        await service.dashboard.overview(MASTER_ACTOR, 0)
