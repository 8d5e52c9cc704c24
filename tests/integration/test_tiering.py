"""Tiered models end to end: the openai SDK against the gateway and the simulated providers.

Rules route as configured (length, code, tags, JSON asked, conversation depth, the hint header);
the shipped classifier sends a hard and an easy prompt to different tiers; the cascade escalates
on invalid JSON and on a refusal and not on a good answer, and bills both calls; the tier headers
and the settle record's ``tier`` / ``tier_reason`` are there; a tier that fails falls back.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import anthropic
import openai
import pytest

from switchgear.observability.access_log import fields as access_fields
from switchgear.simulator.server import SimulatorThread
from tests.conftest import base_config
from tests.fakes.gateway import GatewayThread

CHEAP = {"input": "0.1", "output": "0.2"}
STRONG = {"input": "10", "output": "30"}
REFUSAL = "I%27m sorry%2C but I can%27t help with that."

TERSE = "He has 10 apples."
WORKED = "3 bags x 4 apples = 12 apples. He eats 2, so 12 - 2 = 10.\n#### 10"
APPLES = (
    "Tom buys 3 bags of apples with 4 apples in each bag. He eats 2. How many apples does he have in total?"
)
EASY = "What is the capital of France?"
HARD = (
    "Statement 1 | Every group of order p^2, where p is prime, is abelian. Statement 2 | For every "
    "positive integer n there is a cyclic group of order n. Which of the following is NOT true?\n"
    "A. True, True\nB. False, False\nC. True, False\nD. False, True\nAnswer:"
)


def tiered(name: str, policy: str, tiers: list[str], **more: Any) -> dict[str, Any]:
    return {"name": name, "tiering": {"policy": policy, "tiers": tiers, **more}}


def plain(name: str, provider: str, model: str, prices: dict[str, str]) -> dict[str, Any]:
    return {"name": name, "deployments": [{"provider": provider, "model": model, "pricing": prices}]}


@pytest.fixture(scope="module")
def gw(sim: SimulatorThread) -> Iterator[GatewayThread]:
    config = base_config(sim)
    config["models"] += [
        plain("cheap", "sim", "cheap-m", CHEAP),
        plain("strong", "sim2", "strong-m", STRONG),
        plain("cheap-badjson", "sim", "cj;content=not%20json%20at%20all", CHEAP),
        plain("cheap-refuses", "sim", f"cr;content={REFUSAL}", CHEAP),
        plain("cheap-good", "sim", "cg;content=The%20answer%20is%2042.", CHEAP),
        plain("broken", "down", "b-m", CHEAP),
        plain("cheap-terse", "sim", f"ct;content={quote(TERSE)}", CHEAP),
        plain("cheap-worked", "sim", f"cw;content={quote(WORKED)}", CHEAP),
        tiered(
            "auto-rules",
            "rules",
            ["cheap", "strong"],
            rules=[
                {"name": "code", "tier": "strong", "when": {"code": True}},
                {"name": "long", "tier": "strong", "when": {"min_chars": 400}},
                {"name": "vip", "tier": "strong", "when": {"tags": ["vip"]}},
                {"name": "json", "tier": "strong", "when": {"json_output": True}},
                {"name": "deep", "tier": "strong", "when": {"min_turns": 3}},
                {"name": "legal", "tier": "strong", "when": {"keywords": ["indemnify", "tort"]}},
            ],
        ),
        tiered("auto", "classifier", ["cheap", "strong"], target_strong_share=0.4),
        tiered("cascade-json", "cascade", ["cheap-badjson", "strong"]),
        tiered("cascade-refuses", "cascade", ["cheap-refuses", "strong"]),
        tiered("cascade-good", "cascade", ["cheap-good", "strong"]),
        tiered("auto-down", "rules", ["broken", "cheap"]),
        tiered("learned-terse", "cascade", ["cheap-terse", "strong"], cascade={"learned_share": 0.3}),
        tiered("learned-worked", "cascade", ["cheap-worked", "strong"], cascade={"learned_share": 0.3}),
    ]
    gateway = GatewayThread(config).start()
    yield gateway
    gateway.stop()


@pytest.fixture()
def client(gw: GatewayThread) -> Iterator[openai.OpenAI]:
    with openai.OpenAI(base_url=gw.url + "/v1", api_key="x", max_retries=0, timeout=10) as made:
        yield made


def ask(client: openai.OpenAI, model: str, text: str = EASY, **extra: Any) -> Any:
    messages = extra.pop("messages", [{"role": "user", "content": text}])
    return client.chat.completions.with_raw_response.create(model=model, messages=messages, **extra)


def tier(raw: Any) -> tuple[str, str, str]:
    h = raw.headers
    return h["x-switchgear-tier"], h["x-switchgear-tier-reason"], h["x-switchgear-model"]


def record(gw: GatewayThread, request_id: str) -> Any:
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        for r in gw.settled:
            if r.request_id == request_id:
                return r
        time.sleep(0.01)
    raise AssertionError(f"no settle record for {request_id}")


def test_rules_route_as_configured(client: openai.OpenAI) -> None:
    assert tier(ask(client, "auto-rules")) == ("cheap", "default", "cheap-m")
    assert tier(ask(client, "auto-rules", "Fix this:\n```python\ndef f(x): return x+\n```")) == (
        "strong",
        "rule code",
        "strong-m",
    )
    assert tier(ask(client, "auto-rules", "word " * 100))[:2] == ("strong", "rule long")
    assert tier(ask(client, "auto-rules", extra_headers={"x-switchgear-tags": "vip"}))[1] == "rule vip"
    json_asked = ask(client, "auto-rules", response_format={"type": "json_object"})
    assert tier(json_asked)[1] == "rule json"
    turns = [{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}] * 2
    assert (
        tier(ask(client, "auto-rules", messages=[*turns, {"role": "user", "content": "c"}]))[1] == "rule deep"
    )
    assert tier(ask(client, "auto-rules", "Must we indemnify them?"))[1] == "rule legal"


def test_the_hint_header_names_a_tier(client: openai.OpenAI) -> None:
    hinted = ask(client, "auto-rules", extra_headers={"x-switchgear-tier-hint": "strong"})
    assert tier(hinted) == ("strong", "hint strong", "strong-m")
    unknown = ask(client, "auto-rules", extra_headers={"x-switchgear-tier-hint": "gold"})
    assert tier(unknown)[0] == "cheap"  # not a tier: the policy decides


def test_classifier_routes_hard_and_easy_prompts_apart(client: openai.OpenAI, gw: GatewayThread) -> None:
    easy, hard = ask(client, "auto", EASY), ask(client, "auto", HARD)
    assert tier(easy)[0] == "cheap" and tier(easy)[2] == "cheap-m"
    assert tier(hard)[0] == "strong" and tier(hard)[2] == "strong-m"
    assert tier(hard)[1].startswith("score ") and " > " in tier(hard)[1]
    assert " <= " in tier(easy)[1]
    r = record(gw, hard.headers["x-request-id"])
    assert (r.tier, r.tier_reason) == ("strong", tier(hard)[1])
    line = access_fields(r)
    assert (line["tier"], line["tier_reason"]) == ("strong", tier(hard)[1])
    assert "x-switchgear-fallback-from" not in hard.headers


def test_cascade_escalates_on_invalid_json(client: openai.OpenAI, gw: GatewayThread) -> None:
    raw = ask(client, "cascade-json", response_format={"type": "json_object"})
    assert tier(raw) == ("strong", "escalated: invalid JSON", "strong-m")
    r = record(gw, raw.headers["x-request-id"])
    assert (r.tier, r.tier_reason) == ("strong", "escalated: invalid JSON")
    assert [a.deployment.model for a in r.attempts] == ["cj;content=not%20json%20at%20all", "strong-m"]
    strong_only = r.usage.prompt_tokens * 10_000 + r.usage.completion_tokens * 30_000  # nano-USD
    assert r.cost_nanousd > strong_only  # the refused cheap answer is billed too
    assert float(raw.headers["x-switchgear-cost"]) * 1e9 == pytest.approx(r.cost_nanousd, rel=1e-6)


def test_cascade_escalates_on_a_refusal(client: openai.OpenAI) -> None:
    assert tier(ask(client, "cascade-refuses")) == ("strong", "escalated: refusal", "strong-m")


def test_cascade_keeps_a_good_answer(client: openai.OpenAI) -> None:
    raw = ask(client, "cascade-good", "How many legs do 21 spiders have in total?")
    assert tier(raw) == ("cheap-good", "cascade: cheapest first", "cg;content=The%20answer%20is%2042.")
    assert raw.parse().choices[0].message.content == "The answer is 42."


def test_the_learned_cascade_escalates_a_doubtful_math_answer(client: openai.OpenAI) -> None:
    terse = ask(client, "learned-terse", APPLES)
    assert tier(terse)[0] == "strong" and tier(terse)[1].startswith("escalated: learned score ")
    worked = ask(client, "learned-worked", APPLES)
    assert tier(worked)[:2] == ("cheap-worked", "cascade: cheapest first")
    not_math = ask(client, "learned-terse", "Write a haiku about the sea")
    assert tier(not_math)[0] == "cheap-terse"  # the learned check reads math answers only


def test_cascade_is_off_for_streams(client: openai.OpenAI) -> None:
    with client.chat.completions.with_streaming_response.create(
        model="cascade-refuses", messages=[{"role": "user", "content": "hi"}], stream=True
    ) as streamed:
        assert streamed.headers["x-switchgear-tier"] == "cheap-refuses"
        assert streamed.headers["x-switchgear-tier-reason"] == "cascade off for streams: cheapest"
        assert "sorry" in "".join(streamed.iter_text())


def test_a_failing_tier_falls_back(client: openai.OpenAI, gw: GatewayThread) -> None:
    raw = ask(client, "auto-down")
    assert tier(raw) == ("broken", "default", "cheap-m")
    assert raw.headers["x-switchgear-fallback-from"] == "auto-down"
    r = record(gw, raw.headers["x-request-id"])
    assert [a.status for a in r.attempts] == [None, 200]


def test_untiered_models_carry_no_tier(client: openai.OpenAI, gw: GatewayThread) -> None:
    raw = ask(client, "cheap")
    assert "x-switchgear-tier" not in raw.headers
    assert record(gw, raw.headers["x-request-id"]).tier is None


def test_anthropic_messages_are_tiered_too(gw: GatewayThread) -> None:
    with anthropic.Anthropic(base_url=gw.url, api_key="x", max_retries=0, timeout=10) as claude:
        raw = claude.messages.with_raw_response.create(
            model="auto-rules",
            max_tokens=50,
            messages=[{"role": "user", "content": "Must we indemnify them?"}],
        )
    assert raw.headers["x-switchgear-tier"] == "strong"
    assert raw.headers["x-switchgear-tier-reason"] == "rule legal"
