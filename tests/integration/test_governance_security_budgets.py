"""Budget and rate-limit rows B3, B8, B9, R2 and tenancy row T6 of BAD-INPUTS.md over real sockets:
what a request reserves without ``max_tokens``, refusals before any upstream call, hostile usage
from the provider, oversized requests, and a token limit crossed by one large answer."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from switchgear.core.usage import MAX_PLAUSIBLE_TOKENS
from switchgear.simulator.server import SimulatorThread
from switchgear.state import Scope
from tests.fakes.governance import MASTER_KEY, GovernedGateway, Stores
from tests.fakes.security import ScriptedGateway

DEFAULT_MAX_TOKENS = 1000
# $1 / $2 per million tokens: a request reserves body bytes + 2 x output tokens micro-USD.
PRICING = {"input": "1", "output": "2"}
SCRIPTED = [
    {
        "name": f"usage-{name}",
        "deployments": [{"provider": "sim", "model": f"sim-small;{script}"}],
        "pricing": PRICING,
    }
    for name, script in (
        ("negative", "prompt_tokens=-10;completion_tokens=-100"),
        ("missing", "usage=none"),
        ("absurd", "prompt_tokens=10;completion_tokens=1000000000000"),
        ("large", "prompt_tokens=10;completion_tokens=900"),
        ("slow", "prompt_tokens=10;completion_tokens=100;latency_ms=1500"),
    )
] + [{"name": "team-b-only", "deployments": [{"provider": "sim", "model": "sim-small"}], "pricing": PRICING}]


@pytest.fixture
def gw(sim: SimulatorThread, tmp_path: Path) -> Iterator[GovernedGateway]:
    stores = Stores(f"sqlite:///{tmp_path}/budgets.db", None)
    gateway = ScriptedGateway(sim, stores, SCRIPTED, default_max_tokens=DEFAULT_MAX_TOKENS).start()
    yield gateway
    gateway.stop()


def admin(gw: GovernedGateway, method: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
    response = httpx.request(
        method, gw.url + path, json=body, headers={"authorization": f"Bearer {MASTER_KEY}"}, timeout=10
    )
    assert response.status_code in (200, 201), response.text
    found: dict[str, Any] = response.json()
    return found


def chat_body(model: str, **extra: Any) -> bytes:
    body = {"model": model, "messages": [{"role": "user", "content": "hi"}], **extra}
    return json.dumps(body, separators=(",", ":")).encode()


def post(gw: GovernedGateway, key: str, body: bytes, path: str = "/v1/chat/completions") -> httpx.Response:
    headers = {"authorization": f"Bearer {key}", "content-type": "application/json"}
    return httpx.post(gw.url + path, content=body, headers=headers, timeout=20)


def held(gw: GovernedGateway, key_id: str) -> tuple[int, int]:
    """(spent, reserved) micro-USD of a key's budget in the gateway's state backend, now."""
    entry = gw.governance.directory.by_id[key_id]
    budget = entry.limits.budget
    period = budget.period if budget is not None else None
    found = gw.call(gw.governance.state.spent(Scope("key", key_id), period))  # type: ignore[arg-type]
    return found.spent_microusd, found.reserved_microusd


def settled(gw: GovernedGateway, key_id: str, timeout: float = 5.0) -> int:
    deadline = time.monotonic() + timeout
    while (found := held(gw, key_id))[1] and time.monotonic() < deadline:
        time.sleep(0.02)
    assert found[1] == 0, "the reservation was not settled"
    return found[0]


def test_b3_without_max_tokens_the_server_cap_is_reserved(gw: GovernedGateway, sim: SimulatorThread) -> None:
    key = admin(gw, "POST", "/admin/keys", {"max_budget": 1})
    for extra, output in (
        ({}, DEFAULT_MAX_TOKENS),
        ({"max_tokens": 300}, 300),
        ({"n": 3}, 3 * DEFAULT_MAX_TOKENS),
    ):
        body = chat_body("usage-slow", **extra)
        before = held(gw, key["id"])[0]
        with ThreadPoolExecutor(1) as pool:
            pending = pool.submit(post, gw, key["key"], body)
            deadline = time.monotonic() + 1.2
            while held(gw, key["id"])[1] == 0 and time.monotonic() < deadline:
                time.sleep(0.01)
            assert held(gw, key["id"]) == (before, len(body) + 2 * output), extra
            assert pending.result().status_code == 200
        assert settled(gw, key["id"]) == before + 210  # the scripted usage, whatever n


def test_b3_max_tokens_beyond_the_remaining_budget_is_refused_before_the_upstream(
    gw: GovernedGateway, sim: SimulatorThread
) -> None:
    key = admin(gw, "POST", "/admin/keys", {"max_budget": "0.005"})  # 5,000 micro-USD
    assert post(gw, key["key"], chat_body("metered", max_tokens=100)).status_code == 200
    spent = settled(gw, key["id"])
    assert spent == 210
    upstream = len(sim.requests)
    whole = post(gw, key["key"], chat_body("metered", max_tokens=10_000))  # 20,000+ micro-USD at worst
    assert whole.status_code == 429 and "more than the whole budget" in whole.json()["error"]["message"]
    remaining = post(gw, key["key"], chat_body("metered", max_tokens=2_450))  # > 4,790 left, < 5,000
    assert remaining.status_code == 429, remaining.text
    assert remaining.json()["error"]["code"] == "budget_exceeded"
    assert remaining.headers["x-should-retry"] == "false"
    assert len(sim.requests) == upstream
    assert held(gw, key["id"]) == (spent, 0)
    assert post(gw, key["key"], chat_body("metered", max_tokens=2_000)).status_code == 200  # it fits


def test_b8_negative_missing_and_absurd_usage_never_lower_spend(gw: GovernedGateway) -> None:
    key = admin(gw, "POST", "/admin/keys", {"max_budget": 1000})
    assert post(gw, key["key"], chat_body("metered")).status_code == 200
    spent = settled(gw, key["id"])
    assert spent == 210
    for model in ("usage-negative", "usage-missing", "usage-absurd"):
        count = len(gw.thread.settled)
        answer = post(gw, key["key"], chat_body(model, max_tokens=100))
        assert answer.status_code == 200, answer.text
        record = gw.thread.wait_settled(count + 1)[-1]
        now = settled(gw, key["id"])
        assert now >= spent, (model, now, spent)
        usage = answer.json().get("usage")
        if model == "usage-negative":
            assert record.usage is not None and record.usage.suspicious
            assert usage["prompt_tokens"] >= 0 and usage["completion_tokens"] >= 0
        if model == "usage-absurd":
            assert record.usage is not None and record.usage.suspicious
            assert record.usage.completion_tokens == MAX_PLAUSIBLE_TOKENS
            assert usage["completion_tokens"] == MAX_PLAUSIBLE_TOKENS  # the client sees what was counted
            assert now > spent
        if model == "usage-missing":
            assert now > spent, "an answer without usage was free: the reservation must be charged"
        spent = now


def test_b9_oversized_requests_are_refused_fast_and_reserve_nothing(
    gw: GovernedGateway, sim: SimulatorThread
) -> None:
    key = admin(gw, "POST", "/admin/keys", {"max_budget": 1, "tpm_limit": 100_000, "rpm_limit": 1000})
    huge = b'{"model": "metered", "messages": [{"role": "user", "content": "' + b"a" * 21_000_000 + b'"}]}'
    cases = {
        "n=128": (chat_body("metered", n=128), {429}),
        "max_tokens=1e9": (chat_body("metered", max_tokens=1_000_000_000), {400, 429}),
        "max_tokens=1e9 float": (chat_body("metered", max_tokens=1e9), {400}),
        "10k messages": (
            json.dumps(
                {"model": "metered", "messages": [{"role": "user", "content": "hi"}] * 10_000}
            ).encode(),
            {400, 413, 429},
        ),
        "20 MB body": (huge, {413}),
    }
    upstream = len(sim.requests)
    with httpx.Client(timeout=20) as http:
        for name, (body, allowed) in cases.items():
            started = time.monotonic()
            response = http.post(
                gw.url + "/v1/chat/completions",
                content=body,
                headers={"authorization": f"Bearer {key['key']}", "content-type": "application/json"},
            )
            took = time.monotonic() - started
            assert response.status_code in allowed, (name, response.status_code, response.text[:300])
            assert response.json()["error"]["message"], name
            limit = 0.5 if len(body) < 1_000_000 else 3.0  # 20 MB must at least cross the socket
            assert took < limit, (name, took)
            assert held(gw, key["id"]) == (0, 0), name
    assert len(sim.requests) == upstream
    assert post(gw, key["key"], chat_body("metered")).status_code == 200  # and the key still works


def test_r2_a_token_limit_crossed_by_one_answer_lets_it_finish_and_refuses_the_next(
    gw: GovernedGateway,
) -> None:
    key = admin(gw, "POST", "/admin/keys", {"tpm_limit": 1_000})
    body = chat_body("usage-large", max_tokens=100)  # admitted on ~170 tokens; the provider uses 910
    crossing = post(gw, key["key"], body)
    assert crossing.status_code == 200, crossing.text
    assert crossing.json()["usage"]["completion_tokens"] == 900
    assert crossing.headers["x-ratelimit-limit-tokens"] == "1000"
    gw.thread.wait_settled(1)
    deadline = time.monotonic() + 2
    while (refused := post(gw, key["key"], body)).status_code == 200:
        assert time.monotonic() < deadline, "the request after the crossing was admitted"
        time.sleep(0.05)
    assert refused.status_code == 429
    assert refused.json()["error"]["code"] == "rate_limit_exceeded"
    assert 1 <= int(refused.headers["retry-after"]) <= 60
    assert refused.headers["x-ratelimit-remaining-tokens"] == "90"


def test_t6_a_model_of_another_team_is_403_with_no_upstream_call(
    gw: GovernedGateway, sim: SimulatorThread
) -> None:
    org = admin(gw, "POST", "/admin/orgs", {"name": "o"})
    team_a = admin(gw, "POST", "/admin/teams", {"name": "a", "org_id": org["id"], "models": ["metered"]})
    admin(gw, "POST", "/admin/teams", {"name": "b", "org_id": org["id"], "models": ["team-b-only"]})
    key = admin(gw, "POST", "/admin/keys", {"team_id": team_a["id"]})
    assert post(gw, key["key"], chat_body("metered")).status_code == 200
    upstream = len(sim.requests)
    for body in (
        chat_body("team-b-only"),
        chat_body("TEAM-B-ONLY"),
        chat_body("metered", fallbacks=["team-b-only"]),
        json.dumps(
            {"model": "team-b-only", "max_tokens": 10, "messages": [{"role": "user", "content": "hi"}]}
        ).encode(),
    ):
        path = "/v1/messages" if b'"max_tokens": 10, "messages"' in body else "/v1/chat/completions"
        refused = post(gw, key["key"], body, path)
        assert refused.status_code in (403, 404), refused.text
        assert "team-b-only" not in refused.text or refused.status_code == 403
    assert len(sim.requests) == upstream
