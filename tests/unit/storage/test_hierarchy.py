"""Organizations, teams, users and end-users in storage (SQLite and PostgreSQL)."""

from __future__ import annotations

import pytest

from switchgear.storage import Conflict, Database, Limits, NotFound
from switchgear.storage.audit import list_audit
from switchgear.storage.hierarchy import (
    create_end_user,
    create_org,
    create_team,
    create_user,
    delete_end_user,
    delete_org,
    delete_team,
    delete_user,
    get_end_user,
    get_org,
    get_team,
    get_user,
    list_end_users,
    list_orgs,
    list_teams,
    list_users,
    update_end_user,
    update_org,
    update_team,
    update_user,
)


async def test_the_hierarchy_round_trips_and_lists_by_owner(db: Database) -> None:
    acme = await create_org(
        db, "acme", models=["*"], limits=Limits(max_budget_microusd=10**12), actor="master"
    )
    other = await create_org(db, "other")
    ml = await create_team(db, "ml", org_id=acme.id, metadata={"cost_center": 42})
    ops = await create_team(db, "ops", org_id=other.id)
    ada = await create_user(
        db, email="ada@example.com", name="Ada", org_id=acme.id, team_id=ml.id, role="team_admin"
    )
    assert await get_org(db, acme.id) == acme
    assert acme.limits.max_budget_microusd == 10**12  # past 32 bits
    assert await get_team(db, ml.id) == ml and ml.metadata == {"cost_center": 42}
    assert await get_user(db, ada.id) == ada and ada.role == "team_admin"
    assert [o.id for o in await list_orgs(db)] == [acme.id, other.id]
    assert [t.id for t in await list_teams(db, org_id=other.id)] == [ops.id]
    assert [u.id for u in await list_users(db, team_id=ml.id)] == [ada.id]
    assert await list_users(db, org_id=other.id) == []
    assert (await list_audit(db, object_kind="org"))[0].details["name"] == "acme"


async def test_updates_and_deletes(db: Database) -> None:
    org = await create_org(db, "acme")
    team = await create_team(db, "ml", org_id=org.id)
    user = await create_user(db, email="a@example.com", team_id=team.id)
    assert (await update_org(db, org.id, name="Acme Inc", rpm_limit=100)).name == "Acme Inc"
    moved = await update_team(db, team.id, org_id=None, max_budget_microusd=5)
    assert (moved.org_id, moved.limits.max_budget_microusd) == (None, 5)
    assert (await update_user(db, user.id, name="Ada", role="org_admin")).role == "org_admin"
    with pytest.raises(Conflict):  # the team still has a member
        await delete_team(db, team.id)
    await delete_user(db, user.id, actor="master")
    await delete_team(db, team.id)
    await delete_org(db, org.id)
    for get, object_id in ((get_org, org.id), (get_team, team.id), (get_user, user.id)):
        with pytest.raises(NotFound):
            await get(db, object_id)
    with pytest.raises(NotFound):
        await delete_org(db, org.id)
    assert [e.action for e in await list_audit(db, object_id=user.id)] == ["delete"]


async def test_unique_email_and_unknown_columns(db: Database) -> None:
    await create_user(db, email="a@example.com")
    with pytest.raises(Conflict, match="unique"):
        await create_user(db, email="a@example.com")
    user = await create_user(db, name="no email")  # several users without one are fine
    assert (await create_user(db)).email is None
    with pytest.raises(ValueError, match="cannot change"):
        await update_user(db, user.id, key_hash="x")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="keys only"):
        await create_team(db, "t", limits=Limits(max_parallel_requests=3))


async def test_end_users_are_identified_by_what_clients_send(db: Database) -> None:
    long_id = "customer:" + "x" * 200
    blocked = await create_end_user(db, long_id, blocked=True, limits=Limits(max_budget_microusd=1_000_000))
    assert await get_end_user(db, long_id) == blocked
    assert [e.id for e in await list_end_users(db)] == [long_id]
    assert (await update_end_user(db, long_id, blocked=False)).blocked is False
    with pytest.raises(Conflict):
        await create_end_user(db, long_id)
    await delete_end_user(db, long_id)
    with pytest.raises(NotFound):
        await get_end_user(db, long_id)
