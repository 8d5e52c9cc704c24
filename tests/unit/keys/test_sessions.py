"""The admin UI's sessions on a real database (SQLite and PostgreSQL): made by signing in with the
master key or an admin key (never another key), read back with who they name, ended by signing out,
by expiry and by revoking the admin's key; only the token's digest is stored."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from switchgear.core.errors import AuthenticationFailed, PermissionDenied
from switchgear.keys.admin import AdminService
from switchgear.keys.schemas import KeyInput, OrgInput, TeamInput, UserInput
from switchgear.keys.tenancy import MASTER_ACTOR
from switchgear.storage import Database
from tests.fakes.admin import RecordingFeed

MASTER = "sk-master-sessions"


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def service(db: Database, clock: Clock) -> AdminService:
    admin = AdminService(db, RecordingFeed(), master_key=MASTER)
    admin.context.clock = clock
    return admin


async def _stored(db: Database) -> list[tuple[str, str]]:
    async with db.read() as conn:
        return [tuple(r) for r in (await conn.execute(sa.text("SELECT id, actor FROM ui_sessions"))).all()]


async def test_signing_in_with_the_master_key(service: AdminService, db: Database, clock: Clock) -> None:
    token, session = await service.sessions.sign_in(MASTER.encode())
    assert session.actor.startswith("master:") and session.expires_at == clock.now + timedelta(hours=8)
    found = await service.sessions.read(token)
    assert found == (MASTER_ACTOR, session)
    stored = await _stored(db)
    assert (
        stored == [(session.id, session.actor)]
        and MASTER not in str(stored)
        and token not in str(stored)
        and len(session.id) == 64
    )
    assert await service.sessions.read(token + "x") is None
    assert await service.sessions.read("") is None and await service.sessions.read(None) is None
    clock.now += timedelta(hours=8)
    assert await service.sessions.read(token) is None  # expired
    other, _ = await service.sessions.sign_in(MASTER.encode())
    assert len(await _stored(db)) == 1  # the expired one was deleted by the next sign-in
    await service.sessions.sign_out(other)
    assert await service.sessions.read(other) is None and await _stored(db) == []


async def test_an_admin_key_signs_in_and_its_revocation_ends_the_session(service: AdminService) -> None:
    org = await service.hierarchy.create_org(MASTER_ACTOR, OrgInput(name="acme"))
    team = await service.hierarchy.create_team(MASTER_ACTOR, TeamInput(name="ml", org_id=org.id))
    admin = await service.hierarchy.create_user(MASTER_ACTOR, UserInput(team_id=team.id, role="team_admin"))
    member = await service.hierarchy.create_user(MASTER_ACTOR, UserInput(team_id=team.id))
    admin_key = await service.keys.create(MASTER_ACTOR, KeyInput(user_id=admin.id))
    member_key = await service.keys.create(MASTER_ACTOR, KeyInput(user_id=member.id))
    token, session = await service.sessions.sign_in(admin_key.key.encode())
    found = await service.sessions.read(token)
    assert found is not None and found[0].role == "team_admin" and found[0].team_id == team.id
    assert session.actor == admin_key.id
    with pytest.raises(PermissionDenied):
        await service.sessions.sign_in(member_key.key.encode())
    with pytest.raises(AuthenticationFailed):
        await service.sessions.sign_in(b"sk-sg-not-a-key")
    await service.keys.revoke(MASTER_ACTOR, admin_key.id)
    assert await service.sessions.read(token) is None


async def test_a_changed_master_key_ends_master_sessions(db: Database) -> None:
    first = AdminService(db, RecordingFeed(), master_key=MASTER)
    token, _ = await first.sessions.sign_in(MASTER.encode())
    assert await first.sessions.read(token) is not None
    assert await AdminService(db, RecordingFeed(), master_key="sk-another").sessions.read(token) is None
