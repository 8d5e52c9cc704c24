"""The cascade's logprob and judge checks end to end: the openai SDK against the gateway and the
simulated providers, over real sockets.

The simulator's token logprobs are deterministic (``simulator.text.logprob_of``), so an answer's
mean is known before it is asked: "Paris" is the unsure answer, "Paris." the sure one. The logprob
check escalates the first and keeps the second, asks the cheap tier (only) for logprobs and gives
the client none unless it asked; an Anthropic cheap tier sends none and is not checked. The judge
keeps an answer it passes, escalates one it fails or cannot grade (an error, a timeout), sees the
question and the answer, and its call is billed with the request.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import openai
import orjson
import pytest

from switchgear.simulator.server import SimulatorThread
from switchgear.simulator.text import logprob_of, word_pieces
from tests.conftest import base_config
from tests.fakes.gateway import GatewayThread

CHEAP = {"input": "0.1", "output": "0.2"}  # nano-USD per token: 100 in, 200 out
STRONG = {"input": "10", "output": "30"}  # 10,000 in, 30,000 out
JUDGE = {"input": "1", "output": "2"}  # 1,000 in, 2,000 out
FIXED = "prompt_tokens=20;completion_tokens=2"  # the cheap answers' usage: 2,400 nano-USD
CHEAP_NANO = 20 * 100 + 2 * 200
JUDGE_USAGE = "prompt_tokens=100;completion_tokens=1"  # the judges' usage: 102,000 nano-USD
JUDGE_NANO = 100 * 1_000 + 1 * 2_000
UNSURE, SURE = "Paris", "Paris."
THRESHOLD = -0.3
QUESTION = "What is the capital of France?"


def mean_of(text: str) -> float:
    pieces = word_pieces(text)
    return sum(logprob_of(p, i) for i, p in enumerate(pieces)) / len(pieces)


def plain(name: str, provider: str, model: str, prices: dict[str, str]) -> dict[str, Any]:
    return {"name": name, "deployments": [{"provider": provider, "model": model, "pricing": prices}]}


def cascade(name: str, cheap: str, **checks: Any) -> dict[str, Any]:
    return {"name": name, "tiering": {"policy": "cascade", "tiers": [cheap, "strong"], "cascade": checks}}


@pytest.fixture(scope="module")
def gw(sim: SimulatorThread) -> Iterator[GatewayThread]:
    config = base_config(sim)
    judge = {"timeout": "5s"}
    config["models"] += [
        plain("strong", "sim2", "strong-m", STRONG),
        plain("cheap-unsure", "sim", f"lpu;content={UNSURE};{FIXED}", CHEAP),
        plain("cheap-sure", "sim", f"lps;content={SURE};{FIXED}", CHEAP),
        plain("cheap-claude", "s-anthropic", f"lpc;content={UNSURE};{FIXED}", CHEAP),
        plain("cheap-judged", "sim", f"jdg;content={SURE};{FIXED}", CHEAP),
        plain("judge-pass", "sim", f"jp;content=PASS%2C it is right.;{JUDGE_USAGE}", JUDGE),
        plain("judge-fail", "sim", f"jf;content=**FAIL**;{JUDGE_USAGE}", JUDGE),
        plain("judge-vague", "sim", f"jv;content=It depends.;{JUDGE_USAGE}", JUDGE),
        plain("judge-down", "down", "jd", JUDGE),
        plain("judge-slow", "sim", f"js;content=PASS;latency_ms=5000;{JUDGE_USAGE}", JUDGE),
        cascade("lp-unsure", "cheap-unsure", min_mean_logprob=THRESHOLD),
        cascade("lp-sure", "cheap-sure", min_mean_logprob=THRESHOLD),
        cascade("lp-claude", "cheap-claude", min_mean_logprob=THRESHOLD),
        cascade("judged-pass", "cheap-judged", judge={"model": "judge-pass", **judge}),
        cascade("judged-fail", "cheap-judged", judge={"model": "judge-fail", **judge}),
        cascade("judged-vague", "cheap-judged", judge={"model": "judge-vague", **judge}),
        cascade("judged-down", "cheap-judged", judge={"model": "judge-down", **judge}),
        cascade("judged-slow", "cheap-judged", judge={"model": "judge-slow", "timeout": "300ms"}),
    ]
    gateway = GatewayThread(config).start()
    yield gateway
    gateway.stop()


@pytest.fixture()
def client(gw: GatewayThread) -> Iterator[openai.OpenAI]:
    with openai.OpenAI(base_url=gw.url + "/v1", api_key="x", max_retries=0, timeout=20) as made:
        yield made


def ask(client: openai.OpenAI, model: str, **extra: Any) -> Any:
    messages = [{"role": "user", "content": QUESTION}]
    return client.chat.completions.with_raw_response.create(model=model, messages=messages, **extra)


def tier(raw: Any) -> tuple[str, str]:
    return raw.headers["x-switchgear-tier"], raw.headers["x-switchgear-tier-reason"]


def record(gw: GatewayThread, request_id: str) -> Any:
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        for r in gw.settled:
            if r.request_id == request_id:
                return r
        time.sleep(0.01)
    raise AssertionError(f"no settle record for {request_id}")


def sent(sim: SimulatorThread, prefix: str, since: int) -> list[dict[str, Any]]:
    """The bodies the simulator received since ``since`` for deployments named ``prefix;...``."""
    bodies = [orjson.loads(r.body) for r in sim.requests[since:] if r.body]
    return [b for b in bodies if str(b.get("model", "")).startswith(prefix + ";")]


def strong_nano(r: Any) -> int:
    return int(r.usage.prompt_tokens * 10_000 + r.usage.completion_tokens * 30_000)


def test_the_premise_one_answer_is_unsure_the_other_sure() -> None:
    assert mean_of(UNSURE) < THRESHOLD < mean_of(SURE)


def test_a_low_mean_logprob_escalates(client: openai.OpenAI, gw: GatewayThread, sim: SimulatorThread) -> None:
    since = len(sim.requests)
    raw = ask(client, "lp-unsure")
    assert tier(raw) == ("strong", f"escalated: mean logprob {mean_of(UNSURE):.2f} < -0.3")
    assert raw.headers["x-switchgear-model"] == "strong-m"
    assert raw.parse().choices[0].logprobs is None
    assert [b.get("logprobs") for b in sent(sim, "lpu", since)] == [True]
    assert all("logprobs" not in b for b in sent(sim, "strong-m", since))  # the last tier is not checked
    r = record(gw, raw.headers["x-request-id"])
    assert r.cost_nanousd == strong_nano(r) + CHEAP_NANO  # the refused cheap answer is billed too


def test_a_high_mean_logprob_is_served_without_logprobs(
    client: openai.OpenAI, gw: GatewayThread, sim: SimulatorThread
) -> None:
    since = len(sim.requests)
    raw = ask(client, "lp-sure")
    assert tier(raw) == ("cheap-sure", "cascade: cheapest first")
    answer = raw.parse()
    assert answer.choices[0].message.content == SURE
    assert answer.choices[0].logprobs is None  # asked upstream for the check, not served
    assert b'"logprobs":null' in raw.http_response.content
    assert [b.get("logprobs") for b in sent(sim, "lps", since)] == [True]


def test_a_client_that_asks_for_logprobs_gets_them(client: openai.OpenAI, sim: SimulatorThread) -> None:
    since = len(sim.requests)
    raw = ask(client, "lp-sure", logprobs=True, top_logprobs=2)
    assert tier(raw)[0] == "cheap-sure"
    tokens = raw.parse().choices[0].logprobs.content
    assert [t.token for t in tokens] == word_pieces(SURE)
    assert [t.logprob for t in tokens] == [logprob_of(p, i) for i, p in enumerate(word_pieces(SURE))]
    assert [len(t.top_logprobs) for t in tokens] == [2] * len(tokens)
    assert [(b.get("logprobs"), b.get("top_logprobs")) for b in sent(sim, "lps", since)] == [(True, 2)]


def test_a_provider_without_logprobs_skips_the_check(client: openai.OpenAI) -> None:
    raw = ask(client, "lp-claude")  # Anthropic sends no logprobs: the unsure answer is served
    assert tier(raw) == ("cheap-claude", "cascade: cheapest first")
    assert raw.parse().choices[0].message.content == UNSURE


def test_a_judge_pass_keeps_the_cheap_answer_and_is_billed(
    client: openai.OpenAI, gw: GatewayThread, sim: SimulatorThread
) -> None:
    since = len(sim.requests)
    raw = ask(client, "judged-pass")
    assert tier(raw) == ("cheap-judged", "cascade: cheapest first")
    assert raw.parse().choices[0].message.content == SURE
    r = record(gw, raw.headers["x-request-id"])
    assert r.cost_nanousd == CHEAP_NANO + JUDGE_NANO
    assert float(raw.headers["x-switchgear-cost"]) * 1e9 == pytest.approx(r.cost_nanousd, rel=1e-9)
    assert raw.parse().usage.model_extra["cost"] == pytest.approx(r.cost_nanousd / 1e9, rel=1e-9)
    (graded,) = sent(sim, "jp", since)
    prompt = graded["messages"][0]["content"]
    assert QUESTION in prompt and SURE in prompt and "PASS or FAIL" in prompt
    assert graded["max_completion_tokens"] == 16 and graded["temperature"] == 0
    assert "logprobs" not in graded
    assert all("logprobs" not in b for b in sent(sim, "jdg", since))  # no logprob check on this model


def test_a_judge_fail_escalates_and_is_billed(client: openai.OpenAI, gw: GatewayThread) -> None:
    raw = ask(client, "judged-fail")
    assert tier(raw) == ("strong", "escalated: judge")
    assert raw.headers["x-switchgear-model"] == "strong-m"
    r = record(gw, raw.headers["x-request-id"])
    assert r.cost_nanousd == strong_nano(r) + CHEAP_NANO + JUDGE_NANO
    assert float(raw.headers["x-switchgear-cost"]) * 1e9 == pytest.approx(r.cost_nanousd, rel=1e-9)


def test_a_judge_without_a_verdict_escalates(client: openai.OpenAI) -> None:
    assert tier(ask(client, "judged-vague")) == ("strong", "escalated: judge error: no verdict")


def test_a_judge_error_escalates(client: openai.OpenAI, gw: GatewayThread) -> None:
    raw = ask(client, "judged-down")
    assert tier(raw)[0] == "strong"
    assert tier(raw)[1].startswith("escalated: judge error: ")
    r = record(gw, raw.headers["x-request-id"])
    assert r.cost_nanousd == strong_nano(r) + CHEAP_NANO  # the judge answered nothing: nothing billed
    assert [a.deployment.model for a in r.attempts] == ["jdg;content=Paris.;" + FIXED, "strong-m"]


def test_a_judge_timeout_escalates(client: openai.OpenAI) -> None:
    started = time.monotonic()
    raw = ask(client, "judged-slow")
    assert tier(raw) == ("strong", "escalated: judge error: timeout")
    assert time.monotonic() - started < 4.5  # the judge's 5 s answer was not waited for
