"""Tenancy of the admin API (BAD-INPUTS rows T1-T5, A1): two organizations with their teams, an
org admin and a team admin; another tenant's object answers exactly as a missing one; nobody
grants more than it has; a plain key gets 403 on every admin route."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx
import pytest

from switchgear.simulator.server import SimulatorThread
from switchgear.storage import Database, SpendRow
from switchgear.storage.spend import record_spend
from tests.fakes.admin import MASTER, governed_gateway


@dataclass
class World:
    http: httpx.AsyncClient
    ids: dict[str, str]
    keys: dict[str, str]

    async def call(self, who: str, method: str, path: str, **kwargs: object) -> httpx.Response:
        token = MASTER if who == "master" else self.keys[who]
        return await self.http.request(method, path, headers={"authorization": f"Bearer {token}"}, **kwargs)  # type: ignore[arg-type]

    async def make(self, path: str, body: dict[str, object]) -> dict[str, str]:
        response = await self.call("master", "POST", path, json=body)
        assert response.status_code == 201, response.text
        made: dict[str, str] = response.json()
        return made


@pytest.fixture
async def world(sim: SimulatorThread, db: Database) -> AsyncIterator[World]:
    with governed_gateway(sim, db) as (gw, _):
        async with httpx.AsyncClient(base_url=gw.url, timeout=10) as http:
            w = World(http, {}, {})
            for org in ("a", "b"):
                w.ids[f"org_{org}"] = (await w.make("/admin/orgs", {"name": org, "max_budget": 100}))["id"]
                team = {"name": f"{org}1", "org_id": w.ids[f"org_{org}"], "max_budget": 10, "rpm_limit": 100,
                        "models": ["fast", "gpt-4o*"]}  # fmt: skip
                w.ids[f"team_{org}"] = (await w.make("/admin/teams", team))["id"]
            users = {
                "team_admin_a": {"team_id": w.ids["team_a"], "role": "team_admin"},
                "org_admin_b": {"org_id": w.ids["org_b"], "role": "org_admin"},
                "member_a": {"team_id": w.ids["team_a"]},
                "member_b": {"team_id": w.ids["team_b"]},
            }
            for name, body in users.items():
                w.ids[name] = (await w.make("/admin/users", body))["id"]
                key = await w.make("/admin/keys", {"user_id": w.ids[name], "name": name})
                w.ids[f"key_{name}"], w.keys[name] = key["id"], key["key"]
            yield w


def _same_as_missing(foreign: httpx.Response, missing: httpx.Response) -> None:
    assert foreign.status_code == missing.status_code == 404
    assert foreign.content == missing.content


async def test_another_tenants_objects_answer_as_missing_ones(world: World) -> None:
    w = world
    for who, foreign in (("team_admin_a", "b"), ("org_admin_b", "a")):
        for kind, object_id in (
            ("keys", w.ids[f"key_member_{foreign}"]),
            ("teams", w.ids[f"team_{foreign}"]),
            ("users", w.ids[f"member_{foreign}"]),
            ("orgs", w.ids[f"org_{foreign}"]),
        ):
            calls = [("GET", "", None), ("PATCH", "", {"name": "x"}), ("DELETE", "", None)]
            if kind == "keys":
                calls.append(("POST", "/rotate", {"grace_period": "1h"}))
            for method, suffix, body in calls:
                missing = await w.call(
                    who, method, f"/admin/{kind}/{kind[:3]}_0000000000000000{suffix}", json=body
                )
                hit = await w.call(who, method, f"/admin/{kind}/{object_id}{suffix}", json=body)
                _same_as_missing(hit, missing)
    # nothing was changed by any of that
    assert (await w.call("master", "GET", f"/admin/keys/{w.ids['key_member_b']}")).json()[
        "status"
    ] == "active"
    assert (await w.call("master", "GET", f"/admin/teams/{w.ids['team_b']}")).json()["name"] == "b1"


async def test_lists_hold_only_the_callers_tenancy(world: World) -> None:
    w = world
    keys = (await w.call("team_admin_a", "GET", "/admin/keys")).json()["data"]
    assert {k["id"] for k in keys} == {w.ids["key_team_admin_a"], w.ids["key_member_a"]}
    assert (await w.call("team_admin_a", "GET", f"/admin/keys?team_id={w.ids['team_b']}")).json()[
        "data"
    ] == []
    users = (await w.call("org_admin_b", "GET", "/admin/users")).json()["data"]
    assert {u["id"] for u in users} == {w.ids["org_admin_b"], w.ids["member_b"]}
    teams = (await w.call("org_admin_b", "GET", "/admin/teams")).json()["data"]
    assert [t["id"] for t in teams] == [w.ids["team_b"]]
    orgs = (await w.call("team_admin_a", "GET", "/admin/orgs")).json()["data"]
    assert orgs == []
    assert [o["id"] for o in (await w.call("org_admin_b", "GET", "/admin/orgs")).json()["data"]] == [
        w.ids["org_b"]
    ]


async def test_spend_and_requests_are_narrowed_to_the_tenant(world: World, db: Database) -> None:
    w = world
    when = datetime(2026, 11, 4, tzinfo=UTC)
    rows = [
        SpendRow(request_id=f"r-{org}", created_at=when, model="fast", key_id=w.ids[f"key_member_{org}"],
                 team_id=w.ids[f"team_{org}"], org_id=w.ids[f"org_{org}"], cost_nanousd=1000)
        for org in ("a", "b")
    ]  # fmt: skip
    await record_spend(db, rows)
    query = "/admin/spend?group_by=team&start=2026-11-01&end=2026-11-30"
    assert [g["group"] for g in (await w.call("team_admin_a", "GET", query)).json()["data"]] == [
        w.ids["team_a"]
    ]
    assert (await w.call("team_admin_a", "GET", query + f"&team_id={w.ids['team_b']}")).json()["data"] == []
    assert len((await w.call("master", "GET", query)).json()["data"]) == 2
    logged = (await w.call("org_admin_b", "GET", "/admin/requests")).json()["data"]
    assert [r["request_id"] for r in logged] == ["r-b"]


@pytest.mark.parametrize(
    ("who", "method", "path", "body", "param"),
    [
        ("team_admin_a", "POST", "/admin/keys", {"team_id": "{team_b}"}, "team_id"),
        ("team_admin_a", "POST", "/admin/keys", {"user_id": "{member_b}"}, "user_id"),
        ("team_admin_a", "POST", "/admin/keys", {"user_id": "user_doesnotexist"}, "user_id"),
        ("team_admin_a", "POST", "/admin/keys", {"max_budget": "10.000001"}, "max_budget"),
        ("team_admin_a", "POST", "/admin/keys", {"rpm_limit": 101}, "rpm_limit"),
        ("team_admin_a", "POST", "/admin/keys", {"models": ["claude-3"]}, "models"),
        ("team_admin_a", "POST", "/admin/keys", {"models": ["*"]}, "models"),
        ("team_admin_a", "PATCH", "/admin/teams/{team_a}", {"max_budget": 1000}, "max_budget"),
        ("team_admin_a", "PATCH", "/admin/keys/{key_team_admin_a}", {"rpm_limit": 50}, "rpm_limit"),
        ("team_admin_a", "PATCH", "/admin/users/{team_admin_a}", {"role": "org_admin"}, "role"),
        ("team_admin_a", "PATCH", "/admin/users/{member_a}", {"role": "org_admin"}, "role"),
        ("team_admin_a", "POST", "/admin/users", {"role": "org_admin", "org_id": "{org_a}"}, "role"),
        ("team_admin_a", "POST", "/admin/orgs", {"name": "mine"}, None),
        ("team_admin_a", "POST", "/admin/teams", {"name": "t2"}, None),
        ("team_admin_a", "POST", "/admin/end_users", {"id": "u1"}, None),
        ("org_admin_b", "POST", "/admin/teams", {"name": "t", "org_id": "{org_a}"}, "org_id"),
        ("org_admin_b", "POST", "/admin/users", {"team_id": "{team_a}"}, "team_id"),
        ("org_admin_b", "PATCH", "/admin/orgs/{org_b}", {"max_budget": 1000}, "max_budget"),
        ("org_admin_b", "PATCH", "/admin/teams/{team_b}", {"max_budget": "100.01"}, "max_budget"),
        ("org_admin_b", "PATCH", "/admin/keys/{key_member_b}", {"team_id": "{team_a}"}, "team_id"),
        ("org_admin_b", "DELETE", "/admin/orgs/{org_b}", None, None),
    ],
)
async def test_no_escalation(
    world: World, who: str, method: str, path: str, body: dict[str, object] | None, param: str | None
) -> None:
    fill = dict(world.ids)
    path = path.format(**fill)
    body = {k: (v.format(**fill) if isinstance(v, str) else v) for k, v in (body or {}).items()} or None
    response = await world.call(who, method, path, json=body)
    assert response.status_code == 403, response.text
    error = response.json()["error"]
    assert error["type"] == "permission_error" and error["param"] == param


async def test_scoped_admins_work_inside_their_tenancy(world: World) -> None:
    w = world
    made = await w.call(
        "team_admin_a", "POST", "/admin/keys", json={"max_budget": 5, "models": ["gpt-4o-mini"]}
    )
    assert made.status_code == 201 and made.json()["team_id"] == w.ids["team_a"]
    assert made.json()["org_id"] == w.ids["org_a"]
    user = await w.call("team_admin_a", "POST", "/admin/users", json={"name": "new", "role": "team_admin"})
    assert user.status_code == 201 and user.json()["team_id"] == w.ids["team_a"]
    team = await w.call("org_admin_b", "POST", "/admin/teams", json={"name": "b2", "max_budget": 50})
    assert team.status_code == 201 and team.json()["org_id"] == w.ids["org_b"]
    renamed = await w.call("team_admin_a", "PATCH", f"/admin/teams/{w.ids['team_a']}", json={"name": "a-ml"})
    assert renamed.status_code == 200 and renamed.json()["max_budget"] == 10
    revoked = await w.call("team_admin_a", "DELETE", f"/admin/keys/{w.ids['key_member_a']}")
    assert revoked.status_code == 200 and revoked.json()["status"] == "revoked"
    audit = (await w.call("team_admin_a", "GET", "/admin/audit")).json()["data"]
    assert {e["actor"] for e in audit} == {w.ids["key_team_admin_a"]} and len(audit) == 4
    assert (await w.call("team_admin_a", "GET", "/admin/audit?actor=master")).status_code == 403


async def test_a_plain_key_gets_403_on_every_admin_route(world: World) -> None:
    paths = (await world.http.get("/admin/openapi.json")).json()["paths"]
    checked = 0
    for path, methods in paths.items():
        concrete = path.replace("{kind}", "key")
        for name in ("key_id", "org_id", "team_id", "user_id", "end_user_id", "scope_id"):
            concrete = concrete.replace("{" + name + "}", world.ids["key_member_a"])
        for method in methods:
            response = await world.call("member_a", method.upper(), concrete, json={})
            assert response.status_code == 403, (method, path, response.text)
            assert response.json()["error"]["type"] == "permission_error"
            checked += 1
    assert checked >= 30
    for alias in ("/v1/admin/keys", "/admin/keys/", "/ADMIN/keys"):
        assert (await world.call("member_a", "GET", alias)).status_code in (403, 404)
    revoked = await world.call("master", "DELETE", f"/admin/keys/{world.ids['key_team_admin_a']}")
    assert revoked.status_code == 200
    assert (await world.call("team_admin_a", "GET", "/admin/keys")).status_code == 401
