"""Every answer carries its cost: ``usage.cost`` (USD) in the body and ``x-switchgear-cost`` on
whole answers, in-band in a stream's usage-bearing event; checked with the official SDKs over real
sockets against the simulator, passed through and translated, for each client API.

The simulator reports the usage its provider headers script (1234 prompt and 567 completion
tokens; Anthropic adds 200 cache reads and 100 cache writes); the expected costs below are worked
out by hand from the providers' published prices (USD per million tokens), independently of the
gateway's code, and compared as exact decimals.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import anthropic
import httpx
import openai
import pytest

from switchgear.core.types import ChatResponse, Choice, Message, TextPart
from switchgear.core.usage import Usage
from switchgear.simulator.server import SimulatorThread
from switchgear.stages import EarlyAnswer, RequestContext, Stage
from tests.conftest import UPSTREAM_KEY, base_config
from tests.fakes.gateway import GatewayThread

MESSAGES: Any = [{"role": "user", "content": "hi"}]
SCRIPT = {"x-sim-prompt-tokens": "1234", "x-sim-completion-tokens": "567"}
CACHED = {**SCRIPT, "x-sim-cache-read": "200", "x-sim-cache-write": "100"}

# By hand: tokens x USD per million tokens / 10^6.
GPT_4O_MINI = Decimal("0.0005253")  # 1234 x 0.15 + 567 x 0.60
CLAUDE_SONNET_45 = Decimal("0.012642")  # 1234 x 3 + 200 x 0.30 (read) + 100 x 3.75 (write) + 567 x 15
HAIKU_35_BEDROCK = Decimal("0.0033712")  # 1234 x 0.80 + 200 x 0.08 + 100 x 1 + 567 x 4
INSTRUCT = Decimal("0.002985")  # gpt-3.5-turbo-instruct: 1234 x 1.5 + 567 x 2
EMBEDDING = Decimal("0.00002468")  # text-embedding-3-small: 1234 x 0.02
CUSTOM = Decimal("0.008755")  # a model unknown to the catalog, priced by config: 1234 x 2.5 + 567 x 10
PER_DEPLOYMENT = Decimal("0.002935")  # deployment input 1, model output 3: 1234 x 1 + 567 x 3
MODEL_OVER_CATALOG = Decimal("0.000582")  # gpt-4o-mini with output at 0.70: 1234 x 0.15 + 567 x 0.70


class Early(Stage):
    """Answers every request tagged "early" itself, as a cache would."""

    name = "early"

    async def answer_early(self, ctx: RequestContext) -> EarlyAnswer | None:
        if "early" not in ctx.tags:
            return None
        message = Message(role="assistant", content=[TextPart("from the cache")])
        response = ChatResponse(
            "early-1", "cached", 1_700_000_000, [Choice(0, message, "stop")], Usage(30, 40)
        )
        return EarlyAnswer(response=response, cache="HIT")


def cost_config(sim: SimulatorThread) -> dict[str, Any]:
    config = base_config(sim)
    openai_url = sim.base_url + "/v1"
    config["providers"].update(
        {
            "c-openai": {
                "type": "openai",
                "base_url": openai_url,
                "api_key": UPSTREAM_KEY,
                "headers": SCRIPT,
            },
            "c-anthropic": {
                "type": "anthropic",
                "base_url": sim.base_url,
                "api_key": UPSTREAM_KEY,
                "headers": CACHED,
            },
            "c-bedrock": {
                "type": "bedrock",
                "base_url": sim.base_url,
                "region": "us-east-1",
                "aws_access_key_id": "AKIDSIMULATOR",
                "aws_secret_access_key": "sim-secret",
                "headers": CACHED,
            },
        }
    )
    config["models"] += [
        {"name": "mini", "deployments": [{"provider": "c-openai", "model": "gpt-4o-mini"}]},
        {"name": "sonnet", "deployments": [{"provider": "c-anthropic", "model": "claude-sonnet-4-5"}]},
        {
            "name": "haiku-bedrock",
            "deployments": [{"provider": "c-bedrock", "model": "anthropic.claude-3-5-haiku-20241022-v1:0"}],
        },
        {"name": "instruct", "deployments": [{"provider": "c-openai", "model": "gpt-3.5-turbo-instruct"}]},
        {"name": "embed-small", "deployments": [{"provider": "c-openai", "model": "text-embedding-3-small"}]},
        {
            "name": "custom",
            "deployments": [{"provider": "c-openai", "model": "in-house-7b"}],
            "pricing": {"input": "2.5", "output": "10"},
        },
        {
            "name": "per-deployment",
            "deployments": [{"provider": "c-openai", "model": "gpt-4o-mini", "pricing": {"input": "1"}}],
            "pricing": {"output": "3"},
        },
        {
            "name": "mini-repriced",
            "deployments": [{"provider": "c-openai", "model": "gpt-4o-mini"}],
            "pricing": {"output": "0.70"},
        },
        {"name": "unpriced", "deployments": [{"provider": "c-openai", "model": "sim-small"}]},
        {"name": "unpriced-claude", "deployments": [{"provider": "c-anthropic", "model": "claude-sim"}]},
    ]
    return config


@pytest.fixture(scope="module")
def gw(sim: SimulatorThread) -> Iterator[GatewayThread]:
    gateway = GatewayThread(cost_config(sim), stages=[Early()]).start()
    yield gateway
    gateway.stop()


@pytest.fixture()
def oai(gw: GatewayThread) -> Iterator[openai.OpenAI]:
    with openai.OpenAI(base_url=gw.url + "/v1", api_key="sk-client", max_retries=0, timeout=10) as client:
        yield client


@pytest.fixture()
def claude(gw: GatewayThread) -> Iterator[anthropic.Anthropic]:
    with anthropic.Anthropic(base_url=gw.url, api_key="sk-client", max_retries=0, timeout=10) as client:
        yield client


def exact(raw: bytes, expected: Decimal) -> None:
    """The body holds ``"cost":<expected>`` written as the exact decimal (no exponent, no float noise)."""
    assert b'"cost":' + format(expected, "f").encode() in raw.replace(b'"cost": ', b'"cost":'), raw[-400:]


def cost_of(usage: Any) -> Decimal:
    """``usage.cost`` as the SDK parsed it (an extra field), as an exact decimal of its JSON text."""
    extra = usage.model_extra or {}
    assert "cost" in extra, usage
    return Decimal(repr(extra["cost"]))


# --- whole answers --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("model", "expected"),
    [
        ("mini", GPT_4O_MINI),  # passthrough, catalog prices
        ("sonnet", CLAUDE_SONNET_45),  # translated to Anthropic, cache reads and writes priced
        ("custom", CUSTOM),  # a custom model priced by config
        ("per-deployment", PER_DEPLOYMENT),  # deployment price over model price over catalog
        ("mini-repriced", MODEL_OVER_CATALOG),  # model price over catalog, the rest kept
    ],
)
def test_chat_answer_carries_its_cost(oai: openai.OpenAI, model: str, expected: Decimal) -> None:
    raw = oai.chat.completions.with_raw_response.create(model=model, messages=MESSAGES)
    assert raw.headers["x-switchgear-cost"] == format(expected, "f")
    exact(raw.http_response.content, expected)
    answer = raw.parse()
    assert answer.usage is not None and cost_of(answer.usage) == expected
    assert answer.choices[0].message.content


def test_passthrough_chat_body_is_the_providers_but_for_the_cost(
    oai: openai.OpenAI, sim: SimulatorThread
) -> None:
    raw = oai.chat.completions.with_raw_response.create(model="mini", messages=MESSAGES)
    body = json.loads(raw.http_response.content)
    assert body["usage"]["cost"] == float(GPT_4O_MINI)
    assert body["usage"]["prompt_tokens"] == 1234 and body["usage"]["completion_tokens"] == 567
    assert body["usage"]["prompt_tokens_details"] == {"cached_tokens": 0, "audio_tokens": 0}  # untouched


def test_unpriced_models_carry_no_cost(oai: openai.OpenAI, claude: anthropic.Anthropic) -> None:
    raw = oai.chat.completions.with_raw_response.create(model="unpriced", messages=MESSAGES)
    assert "x-switchgear-cost" not in raw.headers
    assert b'"cost"' not in raw.http_response.content
    assert raw.parse().usage is not None
    translated = oai.chat.completions.with_raw_response.create(model="unpriced-claude", messages=MESSAGES)
    assert "x-switchgear-cost" not in translated.headers and b'"cost"' not in translated.http_response.content
    message = claude.messages.with_raw_response.create(
        model="unpriced-claude", max_tokens=50, messages=MESSAGES
    )
    assert "x-switchgear-cost" not in message.headers and b'"cost"' not in message.http_response.content
    stream = oai.chat.completions.create(
        model="unpriced", messages=MESSAGES, stream=True, stream_options={"include_usage": True}
    )
    last = list(stream)[-1]
    assert last.usage is not None and "cost" not in (last.usage.model_extra or {})


def test_legacy_completions_and_embeddings_carry_their_cost(oai: openai.OpenAI) -> None:
    raw = oai.completions.with_raw_response.create(model="instruct", prompt="hi")
    assert raw.headers["x-switchgear-cost"] == format(INSTRUCT, "f")
    exact(raw.http_response.content, INSTRUCT)
    completion = raw.parse()
    assert completion.usage is not None and cost_of(completion.usage) == INSTRUCT
    embedded = oai.embeddings.with_raw_response.create(model="embed-small", input="hello")
    assert embedded.headers["x-switchgear-cost"] == "0.00002468"
    exact(embedded.http_response.content, EMBEDDING)  # 2.468e-05 as a float: written exactly here
    vectors = embedded.parse()
    assert len(vectors.data[0].embedding) > 0 and cost_of(vectors.usage) == EMBEDDING


@pytest.mark.parametrize(
    ("model", "expected"),
    [
        ("sonnet", CLAUDE_SONNET_45),  # passthrough to Anthropic
        ("haiku-bedrock", HAIKU_35_BEDROCK),  # passthrough to Claude on Bedrock (InvokeModel)
        ("mini", GPT_4O_MINI),  # translated to OpenAI chat
        ("custom", CUSTOM),
    ],
)
def test_messages_answer_carries_its_cost(claude: anthropic.Anthropic, model: str, expected: Decimal) -> None:
    raw = claude.messages.with_raw_response.create(model=model, max_tokens=50, messages=MESSAGES)
    assert raw.headers["x-switchgear-cost"] == format(expected, "f")
    exact(raw.http_response.content, expected)
    message = raw.parse()
    assert cost_of(message.usage) == expected and message.content


@pytest.mark.parametrize(
    ("model", "expected"),
    [("mini", GPT_4O_MINI), ("sonnet", CLAUDE_SONNET_45), ("custom", CUSTOM)],  # passthrough, translated
)
def test_responses_answer_carries_its_cost(oai: openai.OpenAI, model: str, expected: Decimal) -> None:
    raw = oai.responses.with_raw_response.create(model=model, input="hi")
    assert raw.headers["x-switchgear-cost"] == format(expected, "f")
    exact(raw.http_response.content, expected)
    answer = raw.parse()
    assert answer.usage is not None and cost_of(answer.usage) == expected and answer.output_text


def test_early_answers_cost_what_the_stage_says(oai: openai.OpenAI, claude: anthropic.Anthropic) -> None:
    tags = {"x-switchgear-tags": "early"}
    raw = oai.chat.completions.with_raw_response.create(model="mini", messages=MESSAGES, extra_headers=tags)
    assert raw.headers["x-switchgear-cache"] == "HIT" and raw.headers["x-switchgear-cost"] == "0"
    answer = raw.parse()
    assert answer.usage is not None and cost_of(answer.usage) == 0
    message = claude.messages.create(model="sonnet", max_tokens=50, messages=MESSAGES, extra_headers=tags)
    assert cost_of(message.usage) == 0
    chunks = list(
        oai.chat.completions.create(
            model="mini",
            messages=MESSAGES,
            stream=True,
            stream_options={"include_usage": True},
            extra_headers=tags,
        )
    )
    assert chunks[-1].usage is not None and cost_of(chunks[-1].usage) == 0


def test_the_settled_record_costs_what_the_client_was_told(oai: openai.OpenAI, gw: GatewayThread) -> None:
    raw = oai.chat.completions.with_raw_response.create(model="sonnet", messages=MESSAGES)
    request_id = raw.headers["x-request-id"]
    deadline = time.monotonic() + 5
    while not any(r.request_id == request_id for r in gw.settled) and time.monotonic() < deadline:
        time.sleep(0.01)  # settled off the request path, just after the answer
    record = next(r for r in gw.settled if r.request_id == request_id)
    assert (
        Decimal(record.cost_nanousd) / 10**9 == Decimal(raw.headers["x-switchgear-cost"]) == CLAUDE_SONNET_45
    )


# --- streams --------------------------------------------------------------------------------------


@pytest.mark.parametrize(("model", "expected"), [("mini", GPT_4O_MINI), ("sonnet", CLAUDE_SONNET_45)])
def test_chat_stream_usage_chunk_carries_the_cost(oai: openai.OpenAI, model: str, expected: Decimal) -> None:
    with oai.chat.completions.with_streaming_response.create(
        model=model, messages=MESSAGES, stream=True, stream_options={"include_usage": True}
    ) as response:
        assert "x-switchgear-cost" not in response.headers  # headers leave before the usage is known
        chunks = list(response.parse())
    usage = chunks[-1].usage
    assert usage is not None and cost_of(usage) == expected
    assert all(c.usage is None for c in chunks[:-1])


def test_completions_stream_usage_chunk_carries_the_cost(oai: openai.OpenAI) -> None:
    chunks = list(
        oai.completions.create(
            model="instruct", prompt="hi", stream=True, stream_options={"include_usage": True}
        )
    )
    assert chunks[-1].usage is not None and cost_of(chunks[-1].usage) == INSTRUCT
    assert "".join(c.choices[0].text for c in chunks if c.choices)


@pytest.mark.parametrize("model", ["mini", "sonnet"])
def test_chat_stream_without_usage_shows_no_cost(gw: GatewayThread, model: str) -> None:
    body = {"model": model, "messages": MESSAGES, "stream": True}
    raw = httpx.post(gw.url + "/v1/chat/completions", json=body, timeout=10).content
    assert b'"usage":{' not in raw and b'"cost"' not in raw
    assert raw.endswith(b"data: [DONE]\n\n")


@pytest.mark.parametrize(
    ("model", "expected"),
    [("sonnet", CLAUDE_SONNET_45), ("haiku-bedrock", HAIKU_35_BEDROCK), ("mini", GPT_4O_MINI)],
)
def test_messages_stream_delta_carries_the_cost(
    claude: anthropic.Anthropic, model: str, expected: Decimal
) -> None:
    with claude.messages.stream(model=model, max_tokens=50, messages=MESSAGES) as stream:
        events = list(stream)
        final = stream.get_final_message()
    deltas = [e for e in events if e.type == "message_delta"]
    assert len(deltas) == 1 and cost_of(deltas[0].usage) == expected
    starts = [e for e in events if e.type == "message_start"]
    assert "cost" not in (starts[0].message.usage.model_extra or {})  # only the final usage is priced
    assert final.content and final.usage.output_tokens == 567


@pytest.mark.parametrize(("model", "expected"), [("mini", GPT_4O_MINI), ("sonnet", CLAUDE_SONNET_45)])
def test_responses_stream_completed_event_carries_the_cost(
    oai: openai.OpenAI, model: str, expected: Decimal
) -> None:
    events = list(oai.responses.create(model=model, input="hi", stream=True))
    completed = [e for e in events if e.type == "response.completed"]
    assert len(completed) == 1
    usage = completed[0].response.usage
    assert usage is not None and cost_of(usage) == expected
    assert all(getattr(e, "response", None) is None or e.response.usage is None for e in events[:-1])


# --- passed-through bytes -------------------------------------------------------------------------

ANTHROPIC_HEADERS = {
    "x-api-key": "sk-client",
    "anthropic-version": "2023-06-01",
    "content-type": "application/json",
}


def _same_ids(raw: bytes) -> bytes:
    return re.sub(rb'"id":"msg_[0-9a-f]+"', b'"id":"msg_"', raw)


def test_passthrough_answer_is_the_providers_bytes_with_the_cost_inserted(
    gw: GatewayThread, sim: SimulatorThread
) -> None:
    body = {"model": "sonnet", "max_tokens": 50, "messages": MESSAGES}
    through = httpx.post(gw.url + "/v1/messages", json=body, headers=ANTHROPIC_HEADERS, timeout=10)
    direct = httpx.post(
        sim.base_url + "/v1/messages",
        json={**body, "model": "claude-sonnet-4-5"},
        headers={**ANTHROPIC_HEADERS, **CACHED},
        timeout=10,
    )
    assert through.status_code == direct.status_code == 200
    expected = direct.content.replace(b'"usage":{', b'"usage":{"cost":0.012642,', 1)
    assert _same_ids(through.content) == _same_ids(expected)


def test_passthrough_stream_is_the_providers_bytes_with_the_cost_in_message_delta(
    gw: GatewayThread, sim: SimulatorThread
) -> None:
    body = {"model": "sonnet", "max_tokens": 50, "messages": MESSAGES, "stream": True}
    through = httpx.post(gw.url + "/v1/messages", json=body, headers=ANTHROPIC_HEADERS, timeout=10)
    direct = httpx.post(
        sim.base_url + "/v1/messages",
        json={**body, "model": "claude-sonnet-4-5"},
        headers={**ANTHROPIC_HEADERS, **CACHED},
        timeout=10,
    )
    events = direct.content.split(b"\n\n")
    (at,) = [i for i, e in enumerate(events) if e.startswith(b"event: message_delta")]
    events[at] = events[at].replace(b'"usage":{', b'"usage":{"cost":0.012642,', 1)
    assert _same_ids(through.content) == _same_ids(b"\n\n".join(events))
