"""The admin service on a real database (SQLite and PostgreSQL), without HTTP: who a token is,
how owners are derived, what is published and audited."""

from __future__ import annotations

from datetime import timedelta

import pytest

from switchgear.core.errors import AuthenticationFailed, InvalidRequest, PermissionDenied
from switchgear.keys.admin import AdminService
from switchgear.keys.changes import Change
from switchgear.keys.schemas import KeyInput, OrgInput, TeamInput, UserInput
from switchgear.keys.tenancy import CLI_ACTOR, MASTER_ACTOR
from switchgear.storage import Database
from switchgear.storage.audit import list_audit
from switchgear.storage.rows import utcnow
from tests.fakes.admin import RecordingFeed

MASTER = "sk-master-unit"


@pytest.fixture
def feed() -> RecordingFeed:
    return RecordingFeed()


@pytest.fixture
def service(db: Database, feed: RecordingFeed) -> AdminService:
    return AdminService(db, feed, master_key=MASTER)


async def _team_admin(service: AdminService) -> tuple[str, str, str]:
    org = await service.hierarchy.create_org(MASTER_ACTOR, OrgInput(name="acme"))
    team = await service.hierarchy.create_team(MASTER_ACTOR, TeamInput(name="ml", org_id=org.id))
    user = await service.hierarchy.create_user(MASTER_ACTOR, UserInput(team_id=team.id, role="team_admin"))
    key = await service.keys.create(MASTER_ACTOR, KeyInput(user_id=user.id))
    return key.key, team.id, user.id


async def test_tokens_resolve_to_the_master_a_scoped_admin_or_nothing(service: AdminService) -> None:
    assert (await service.actor(MASTER.encode())).is_master
    secret, team_id, user_id = await _team_admin(service)
    admin = await service.actor(secret.encode())
    assert (admin.role, admin.team_id, admin.user_id) == ("team_admin", team_id, user_id)
    with pytest.raises(AuthenticationFailed):
        await service.actor(MASTER.encode() + b"x")
    with pytest.raises(AuthenticationFailed):
        await service.actor(None)
    await service.hierarchy.update_user(MASTER_ACTOR, user_id, UserInput(role="member"))
    with pytest.raises(PermissionDenied):  # demoted: refused at its next call
        await service.actor(secret.encode())


async def test_an_expired_or_revoked_admin_key_is_refused_at_once(service: AdminService) -> None:
    secret, _, user_id = await _team_admin(service)
    expiring = await service.keys.create(
        MASTER_ACTOR, KeyInput(user_id=user_id, expires_at=utcnow() + timedelta(milliseconds=50))
    )
    service.context.clock = lambda: utcnow() + timedelta(seconds=1)
    with pytest.raises(AuthenticationFailed):
        await service.actor(expiring.key.encode())
    actor = await service.actor(secret.encode())
    await service.keys.revoke(actor, actor.key_id or "")
    with pytest.raises(AuthenticationFailed):
        await service.actor(secret.encode())


async def test_a_keys_owners_follow_its_user(service: AdminService, feed: RecordingFeed) -> None:
    org = await service.hierarchy.create_org(CLI_ACTOR, OrgInput(name="acme"))
    team = await service.hierarchy.create_team(CLI_ACTOR, TeamInput(name="ml", org_id=org.id))
    other = await service.hierarchy.create_team(CLI_ACTOR, TeamInput(name="ops", org_id=org.id))
    user = await service.hierarchy.create_user(CLI_ACTOR, UserInput(team_id=team.id))
    key = await service.keys.create(CLI_ACTOR, KeyInput(user_id=user.id))
    assert (key.org_id, key.team_id, key.user_id) == (org.id, team.id, user.id)
    with pytest.raises(InvalidRequest) as refused:
        await service.keys.create(CLI_ACTOR, KeyInput(user_id=user.id, team_id=other.id))
    assert refused.value.param == "team_id"
    assert feed.changes == [
        Change("org", org.id),
        Change("team", team.id),
        Change("team", other.id),
        Change("user", user.id),
        Change("key", key.id),
    ]
    assert {e.actor for e in await list_audit(service.context.db)} == {"cli"}


async def test_a_team_admin_cannot_grant_what_its_team_lacks(service: AdminService) -> None:
    secret, team_id, _ = await _team_admin(service)
    await service.hierarchy.update_team(MASTER_ACTOR, team_id, TeamInput(max_budget=10, models=["fast"]))
    admin = await service.actor(secret.encode())
    made = await service.keys.create(admin, KeyInput(max_budget=10, models=["fast"]))
    assert made.team_id == team_id
    for body, field in (
        (KeyInput(max_budget="10.000001"), "max_budget"),
        (KeyInput(soft_budget=11), "soft_budget"),
        (KeyInput(models=["slow"]), "models"),
    ):
        with pytest.raises(PermissionDenied) as refused:
            await service.keys.create(admin, body)
        assert refused.value.param == field
    with pytest.raises(PermissionDenied):
        await service.keys.update(admin, made.id, KeyInput(max_budget=11))
