"""One usage rule on every path: what the client sees is what the settle record holds.

Every client API (OpenAI chat, Anthropic messages, Responses, through the official SDKs) x every
provider family (OpenAI-compatible and Anthropic passed through, Claude on Bedrock passed through
for Anthropic clients, the rest translated), streamed and not, with the simulator reporting sane,
negative-and-huge, and beyond-64-bit usage. The client's numbers must equal the record's, the
streamed answer must equal the non-streamed one, and absurd values are clamped and flagged.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import anthropic
import openai
import pytest

from switchgear.core.usage import MAX_PLAUSIBLE_TOKENS
from switchgear.stages import RequestRecord
from tests.fakes.gateway import GatewayThread

FAMILIES = {
    "openai": "s-openai/sim-small",  # chat and Responses pass through
    "anthropic": "s-anthropic/claude-sim",  # messages pass through
    "gemini": "s-gemini/gemini-sim",
    "bedrock-claude": "s-bedrock/anthropic.claude-sim-v1:0",  # messages pass through (InvokeModel)
    "bedrock-llama": "s-bedrock/meta.llama-sim-v1:0",
    "cohere": "s-cohere/command-sim",
}
APIS = ["chat", "messages", "responses"]
CAP = MAX_PLAUSIBLE_TOKENS


@dataclass(frozen=True)
class Case:
    script: str  # appended to the model name: the simulator's behaviour script
    suspicious: bool
    prompt: int | None  # expected prompt tokens (None: whatever the family counts)
    completion: int | None


BEYOND_64_BITS = 10**20
CASES = {
    "sane": Case("", False, None, None),
    "negative-and-huge": Case(";prompt_tokens=-5;completion_tokens=1000000000000", True, 0, CAP),
    "beyond-64-bits": Case(
        f";prompt_tokens=-{BEYOND_64_BITS};completion_tokens={BEYOND_64_BITS}", True, 0, CAP
    ),
    "huge-prompt": Case(";prompt_tokens=1000000000000;completion_tokens=-1", True, CAP, 0),
}


@dataclass(frozen=True)
class Seen:
    """The usage a client saw: all input tokens, output tokens, and the total when the API has one."""

    prompt: int
    completion: int
    total: int | None


def via_chat(clients: dict[str, Any], model: str, stream: bool, rid: str) -> Seen:
    client: openai.OpenAI = clients["openai"]
    messages: Any = [{"role": "user", "content": "What is the weather like in Paris"}]
    headers = {"x-request-id": rid}
    if not stream:
        usage = client.chat.completions.create(model=model, messages=messages, extra_headers=headers).usage
    else:
        usage = None
        for chunk in client.chat.completions.create(
            model=model,
            messages=messages,
            stream=True,
            stream_options={"include_usage": True},
            extra_headers=headers,
        ):
            usage = chunk.usage or usage
    assert usage is not None
    return Seen(usage.prompt_tokens, usage.completion_tokens, usage.total_tokens)


def via_messages(clients: dict[str, Any], model: str, stream: bool, rid: str) -> Seen:
    client: anthropic.Anthropic = clients["anthropic"]
    messages: Any = [{"role": "user", "content": "What is the weather like in Paris"}]
    headers = {"x-request-id": rid}
    if stream:
        with client.messages.stream(
            model=model, max_tokens=64, messages=messages, extra_headers=headers
        ) as events:
            usage = events.get_final_message().usage
    else:
        usage = client.messages.create(
            model=model, max_tokens=64, messages=messages, extra_headers=headers
        ).usage
    cached = (usage.cache_read_input_tokens or 0) + (usage.cache_creation_input_tokens or 0)
    return Seen(usage.input_tokens + cached, usage.output_tokens, None)


def via_responses(clients: dict[str, Any], model: str, stream: bool, rid: str) -> Seen:
    client: openai.OpenAI = clients["openai"]
    headers = {"x-request-id": rid}
    prompt = "What is the weather like in Paris"
    if stream:
        response = None
        for event in client.responses.create(model=model, input=prompt, stream=True, extra_headers=headers):
            if event.type in ("response.completed", "response.incomplete"):
                response = event.response
        assert response is not None, "the stream ended without a terminal event"
    else:
        response = client.responses.create(model=model, input=prompt, extra_headers=headers)
    usage = response.usage
    assert usage is not None
    return Seen(usage.input_tokens, usage.output_tokens, usage.total_tokens)


ASK = {"chat": via_chat, "messages": via_messages, "responses": via_responses}


def record_of(gw: GatewayThread, rid: str) -> RequestRecord:
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        for record in list(gw.settled):
            if record.request_id == rid:
                return record
        time.sleep(0.01)
    raise AssertionError(f"no settle record for {rid}")


@pytest.fixture(scope="module")
def clients(gateway: GatewayThread) -> Iterator[dict[str, Any]]:
    made: dict[str, Any] = {
        "openai": openai.OpenAI(base_url=gateway.url + "/v1", api_key="k", max_retries=0, timeout=20),
        "anthropic": anthropic.Anthropic(base_url=gateway.url, api_key="k", max_retries=0, timeout=20),
    }
    yield made
    for client in made.values():
        client.close()


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize("api", APIS)
def test_the_client_sees_what_the_record_holds(
    api: str, family: str, case: str, gateway: GatewayThread, clients: dict[str, Any]
) -> None:
    expected = CASES[case]
    seen: dict[bool, Seen] = {}
    for stream in (False, True):
        rid = f"usage-{uuid.uuid4().hex}"
        got = ASK[api](clients, FAMILIES[family] + expected.script, stream, rid)
        record = record_of(gateway, rid)
        usage = record.usage
        assert usage is not None and record.status == 200 and record.stream is stream
        assert (got.prompt, got.completion) == (usage.prompt_tokens, usage.completion_tokens)
        assert got.total in (None, usage.total_tokens)
        assert record.suspicious_usage is expected.suspicious
        assert expected.prompt in (None, usage.prompt_tokens)
        assert expected.completion in (None, usage.completion_tokens)
        assert 0 <= usage.prompt_tokens <= CAP and 0 <= usage.completion_tokens <= CAP
        seen[stream] = got
    assert seen[True] == seen[False]  # streamed equals non-streamed


def test_a_suspicious_usage_chunk_the_client_did_not_ask_for_is_still_dropped(
    gateway: GatewayThread, clients: dict[str, Any]
) -> None:
    rid = f"usage-{uuid.uuid4().hex}"
    chunks = list(
        clients["openai"].chat.completions.create(
            model=FAMILIES["openai"] + CASES["negative-and-huge"].script,
            messages=[{"role": "user", "content": "hi"}],
            stream=True,
            extra_headers={"x-request-id": rid},
        )
    )
    assert chunks and all(chunk.usage is None for chunk in chunks)
    record = record_of(gateway, rid)
    assert record.suspicious_usage and record.usage is not None
    assert (record.usage.prompt_tokens, record.usage.completion_tokens) == (0, CAP)
