"""The key directory on a real database (SQLite and PostgreSQL): load, lookup, plans, changes."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from switchgear.config.model import GovernanceSettings
from switchgear.core.errors import AuthenticationFailed
from switchgear.keys.changes import Change
from switchgear.keys.directory import KeyDirectory
from switchgear.keys.material import digest, display_prefix, new_key
from switchgear.state import Period, Scope
from switchgear.storage import Database, Limits
from switchgear.storage.hierarchy import create_end_user, create_org, create_team, create_user, update_team
from switchgear.storage.keys import create_key, revoke_key, rotate_key
from switchgear.storage.rows import utcnow


async def stored_key(db: Database, **fields: object) -> tuple[str, str]:
    key = new_key()
    made = await create_key(db, key_hash=digest(key), key_prefix=display_prefix(key), **fields)  # type: ignore[arg-type]
    return key, made.id


def entry_of(directory: KeyDirectory, key: str):  # type: ignore[no-untyped-def]
    found = directory.lookup(bytes.fromhex(digest(key)))
    assert found is not None
    return found


async def test_a_key_plan_gathers_every_level_and_the_global_budget(db: Database) -> None:
    org = await create_org(db, "acme", limits=Limits(max_budget_microusd=9_000_000))
    team = await create_team(db, "ml", org_id=org.id, models=["gpt-*"], limits=Limits(rpm_limit=100))
    user = await create_user(db, team_id=team.id, limits=Limits(soft_budget_microusd=50, tpm_limit=1000))
    key, key_id = await stored_key(
        db,
        user_id=user.id,
        models=["gpt-4o", "claude-*"],
        limits=Limits(max_budget_microusd=1000, budget_duration="1mo", rpm_limit=5, max_parallel_requests=2),
    )
    settings = GovernanceSettings(max_budget=Decimal("12.5"), budget_duration="1d")
    directory = KeyDirectory(db, settings)
    await directory.load()
    entry = entry_of(directory, key)
    principal = entry.check(utcnow().timestamp())
    assert (principal.key_id, principal.user_id, principal.team_id, principal.org_id) == (
        key_id,
        user.id,
        team.id,
        org.id,
    )
    plan = directory.plan(entry)
    assert [(b.scope, b.max_microusd, b.period) for b in plan.budgets] == [
        (Scope("key", key_id), 1000, Period.parse("month")),
        (Scope("user", user.id), 2**53 - 1, None),  # a soft budget only: counted, never refusing
        (Scope("org", org.id), 9_000_000, None),
        (Scope("global"), 12_500_000, Period.parse("1d")),
    ]
    assert [(r.scope.kind, r.unit, r.limit, r.window_s) for r in plan.rates] == [
        ("key", "requests", 5, 60),
        ("user", "tokens", 1000, 60),
        ("team", "requests", 100, 60),
    ]
    assert [(c.scope, c.limit) for c in plan.concurrency] == [(Scope("key", key_id), 2)]
    assert plan.allows("gpt-4o")
    assert not plan.allows("claude-3")  # the key allows it, its team does not
    assert plan.refusing("claude-3") == ("its team", ("gpt-*",))
    assert not plan.allows("gpt-4o-mini")  # the team allows it, the key does not
    assert directory.plan(entry) is plan  # computed once
    assert len(directory.all_budgets()) == 4


async def test_changes_are_read_again(db: Database) -> None:
    team = await create_team(db, "ml")
    key, key_id = await stored_key(db, team_id=team.id)
    directory = KeyDirectory(db, GovernanceSettings())
    await directory.load()
    entry = entry_of(directory, key)
    assert not directory.plan(entry).limited
    await update_team(db, team.id, rpm_limit=7)
    await directory.apply(Change("team", team.id))
    assert [r.limit for r in directory.plan(entry_of(directory, key)).rates] == [7]
    later, later_id = await stored_key(db)
    assert directory.lookup(bytes.fromhex(digest(later))) is None
    await directory.apply(Change("key", later_id))
    assert entry_of(directory, later).id == later_id
    await revoke_key(db, key_id)
    await directory.apply(Change("key", key_id))
    with pytest.raises(AuthenticationFailed, match="revoked"):
        entry_of(directory, key).check(utcnow().timestamp() + 1)
    await create_end_user(db, "alice", blocked=True, limits=Limits(max_budget_microusd=10))
    await directory.apply(Change("end_user", "alice"))
    alice = directory.end_users["alice"]
    assert alice.blocked
    assert alice.budget is not None and alice.budget.max_microusd == 10


async def test_expiry_and_rotation_grace(db: Database) -> None:
    now = utcnow()
    soon, _ = await stored_key(db, expires_at=now + timedelta(seconds=30))
    old, old_id = await stored_key(db)
    new = new_key()
    await rotate_key(
        db, old_id, key_hash=digest(new), key_prefix=display_prefix(new), grace=timedelta(seconds=30)
    )
    directory = KeyDirectory(db, GovernanceSettings())
    await directory.load()
    at = now.timestamp()
    assert entry_of(directory, soon).check(at).key_id
    with pytest.raises(AuthenticationFailed, match="expired"):
        entry_of(directory, soon).check(at + 31)
    assert entry_of(directory, old).check(at + 29).key_id == old_id
    with pytest.raises(AuthenticationFailed, match="rotated"):
        entry_of(directory, old).check(at + 31)
    assert entry_of(directory, new).check(at + 31).key_id != old_id
