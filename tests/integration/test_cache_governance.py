"""The exact cache with virtual keys: entries are scoped by tenant (a key's team, else the key; the
master key apart), and a hit is logged as a free HIT and charges no budget."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest

from switchgear.cache import ExactCache
from switchgear.simulator.server import SimulatorThread
from switchgear.state import Scope
from switchgear.storage import Database, Limits
from switchgear.storage.hierarchy import create_team
from tests.fakes.governance import ANSWER_MICROUSD, MASTER_KEY, GovernedGateway, Stores, make_key, with_db


@pytest.fixture
def stores(tmp_path: Path) -> Stores:
    return Stores(f"sqlite:///{tmp_path}/cache.db", None)


@pytest.fixture
def gateway(sim: SimulatorThread, stores: Stores) -> Iterator[GovernedGateway]:
    gw = GovernedGateway(sim, stores, cache={"exact": {"enabled": True}}).start()
    yield gw
    gw.stop()


def team(stores: Stores, name: str) -> str:
    async def make(db: Database) -> str:
        return (await create_team(db, name)).id

    return with_db(stores.database_url, make)


def ask(gw: GovernedGateway, key: str, messages: list[dict[str, str]]) -> Any:
    with openai.OpenAI(base_url=gw.url + "/v1", api_key=key, max_retries=0, timeout=10) as client:
        return client.chat.completions.with_raw_response.create(model="metered", messages=messages)  # type: ignore[arg-type]


def stored(gw: GovernedGateway, count: int) -> None:
    stage = next(s for s in gw.thread.app.runtime.engine.chain.stages if isinstance(s, ExactCache))
    deadline = time.monotonic() + 5
    while stage.stats.stored < count:
        assert time.monotonic() < deadline, f"expected {count} stored answers, got {stage.stats.stored}"
        time.sleep(0.01)


def question() -> list[dict[str, str]]:
    return [{"role": "user", "content": f"tell me about {uuid.uuid4().hex}"}]


def upstream_calls(sim: SimulatorThread, messages: list[dict[str, str]]) -> int:
    return sum(messages[0]["content"] in r.body.decode("utf-8", "replace") for r in sim.requests)


def test_tenants_never_share_an_answer(
    gateway: GovernedGateway, stores: Stores, sim: SimulatorThread
) -> None:
    red, blue = team(stores, "red"), team(stores, "blue")
    red_one, _ = make_key(stores.database_url, team_id=red)
    red_two, _ = make_key(stores.database_url, team_id=red)
    blue_key, _ = make_key(stores.database_url, team_id=blue)
    loner, _ = make_key(stores.database_url)
    loner_two, _ = make_key(stores.database_url)
    gateway.call(gateway.governance.directory.load())
    messages = question()
    assert ask(gateway, red_one, messages).headers["x-switchgear-cache"] == "MISS"
    stored(gateway, 1)
    assert ask(gateway, blue_key, messages).headers["x-switchgear-cache"] == "MISS"  # another team
    assert ask(gateway, loner, messages).headers["x-switchgear-cache"] == "MISS"  # no team: its own key
    assert ask(gateway, MASTER_KEY, messages).headers["x-switchgear-cache"] == "MISS"
    stored(gateway, 4)
    assert ask(gateway, loner_two, messages).headers["x-switchgear-cache"] == "MISS"
    assert ask(gateway, red_two, messages).headers["x-switchgear-cache"] == "HIT"  # same team
    assert ask(gateway, blue_key, messages).headers["x-switchgear-cache"] == "HIT"
    assert ask(gateway, MASTER_KEY, messages).headers["x-switchgear-cache"] == "HIT"
    assert upstream_calls(sim, messages) == 5


def test_a_hit_is_logged_free_and_charges_no_budget(gateway: GovernedGateway, stores: Stores) -> None:
    key, key_id = make_key(stores.database_url, Limits(max_budget_microusd=10_000, budget_duration="1d"))
    gateway.publish("key", key_id)
    scope = Scope("key", key_id)
    messages = question()
    first = ask(gateway, key, messages)
    assert first.headers["x-switchgear-cache"] == "MISS"
    assert settled(gateway, scope, ANSWER_MICROUSD) == (ANSWER_MICROUSD, 0)
    stored(gateway, 1)
    for _ in range(3):
        hit = ask(gateway, key, messages)
        assert hit.headers["x-switchgear-cache"] == "HIT"
        assert hit.parse().usage.cost == 0
    time.sleep(0.3)  # the hits' settlement had its chance to charge something
    # nothing reserved, nothing more spent
    assert settled(gateway, scope, ANSWER_MICROUSD) == (ANSWER_MICROUSD, 0)
    logged = logged_request(gateway, hit.headers["x-request-id"])
    assert logged["cache"] == "HIT" and logged["cost_nanousd"] == 0
    assert logged_request(gateway, first.headers["x-request-id"])["cache"] == "MISS"


def settled(gw: GovernedGateway, scope: Scope, expected: int) -> tuple[int, int]:
    deadline = time.monotonic() + 5
    while True:
        found = gw.call(gw.governance.state.spent(scope, _period(gw, scope)))
        pair = (found.spent_microusd, found.reserved_microusd)
        if pair == (expected, 0) or time.monotonic() > deadline:
            return pair
        time.sleep(0.02)


def _period(gw: GovernedGateway, scope: Scope) -> Any:
    entry = gw.governance.directory.by_id.get(scope.id)
    budget = entry.limits.budget if entry is not None else None
    assert budget is not None
    return budget.period


def logged_request(gw: GovernedGateway, request_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + 10
    while True:
        page = httpx.get(
            gw.url + "/admin/requests",
            params={"request_id": request_id},
            headers={"authorization": f"Bearer {MASTER_KEY}"},
        ).json()
        if page["data"]:
            found: dict[str, Any] = page["data"][0]
            return found
        assert time.monotonic() < deadline, f"request {request_id} never reached the spend log"
        time.sleep(0.1)
