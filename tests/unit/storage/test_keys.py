"""Virtual keys in storage: by id and by digest, listing, update, revoke, rotate (SQLite and PostgreSQL)."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

import pytest

from switchgear.storage import Conflict, Database, Limits, NotFound
from switchgear.storage.audit import list_audit
from switchgear.storage.hierarchy import create_org, create_team, create_user, delete_team
from switchgear.storage.keys import (
    create_key,
    get_key,
    get_key_by_hash,
    list_keys,
    revoke_key,
    rotate_key,
    update_key,
)

NOW = datetime(2026, 11, 4, 12, 0, tzinfo=UTC)


def digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


async def test_a_key_is_found_by_its_digest_with_everything_it_was_given(db: Database) -> None:
    org = await create_org(db, "acme")
    team = await create_team(db, "ml", org_id=org.id)
    user = await create_user(db, email="ada@example.com", org_id=org.id, team_id=team.id)
    limits = Limits(
        max_budget_microusd=25_000_000,
        soft_budget_microusd=20_000_000,
        budget_duration="30d",
        rpm_limit=60,
        tpm_limit=100_000,
        max_parallel_requests=4,
    )
    created = await create_key(
        db,
        key_hash=digest("sk-sg-secret-1"),
        key_prefix="sk-sg-…et-1",
        name="notebook",
        org_id=org.id,
        team_id=team.id,
        user_id=user.id,
        models=["gpt-4o*", "fast"],
        metadata={"env": "dev", "nested": {"n": 1}},
        tags=["research"],
        limits=limits,
        expires_at=NOW + timedelta(days=30),
        now=NOW,
    )
    found = await get_key_by_hash(db, digest("sk-sg-secret-1"))
    assert found == created == await get_key(db, created.id)
    assert found.limits == limits
    assert (found.models, found.metadata, found.tags) == (
        ["gpt-4o*", "fast"],
        {"env": "dev", "nested": {"n": 1}},
        ["research"],
    )
    assert found.expires_at == NOW + timedelta(days=30)
    assert found.created_at == NOW and found.created_at.tzinfo is not None
    assert found.usable(NOW) and not found.usable(NOW + timedelta(days=31))
    assert await get_key_by_hash(db, digest("sk-sg-secret-2")) is None


async def test_a_taken_digest_or_a_missing_owner_is_a_conflict(db: Database) -> None:
    await create_key(db, key_hash=digest("a"), key_prefix="p")
    with pytest.raises(Conflict, match="unique"):
        await create_key(db, key_hash=digest("a"), key_prefix="p")
    with pytest.raises(Conflict, match="does not exist"):
        await create_key(db, key_hash=digest("b"), key_prefix="p", team_id="team_missing")
    with pytest.raises(NotFound):
        await get_key(db, "key_missing")


async def test_a_team_with_keys_cannot_be_deleted(db: Database) -> None:
    team = await create_team(db, "ml")
    await create_key(db, key_hash=digest("a"), key_prefix="p", team_id=team.id)
    with pytest.raises(Conflict, match="in use"):
        await delete_team(db, team.id)


async def test_listing_filters_by_owner_and_hides_revoked_keys(db: Database) -> None:
    team = await create_team(db, "ml")
    first = await create_key(db, key_hash=digest("1"), key_prefix="1", team_id=team.id, now=NOW)
    second = await create_key(
        db, key_hash=digest("2"), key_prefix="2", team_id=team.id, now=NOW + timedelta(1)
    )
    other = await create_key(db, key_hash=digest("3"), key_prefix="3", now=NOW + timedelta(2))
    assert [k.id for k in await list_keys(db)] == [first.id, second.id, other.id]
    assert [k.id for k in await list_keys(db, team_id=team.id)] == [first.id, second.id]
    assert [k.id for k in await list_keys(db, limit=1, offset=1)] == [second.id]
    await revoke_key(db, first.id, now=NOW + timedelta(3))
    assert [k.id for k in await list_keys(db, team_id=team.id)] == [second.id]
    assert len(await list_keys(db, team_id=team.id, include_revoked=True)) == 2
    # a cache refreshing what changed sees the revocation
    changed = await list_keys(db, updated_since=NOW + timedelta(3))
    assert [(k.id, k.usable(NOW + timedelta(4))) for k in changed] == [(first.id, False)]


async def test_update_changes_only_what_is_given_and_is_audited(db: Database) -> None:
    key = await create_key(db, key_hash=digest("a"), key_prefix="p", name="old", actor="master", now=NOW)
    later = NOW + timedelta(minutes=5)
    updated = await update_key(db, key.id, name="new", rpm_limit=10, tags=["x"], actor="key_admin", now=later)
    assert (updated.name, updated.limits.rpm_limit, updated.tags, updated.models) == ("new", 10, ["x"], [])
    assert updated.updated_at == later and updated.created_at == NOW
    with pytest.raises(NotFound):
        await update_key(db, "key_missing", name="x")
    entries = await list_audit(db, object_kind="key", object_id=key.id)
    assert [(e.action, e.actor) for e in entries] == [("update", "key_admin"), ("create", "master")]
    assert entries[0].details == {"name": "new", "rpm_limit": 10, "tags": ["x"]}
    assert "key_hash" not in entries[1].details  # the digest never reaches the audit log
    assert digest("a") not in str(entries)


async def test_revoke_is_immediate_and_sticks_to_its_first_time(db: Database) -> None:
    key = await create_key(db, key_hash=digest("a"), key_prefix="p", now=NOW)
    revoked = await revoke_key(db, key.id, actor="master", now=NOW + timedelta(seconds=1))
    assert not revoked.usable(NOW + timedelta(seconds=1))
    again = await revoke_key(db, key.id, now=NOW + timedelta(hours=1))
    assert again.revoked_at == NOW + timedelta(seconds=1)
    assert (await list_audit(db, object_id=key.id))[0].action == "revoke"


async def test_rotation_keeps_owners_and_limits_and_the_old_key_works_until_the_grace_ends(
    db: Database,
) -> None:
    team = await create_team(db, "ml")
    old = await create_key(
        db,
        key_hash=digest("old"),
        key_prefix="old",
        name="svc",
        team_id=team.id,
        models=["fast"],
        limits=Limits(max_budget_microusd=5, rpm_limit=7, max_parallel_requests=2),
        now=NOW,
    )
    new = await rotate_key(
        db,
        old.id,
        key_hash=digest("new"),
        key_prefix="new",
        grace=timedelta(hours=1),
        actor="master",
        now=NOW,
    )
    assert new.id != old.id and new.rotated_from == old.id
    assert (new.name, new.team_id, new.models, new.limits) == ("svc", team.id, ["fast"], old.limits)
    assert new.rotation_grace_until == NOW + timedelta(hours=1)
    old_now = await get_key_by_hash(db, digest("old"))
    assert old_now is not None
    assert old_now.usable(NOW + timedelta(minutes=59)) and not old_now.usable(NOW + timedelta(hours=1))
    assert (await get_key_by_hash(db, digest("new"))) == new
    entry = (await list_audit(db, object_id=old.id))[0]
    assert (entry.action, entry.details["new_key_id"]) == ("rotate", new.id)


async def test_rotation_without_grace_revokes_at_once_and_a_taken_digest_changes_nothing(
    db: Database,
) -> None:
    old = await create_key(db, key_hash=digest("old"), key_prefix="old", now=NOW)
    other = await create_key(db, key_hash=digest("other"), key_prefix="o", now=NOW)
    with pytest.raises(Conflict):
        await rotate_key(db, old.id, key_hash=other.key_hash, key_prefix="x", now=NOW)
    assert (await get_key(db, old.id)).revoked_at is None  # the whole rotation rolled back
    new = await rotate_key(db, old.id, key_hash=digest("new"), key_prefix="new", now=NOW)
    assert not (await get_key(db, old.id)).usable(NOW)
    assert new.rotation_grace_until is None
    with pytest.raises(NotFound):
        await rotate_key(db, "key_missing", key_hash=digest("x"), key_prefix="x")
