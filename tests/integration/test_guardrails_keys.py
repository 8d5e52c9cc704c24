"""Per-key guardrail policies from the admin API (a key's metadata names the policies it gets),
and tenants with the same prompt kept apart in the cache while their prompts are masked (C1)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest

from switchgear.cache import ExactCache
from switchgear.simulator.server import SimulatorThread
from switchgear.storage import Database
from switchgear.storage.hierarchy import create_team
from switchgear.storage.reports import query_requests
from tests.fakes.governance import MASTER_KEY, GovernedGateway, Stores, make_key, with_db

EMAIL = "kim.lee@example.net"
POLICIES = [
    {"name": "pii-by-key", "kind": "pii", "scope": {"opt_in": True}},
    {"name": "short-prompts", "kind": "content", "max_prompt_chars": 40, "scope": {"opt_in": True}},
]


@pytest.fixture
def gateway(sim: SimulatorThread, tmp_path: Path) -> Iterator[GovernedGateway]:
    stores = Stores(f"sqlite:///{tmp_path}/g.db", None)
    gw = GovernedGateway(sim, stores, cache={"exact": {"enabled": True}}, guardrails=POLICIES).start()
    gw.stores = stores  # type: ignore[attr-defined]
    yield gw
    gw.stop()


def _admin(gw: GovernedGateway, method: str, path: str, **body: Any) -> dict[str, Any]:
    response = httpx.request(
        method, gw.url + path, json=body, headers={"authorization": f"Bearer {MASTER_KEY}"}, timeout=10
    )
    assert response.status_code < 300, response.text
    result: dict[str, Any] = response.json()
    return result


def _ask(gw: GovernedGateway, key: str, text: str) -> Any:
    with openai.OpenAI(base_url=gw.url + "/v1", api_key=key, max_retries=0, timeout=10) as client:
        return client.chat.completions.with_raw_response.create(
            model="metered", messages=[{"role": "user", "content": text}]
        )


def _eventually(check: Any) -> None:
    deadline = time.monotonic() + 5
    while not check():
        assert time.monotonic() < deadline
        time.sleep(0.05)


def test_a_keys_metadata_attaches_policies_set_through_the_admin_api(
    gateway: GovernedGateway, sim: SimulatorThread
) -> None:
    plain = _admin(gateway, "POST", "/admin/keys", name="plain")
    guarded = _admin(gateway, "POST", "/admin/keys", name="guarded", metadata={"guardrails": ["pii-by-key"]})
    _ask(gateway, plain["key"], f"mail {EMAIL}")
    assert EMAIL in sim.last().body.decode()  # an opt-in policy: not for this key
    _ask(gateway, guarded["key"], f"mail {EMAIL}")
    assert EMAIL not in sim.last().body.decode() and "<EMAIL_1>" in sim.last().body.decode()
    # the administrator adds a maximum prompt size to the plain key
    _admin(gateway, "PATCH", f"/admin/keys/{plain['id']}", metadata={"guardrails": ["short-prompts"]})

    def refused() -> bool:
        try:
            _ask(gateway, plain["key"], "x" * 60)
        except openai.BadRequestError as exc:
            return "MAX_PROMPT_CHARS" in str(exc)
        return False

    _eventually(refused)


def test_tenants_with_the_same_masked_prompt_get_separate_cache_entries(
    gateway: GovernedGateway, sim: SimulatorThread
) -> None:
    url = gateway.stores.database_url  # type: ignore[attr-defined]

    def team(name: str) -> str:
        async def make(db: Database) -> str:
            return (await create_team(db, name)).id

        return with_db(url, make)

    a_key, _ = make_key(url, team_id=team("a"), metadata={"guardrails": ["pii-by-key"]})
    b_key, _ = make_key(url, team_id=team("b"), metadata={"guardrails": ["pii-by-key"]})
    gateway.call(gateway.governance.directory.load())
    prompt = f"remember {EMAIL} for me"
    before = len(sim.requests)
    first = _ask(gateway, a_key, prompt)
    assert first.headers["x-switchgear-cache"] == "MISS"
    stage = next(s for s in gateway.thread.app.runtime.engine.chain.stages if isinstance(s, ExactCache))
    _eventually(lambda: stage.stats.stored >= 1)
    second = _ask(gateway, b_key, prompt)
    assert second.headers["x-switchgear-cache"] == "MISS"  # B is never served A's answer
    assert len(sim.requests) - before == 2
    assert _ask(gateway, a_key, prompt).headers["x-switchgear-cache"] == "HIT"
    assert all(EMAIL not in r.body.decode() for r in sim.requests[before:])


def test_the_spend_log_stores_what_was_found_never_the_values(gateway: GovernedGateway) -> None:
    guarded = _admin(gateway, "POST", "/admin/keys", name="g", metadata={"guardrails": ["pii-by-key"]})
    raw = _ask(gateway, guarded["key"], f"mail {EMAIL} or call +1 415-555-0132")
    request_id = raw.headers["x-request-id"]
    url = gateway.stores.database_url  # type: ignore[attr-defined]

    def row() -> Any:
        async def read(db: Database) -> Any:
            page = await query_requests(db, limit=100)
            return next((r for r in page.rows if r.request_id == request_id), None)

        return with_db(url, read)

    _eventually(lambda: row() is not None)
    stored = row()
    assert stored.guardrails is not None
    text = repr(stored.guardrails)
    assert EMAIL not in text and "415-555-0132" not in text
    inputs = [g for g in stored.guardrails if g.direction == "input"]
    assert len(inputs) == 1 and inputs[0].action == "redact" and inputs[0].name == "pii-by-key"
    assert inputs[0].found == {"EMAIL_ADDRESS": 1, "PHONE_NUMBER": 1}


def test_the_payload_log_keeps_prompts_masked_with_the_pii_hook(sim: SimulatorThread, tmp_path: Path) -> None:
    stores = Stores(f"sqlite:///{tmp_path}/p.db", None)
    payloads = {"enabled": True, "redact": ["switchgear.guardrails.pii:redact_text"]}
    gw = GovernedGateway(sim, stores, guardrails=POLICIES, observability={"payloads": payloads}).start()
    try:
        guarded = _admin(gw, "POST", "/admin/keys", name="g", metadata={"guardrails": ["pii-by-key"]})
        raw = _ask(gw, guarded["key"], f"mail {EMAIL}")
        request_id = raw.headers["x-request-id"]
        assert EMAIL not in sim.last().body.decode()

        def stored() -> str | None:
            response = httpx.get(
                f"{gw.url}/admin/requests/{request_id}/payload",
                headers={"authorization": f"Bearer {MASTER_KEY}"},
                timeout=10,
            )
            return response.text if response.status_code == 200 else None

        _eventually(lambda: stored() is not None)
        text = stored() or ""
        assert EMAIL not in text and "<EMAIL_1>" in text
    finally:
        gw.stop()
