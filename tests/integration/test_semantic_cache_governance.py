"""The semantic cache with virtual keys: a paraphrase is answered only from the same tenant's
entries (a key's team, else the key; the master key apart), and a semantic hit is logged free and
charges no budget."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openai
import pytest

from switchgear.cache import ExactCache
from switchgear.simulator.server import SimulatorThread
from switchgear.state import Scope
from switchgear.storage import Limits
from tests.fakes.governance import ANSWER_MICROUSD, MASTER_KEY, GovernedGateway, Stores, make_key
from tests.integration.test_cache_governance import logged_request, settled, team


@pytest.fixture
def stores(tmp_path: Path) -> Stores:
    return Stores(f"sqlite:///{tmp_path}/cache.db", None)


@pytest.fixture
def gateway(sim: SimulatorThread, stores: Stores) -> Iterator[GovernedGateway]:
    cache = {"exact": {"enabled": True}, "semantic": {"enabled": True}}
    gw = GovernedGateway(sim, stores, cache=cache).start()
    yield gw
    gw.stop()


def ask(gw: GovernedGateway, key: str, text: str) -> Any:
    with openai.OpenAI(base_url=gw.url + "/v1", api_key=key, max_retries=0, timeout=10) as client:
        messages = [{"role": "user", "content": text}]
        return client.chat.completions.with_raw_response.create(model="metered", messages=messages)  # type: ignore[arg-type]


def indexed(gw: GovernedGateway, count: int) -> None:
    stage = next(s for s in gw.thread.app.runtime.engine.chain.stages if isinstance(s, ExactCache))
    assert stage.semantic is not None
    deadline = time.monotonic() + 10
    while len(stage.semantic.index) < count:
        assert time.monotonic() < deadline, f"expected {count} entries, got {len(stage.semantic.index)}"
        time.sleep(0.01)


def test_tenants_never_get_each_others_semantic_hits(gateway: GovernedGateway, stores: Stores) -> None:
    red, blue = team(stores, "red"), team(stores, "blue")
    red_one, _ = make_key(stores.database_url, team_id=red)
    red_two, _ = make_key(stores.database_url, team_id=red)
    blue_key, _ = make_key(stores.database_url, team_id=blue)
    loner, _ = make_key(stores.database_url)
    gateway.call(gateway.governance.directory.load())
    asked, paraphrase = "How do I learn Python quickly?", "How can I learn Python quickly?"
    assert ask(gateway, red_one, asked).headers["x-switchgear-cache"] == "MISS"
    indexed(gateway, 1)
    for other in (blue_key, loner, MASTER_KEY):  # other tenants: nothing of red's
        assert ask(gateway, other, paraphrase).headers["x-switchgear-cache"] == "MISS"
    assert ask(gateway, red_two, paraphrase).headers["x-switchgear-cache"] == "SEMANTIC-HIT"  # same team
    indexed(gateway, 4)
    assert (
        ask(gateway, blue_key, "How could I learn Python quickly?").headers["x-switchgear-cache"]
        == "SEMANTIC-HIT"
    )


def test_a_semantic_hit_is_logged_free_and_charges_no_budget(
    gateway: GovernedGateway, stores: Stores
) -> None:
    key, key_id = make_key(stores.database_url, Limits(max_budget_microusd=10_000, budget_duration="1d"))
    gateway.publish("key", key_id)
    scope = Scope("key", key_id)
    first = ask(gateway, key, "What is the capital of France?")
    assert first.headers["x-switchgear-cache"] == "MISS"
    assert settled(gateway, scope, ANSWER_MICROUSD) == (ANSWER_MICROUSD, 0)
    indexed(gateway, 1)
    hit = ask(gateway, key, "What is the capital city of France?")
    assert hit.headers["x-switchgear-cache"] == "SEMANTIC-HIT"
    assert hit.parse().usage.cost == 0
    time.sleep(0.3)
    assert settled(gateway, scope, ANSWER_MICROUSD) == (ANSWER_MICROUSD, 0)
    logged = logged_request(gateway, hit.headers["x-request-id"])
    assert logged["cache"] == "SEMANTIC-HIT" and logged["cost_nanousd"] == 0
