"""The admin API over real HTTP, on SQLite and PostgreSQL: keys (shown once, rotated with grace),
the hierarchy, validation, tenancy (rows T1-T5 of BAD-INPUTS.md), spend reports, the request log
and the audit log."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from switchgear.keys.changes import Change
from switchgear.simulator.server import SimulatorThread
from switchgear.storage import Database, SpendRow
from switchgear.storage.spend import record_spend
from tests.conftest import base_config
from tests.fakes.admin import MASTER, RecordingFeed, governed_gateway
from tests.fakes.gateway import GatewayThread

KEY_FIELDS = {
    "name": "billing-app",
    "models": ["fast", "gpt-*"],
    "max_budget": 25.5,
    "soft_budget": "20",
    "budget_duration": "30d",
    "rpm_limit": 60,
    "tpm_limit": 100000,
    "max_parallel_requests": 4,
    "expires_at": "2099-01-01T00:00:00Z",
    "metadata": {"owner": "billing", "cost_center": 42},
    "tags": ["prod", "billing"],
}


class Admin:
    def __init__(self, client: httpx.AsyncClient, feed: RecordingFeed) -> None:
        self.http = client
        self.feed = feed

    async def call(self, method: str, path: str, token: str = MASTER, **kwargs: object) -> httpx.Response:
        headers = {"authorization": f"Bearer {token}"} if token else {}
        headers.update(kwargs.pop("headers", {}))  # type: ignore[call-overload]
        return await self.http.request(method, path, headers=headers, **kwargs)  # type: ignore[arg-type]

    async def ok(
        self, method: str, path: str, token: str = MASTER, status: int = 200, **kwargs: object
    ) -> dict:  # type: ignore[type-arg]
        response = await self.call(method, path, token, **kwargs)
        assert response.status_code == status, response.text
        return response.json() if response.content else {}


@pytest.fixture
async def admin(sim: SimulatorThread, db: Database) -> AsyncIterator[Admin]:
    with governed_gateway(sim, db) as (gw, feed):
        async with httpx.AsyncClient(base_url=gw.url, timeout=10) as client:
            yield Admin(client, feed)


async def test_a_key_is_made_with_the_fixed_names_and_shown_once(admin: Admin) -> None:
    created = await admin.ok("POST", "/admin/keys", json=KEY_FIELDS, status=201)
    secret = created["key"]
    assert secret.startswith("sk-sg-") and len(secret) == 49
    assert created["key_prefix"] == secret[:10] + "…"
    assert created["max_budget"] == 25.5 and created["soft_budget"] == 20
    assert {k: created[k] for k in KEY_FIELDS if k not in ("expires_at",)} == {
        **{k: v for k, v in KEY_FIELDS.items() if k != "expires_at"},
        "soft_budget": 20,
    }
    shown = await admin.ok("GET", f"/admin/keys/{created['id']}")
    assert "key" not in shown and secret not in str(shown)
    assert shown["spend"] == 0 and shown["status"] == "active"
    listed = await admin.ok("GET", "/admin/keys")
    assert [k["id"] for k in listed["data"]] == [created["id"]] and secret not in str(listed)
    assert admin.feed.changes == [Change("key", created["id"])]


async def test_update_revoke_and_the_audit_log(admin: Admin) -> None:
    key = await admin.ok("POST", "/admin/keys", json={"name": "a"}, status=201)
    path = f"/admin/keys/{key['id']}"
    updated = await admin.ok("PATCH", path, json={"name": "b", "rpm_limit": 5, "max_budget": "0.000001"})
    assert (updated["name"], updated["rpm_limit"], updated["max_budget"]) == ("b", 5, 0.000001)
    cleared = await admin.ok("PATCH", path, json={"rpm_limit": None})
    assert cleared["rpm_limit"] is None and cleared["name"] == "b"
    revoked = await admin.ok("DELETE", path)
    assert revoked["status"] == "revoked"
    assert (await admin.ok("GET", "/admin/keys"))["data"] == []
    assert len((await admin.ok("GET", "/admin/keys?include_revoked=true"))["data"]) == 1
    # a revoked key cannot call the admin API (nor be rotated)
    assert (await admin.call("POST", f"{path}/rotate")).status_code == 409
    audit = await admin.ok("GET", f"/admin/audit?object_kind=key&object_id={key['id']}")
    assert [e["action"] for e in audit["data"]] == ["revoke", "update", "update", "create"]
    assert {e["actor"] for e in audit["data"]} == {"master"}
    assert key["key"] not in str(audit) and "key_hash" not in str(audit)
    assert admin.feed.changes == [Change("key", key["id"])] * 4


async def test_rotation_shows_the_new_key_once_and_keeps_the_old_one_for_the_grace(admin: Admin) -> None:
    org = await admin.ok("POST", "/admin/orgs", json={"name": "acme"}, status=201)
    team = await admin.ok("POST", "/admin/teams", json={"name": "ml", "org_id": org["id"]}, status=201)
    old = await admin.ok("POST", "/admin/keys", json={"team_id": team["id"], "rpm_limit": 7}, status=201)
    before = datetime.now(UTC)
    new = await admin.ok("POST", f"/admin/keys/{old['id']}/rotate", json={"grace_period": "1h"}, status=201)
    assert new["key"].startswith("sk-sg-") and new["key"] != old["key"]
    assert (new["rotated_from"], new["team_id"], new["org_id"], new["rpm_limit"]) == (
        old["id"],
        team["id"],
        org["id"],
        7,
    )
    still = await admin.ok("GET", f"/admin/keys/{old['id']}")
    until = datetime.fromisoformat(still["revoked_at"])
    assert still["status"] == "active" and before + timedelta(minutes=59) < until < before + timedelta(
        minutes=61
    )
    now = await admin.ok("POST", f"/admin/keys/{new['id']}/rotate", status=201)
    assert (await admin.ok("GET", f"/admin/keys/{new['id']}"))["status"] == "revoked"
    assert Change("key", now["id"]) in admin.feed.changes and Change("key", new["id"]) in admin.feed.changes


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"max_budget": -1}, "max_budget"),
        ({"max_budget": "NaN"}, "max_budget"),
        ({"max_budget": "Infinity"}, "max_budget"),
        ({"max_budget": 0.1234567}, "max_budget"),
        ({"max_budget": 1e300}, "max_budget"),
        ({"max_budget": True}, "max_budget"),
        ({"soft_budget": "ten"}, "soft_budget"),
        ({"rpm_limit": 1.5}, "rpm_limit"),
        ({"rpm_limit": "5"}, "rpm_limit"),
        ({"budget_duration": "2d"}, "budget_duration"),
        ({"role": "org_admin"}, "role"),
        ({"spend": 0}, "spend"),
        ({"models": "gpt-4o"}, "models"),
        ({"expires_at": "soon"}, "expires_at"),
    ],
)
async def test_invalid_bodies_are_refused_naming_the_field(admin: Admin, body: dict, param: str) -> None:  # type: ignore[type-arg]
    response = await admin.call("POST", "/admin/keys", json=body)
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["param"] == param and error["type"] == "invalid_request_error" and param in error["message"]
    assert (await admin.ok("GET", "/admin/keys?include_revoked=true"))["data"] == []


async def test_money_is_exact_and_semantic_errors_are_400(admin: Admin) -> None:
    key = await admin.ok("POST", "/admin/keys", json={"max_budget": 0.1, "soft_budget": "0.05"}, status=201)
    assert (key["max_budget"], key["soft_budget"]) == (0.1, 0.05)
    budget = await admin.ok("GET", f"/admin/budgets/key/{key['id']}")
    assert budget["max_budget"] == 0.1 and budget["periods"] == []
    bad = await admin.call("PATCH", f"/admin/keys/{key['id']}", json={"soft_budget": 1})
    assert bad.status_code == 400 and bad.json()["error"]["param"] == "soft_budget"
    past = await admin.call("POST", "/admin/keys", json={"expires_at": "2001-01-01T00:00:00Z"})
    assert past.status_code == 400 and past.json()["error"]["param"] == "expires_at"
    missing = await admin.call("POST", "/admin/keys", json={"team_id": "team_nope"})
    assert missing.status_code == 400 and missing.json()["error"]["param"] == "team_id"
    not_json = await admin.call(
        "POST", "/admin/orgs", content=b"{name: acme", headers={"content-type": "application/json"}
    )
    assert not_json.status_code == 400 and not_json.json()["error"]["code"] == "invalid_json"
    no_body = await admin.call("POST", "/admin/orgs", json=[1])
    assert no_body.status_code == 422 and no_body.json()["error"]["type"] == "invalid_request_error"


async def test_no_key_and_a_wrong_key_are_401(admin: Admin) -> None:
    real = (await admin.ok("POST", "/admin/keys", json={}, status=201))["key"]
    near_miss = real[:-1] + ("A" if real[-1] != "A" else "B")
    bodies = set()
    for token in ("sk-sg-" + "A" * 43, near_miss, "' OR 1=1--", "x" * 10_000):
        response = await admin.call("GET", "/admin/keys", token=token)
        assert response.status_code == 401, token
        assert response.json()["error"]["type"] == "authentication_error"
        bodies.add(response.content)
    assert len(bodies) == 1  # a near miss of a real key tells nothing more than a random token
    missing = await admin.call("GET", "/admin/keys", token="")
    assert missing.status_code == 401 and "missing API key" in missing.json()["error"]["message"]
    by_header = await admin.http.get("/admin/keys", headers={"x-api-key": MASTER})
    assert by_header.status_code == 200


async def test_docs_and_openapi_list_the_admin_routes(admin: Admin) -> None:
    redirect = await admin.http.get("/docs")
    assert redirect.status_code == 307 and redirect.headers["location"] == "/admin/docs"
    paths = (await admin.http.get("/admin/openapi.json")).json()["paths"]
    for path in ("/admin/keys", "/admin/keys/{key_id}", "/admin/keys/{key_id}/rotate", "/admin/spend",
                 "/admin/requests", "/admin/audit", "/admin/orgs", "/admin/teams", "/admin/users",
                 "/admin/end_users"):  # fmt: skip
        assert path in paths


async def test_governance_off_is_said_plainly(sim: SimulatorThread, db: Database) -> None:
    with governed_gateway(sim, db, master_key=None) as (gw, _):
        response = httpx.get(gw.url + "/admin/keys", timeout=5)
        status = httpx.get(gw.url + "/admin/status", timeout=5)
    assert response.status_code == 404 and status.status_code == 200
    error = response.json()["error"]
    assert error["code"] == "governance_off" and "server.master_key" in error["message"]
    on = GatewayThread(base_config(sim, master_key=MASTER)).start()  # governance on: the runtime's database
    try:
        response = httpx.get(on.url + "/admin/keys", headers={"authorization": f"Bearer {MASTER}"}, timeout=5)
    finally:
        on.stop()
    assert response.status_code == 200 and response.json()["data"] == []


def _row(n: int, when: datetime, **fields: object) -> SpendRow:
    return SpendRow(
        request_id=f"req-{n:03d}", created_at=when, model=str(fields.pop("model", "fast")), **fields
    )  # type: ignore[arg-type]


async def test_spend_report_groups_over_a_date_range(admin: Admin, db: Database) -> None:
    org = await admin.ok("POST", "/admin/orgs", json={"name": "acme"}, status=201)
    team = await admin.ok("POST", "/admin/teams", json={"name": "ml", "org_id": org["id"]}, status=201)
    a = await admin.ok("POST", "/admin/keys", json={"team_id": team["id"]}, status=201)
    b = await admin.ok("POST", "/admin/keys", json={}, status=201)
    day = datetime(2026, 11, 3, 12, tzinfo=UTC)
    rows = [
        _row(1, day, key_id=a["id"], team_id=team["id"], org_id=org["id"], cost_nanousd=1_500_000_000,
             tags=("x",)),
        _row(2, day + timedelta(days=1), key_id=a["id"], team_id=team["id"], org_id=org["id"],
             cost_nanousd=250_000_000, model="priced", tags=("x", "y")),
        _row(3, day, key_id=b["id"], cost_nanousd=10, status=500),
        _row(4, day + timedelta(days=30), key_id=b["id"], cost_nanousd=7_000_000_000),
    ]  # fmt: skip
    assert await record_spend(db, rows) == 4
    query = "start=2026-11-01&end=2026-11-30"
    by_key = await admin.ok("GET", f"/admin/spend?group_by=key&{query}")
    assert [(g["group"], g["cost_nanousd"], g["requests"]) for g in by_key["data"]] == [
        (a["id"], 1_750_000_000, 2),
        (b["id"], 10, 1),
    ]
    assert by_key["data"][0]["spend"] == 1.75 and by_key["total_cost_nanousd"] == 1_750_000_010
    assert by_key["data"][1]["failed_requests"] == 1
    by_day = await admin.ok("GET", f"/admin/spend?group_by=day&{query}")
    assert [(g["group"], g["cost_nanousd"]) for g in by_day["data"]] == [
        ("2026-11-03", 1_500_000_010),
        ("2026-11-04", 250_000_000),
    ]
    by_tag = await admin.ok("GET", f"/admin/spend?group_by=tag&{query}")
    assert {g["group"]: g["cost_nanousd"] for g in by_tag["data"]} == {"x": 1_750_000_000, "y": 250_000_000}
    by_model = await admin.ok("GET", f"/admin/spend?group_by=model&{query}")
    assert {g["group"]: g["requests"] for g in by_model["data"]} == {"fast": 2, "priced": 1}
    by_team = await admin.ok("GET", f"/admin/spend?group_by=team&{query}&team_id={team['id']}")
    assert [(g["group"], g["cost_nanousd"]) for g in by_team["data"]] == [(team["id"], 1_750_000_000)]
    assert (await admin.ok("GET", f"/admin/keys/{b['id']}"))["spend"] == 7.00000001
    backwards = await admin.call("GET", "/admin/spend?group_by=key&start=2026-11-30&end=2026-11-01")
    assert backwards.status_code == 400 and backwards.json()["error"]["param"] == "start"
    unknown = await admin.call("GET", "/admin/spend?group_by=planet")
    assert unknown.status_code == 422 and unknown.json()["error"]["param"] == "group_by"


async def test_the_request_log_pages_newest_first(admin: Admin, db: Database) -> None:
    start = datetime(2026, 11, 4, tzinfo=UTC)
    await record_spend(
        db, [_row(n, start + timedelta(minutes=n), status=200 if n % 3 else 429) for n in range(7)]
    )
    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        url = "/admin/requests?limit=3" + (f"&cursor={cursor}" if cursor else "")
        page = await admin.ok("GET", url)
        seen += [r["request_id"] for r in page["data"]]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert pages == 3 and seen == [f"req-{n:03d}" for n in reversed(range(7))]
    failed = await admin.ok("GET", "/admin/requests?failed=true")
    assert [r["request_id"] for r in failed["data"]] == ["req-006", "req-003", "req-000"]
    bad = await admin.call("GET", "/admin/requests?cursor=not-a-cursor")
    assert bad.status_code == 400 and bad.json()["error"]["param"] == "cursor"
