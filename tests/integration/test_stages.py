"""The stage contract, point by point, against the simulated providers with the official SDKs.

One probe stage implements every point; what it does to a request is chosen by the request's
tags (``x-switchgear-tags``), so the tests also prove that tags reach the stages.
"""

from __future__ import annotations

from collections.abc import Iterator

import anthropic
import httpx
import openai
import pytest

from switchgear.core.errors import PermissionDenied
from switchgear.core.types import ChatResponse, Choice, Message, TextPart
from switchgear.core.usage import Usage
from switchgear.providers.base import Deployment
from switchgear.simulator.server import SimulatorThread
from switchgear.stages import Attempt, EarlyAnswer, Principal, RequestContext, Stage
from tests.conftest import base_config
from tests.fakes.gateway import GatewayThread

MESSAGES = [{"role": "user", "content": "hi"}]


def tagged(*tags: str) -> dict[str, str]:
    return {"x-switchgear-tags": ",".join(tags)}


class Probe(Stage):
    name = "probe"

    def __init__(self) -> None:
        self.outcomes: dict[str, list[Attempt]] = {}

    async def admit(self, ctx: RequestContext) -> None:
        if "refuse" in ctx.tags:
            raise PermissionDenied("the probe refuses this request")
        if "boom" in ctx.tags:
            raise RuntimeError("a bug in a stage")
        if "as-key" in ctx.tags:
            ctx.principal = Principal(key_id="key-1", user_id="user-1", team_id="team-1", org_id="org-1")
        ctx.add_header("x-probe", "admitted")

    async def answer_early(self, ctx: RequestContext) -> EarlyAnswer | None:
        if "early" not in ctx.tags:
            return None
        message = Message(role="assistant", content=[TextPart("made without an upstream")])
        response = ChatResponse("early-1", "probe", 1_700_000_000, [Choice(0, message, "stop")], Usage(3, 4))
        return EarlyAnswer(response=response, cache="HIT")

    async def plan(self, ctx: RequestContext, candidates: list[Deployment]) -> list[Deployment]:
        return candidates[::-1] if "reverse" in ctx.tags else candidates

    def attempt_outcome(self, ctx: RequestContext, attempt: Attempt) -> None:
        self.outcomes.setdefault(ctx.request_id, []).append(attempt)


@pytest.fixture(scope="module")
def probe() -> Probe:
    return Probe()


@pytest.fixture(scope="module")
def gw(sim: SimulatorThread, probe: Probe) -> Iterator[GatewayThread]:
    gateway = GatewayThread(base_config(sim), stages=[probe]).start()
    yield gateway
    gateway.stop()


@pytest.fixture()
def oai(gw: GatewayThread) -> Iterator[openai.OpenAI]:
    with openai.OpenAI(base_url=gw.url + "/v1", api_key="k", max_retries=0, timeout=10) as client:
        yield client


@pytest.fixture()
def claude(gw: GatewayThread) -> Iterator[anthropic.Anthropic]:
    with anthropic.Anthropic(base_url=gw.url, api_key="k", max_retries=0, timeout=10) as client:
        yield client


def test_admit_refuses_in_each_clients_error_shape_and_nothing_goes_upstream(
    oai: openai.OpenAI, claude: anthropic.Anthropic, sim: SimulatorThread
) -> None:
    sim.clear()
    with pytest.raises(openai.PermissionDeniedError) as chat:
        oai.chat.completions.create(model="fast", messages=MESSAGES, extra_headers=tagged("refuse"))  # type: ignore[arg-type]
    assert chat.value.body["message"] == "the probe refuses this request"  # type: ignore[index]
    with pytest.raises(anthropic.PermissionDeniedError) as messages:
        claude.messages.create(
            model="s-anthropic/claude-sim",
            max_tokens=10,
            messages=MESSAGES,
            extra_headers=tagged("refuse"),  # type: ignore[arg-type]
        )
    assert messages.value.body["error"]["type"] == "permission_error"  # type: ignore[index]
    with pytest.raises(openai.PermissionDeniedError) as responses:
        oai.responses.create(model="fast", input="hi", extra_headers=tagged("refuse"))
    assert "refuses" in responses.value.message
    assert sim.requests == []


def test_a_stage_that_fails_unexpectedly_is_an_internal_error_for_that_request_only(
    oai: openai.OpenAI,
) -> None:
    with pytest.raises(openai.InternalServerError) as caught:
        oai.chat.completions.create(model="fast", messages=MESSAGES, extra_headers=tagged("boom"))  # type: ignore[arg-type]
    assert "quote request id req_" in caught.value.message
    ok = oai.chat.completions.create(model="fast", messages=MESSAGES)  # type: ignore[arg-type]
    assert ok.choices[0].message.content


def test_admit_adds_response_headers(oai: openai.OpenAI) -> None:
    raw = oai.chat.completions.with_raw_response.create(model="fast", messages=MESSAGES)  # type: ignore[arg-type]
    assert raw.headers["x-probe"] == "admitted"


def test_answer_early_serves_openai_clients_streamed_and_not(
    oai: openai.OpenAI, sim: SimulatorThread
) -> None:
    sim.clear()
    raw = oai.chat.completions.with_raw_response.create(
        model="fast",
        messages=MESSAGES,
        extra_headers=tagged("early"),  # type: ignore[arg-type]
    )
    assert raw.headers["x-switchgear-cache"] == "HIT"
    whole = raw.parse()
    assert whole.choices[0].message.content == "made without an upstream"
    assert whole.model == "probe" and whole.usage is not None and whole.usage.completion_tokens == 4
    chunks = list(
        oai.chat.completions.create(
            model="fast",
            messages=MESSAGES,  # type: ignore[arg-type]
            stream=True,
            stream_options={"include_usage": True},
            extra_headers=tagged("early"),
        )
    )
    assert (
        "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "made without an upstream"
    )
    assert chunks[-1].usage is not None and chunks[-1].usage.prompt_tokens == 3
    assert sim.requests == []


def test_answer_early_serves_anthropic_and_responses_clients(
    claude: anthropic.Anthropic, oai: openai.OpenAI, sim: SimulatorThread
) -> None:
    sim.clear()
    whole = claude.messages.create(
        model="s-anthropic/claude-sim",
        max_tokens=10,
        messages=MESSAGES,
        extra_headers=tagged("early"),  # type: ignore[arg-type]
    )
    assert whole.content[0].text == "made without an upstream"  # type: ignore[union-attr]
    with claude.messages.stream(
        model="s-anthropic/claude-sim",
        max_tokens=10,
        messages=MESSAGES,
        extra_headers=tagged("early"),  # type: ignore[arg-type]
    ) as stream:
        assert "".join(stream.text_stream) == "made without an upstream"
    answer = oai.responses.create(model="fast", input="hi", extra_headers=tagged("early"))
    assert answer.output_text == "made without an upstream"
    assert sim.requests == []


def test_plan_reorders_the_candidates(oai: openai.OpenAI) -> None:
    plain = oai.chat.completions.with_raw_response.create(model="ha", messages=MESSAGES)  # type: ignore[arg-type]
    assert plain.headers["x-switchgear-provider"] == "sim2" and plain.headers["x-switchgear-attempts"] == "3"
    reversed_ = oai.chat.completions.with_raw_response.create(
        model="ha",
        messages=MESSAGES,
        extra_headers=tagged("reverse"),  # type: ignore[arg-type]
    )
    assert reversed_.headers["x-switchgear-provider"] == "sim2"
    assert reversed_.headers["x-switchgear-attempts"] == "1"


def test_attempt_outcomes_arrive_for_each_attempt_of_a_failover(oai: openai.OpenAI, probe: Probe) -> None:
    raw = oai.chat.completions.with_raw_response.create(model="ha", messages=MESSAGES)  # type: ignore[arg-type]
    outcomes = probe.outcomes[raw.headers["x-request-id"]]
    assert [a.deployment.provider.name for a in outcomes] == ["down", "flaky", "sim2"]
    assert [a.status for a in outcomes] == [None, 503, 200]
    assert [a.error_type for a in outcomes] == ["upstream_unreachable", "overloaded", None]
    assert outcomes[0].ttfb_ms is None and outcomes[2].ttfb_ms is not None
    assert all(a.latency_ms > 0 for a in outcomes)


def test_admin_status_lists_the_stages_and_their_queues(gw: GatewayThread) -> None:
    status = httpx.get(gw.url + "/admin/status", timeout=5).json()
    names = [s["name"] for s in status["stages"]]
    assert names == ["routing", "access_log", "metrics", "probe", "recorder"]
    assert status["stages"][0]["hooks"] == ["attempt_outcome"]
    assert status["stages"][3]["hooks"] == ["admit", "answer_early", "plan", "attempt_outcome"]
    queues = {q["consumer"]: q for q in status["settle_queues"]}
    assert queues["access_log"]["bound"] == 10_000 and queues["access_log"]["overflow"] == "drop_new"
    docs = httpx.get(gw.url + "/admin/docs", timeout=5)
    assert docs.status_code == 200 and "swagger-ui-bundle.js" in docs.text and "cdn" not in docs.text
    script = httpx.get(gw.url + "/admin/static-docs/swagger-ui-bundle.js", timeout=5)
    assert script.status_code == 200 and len(script.content) > 100_000
    assert "/admin/status" in httpx.get(gw.url + "/admin/openapi.json", timeout=5).json()["paths"]


def test_admin_routes_take_the_master_key(make_gateway: object, sim: SimulatorThread) -> None:
    gateway = GatewayThread(base_config(sim, master_key="sk-master-0123456789")).start()
    try:
        assert httpx.get(gateway.url + "/admin/status", timeout=5).status_code == 401
        bad = httpx.get(gateway.url + "/admin/status", headers={"authorization": "Bearer nope"}, timeout=5)
        assert bad.status_code == 401 and bad.json()["error"]["type"] == "authentication_error"
        good = httpx.get(
            gateway.url + "/admin/status", headers={"authorization": "Bearer sk-master-0123456789"}, timeout=5
        )
        assert good.status_code == 200
        assert httpx.get(gateway.url + "/v1/admin/status", timeout=5).status_code == 404
    finally:
        gateway.stop()
