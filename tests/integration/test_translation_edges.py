"""Translation edge cases the matrix does not cover, end to end through the gateway with the SDKs."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import anthropic
import openai
import pytest

from switchgear.simulator.server import SimulatorThread
from tests.fakes.gateway import GatewayThread

TOOLS: list[Any] = [
    {
        "type": "function",
        "function": {"name": "a", "parameters": {"type": "object", "properties": {"x": {"type": "string"}}}},
    },
    {
        "type": "function",
        "function": {"name": "b", "parameters": {"type": "object", "properties": {"y": {"type": "integer"}}}},
    },
]
MESSAGES: list[Any] = [{"role": "user", "content": "hi there"}]


@pytest.fixture()
def oai(gateway: GatewayThread) -> Iterator[openai.OpenAI]:
    with openai.OpenAI(base_url=gateway.url + "/v1", api_key="k", max_retries=0, timeout=20) as client:
        yield client


@pytest.mark.parametrize("model", ["s-anthropic/claude-sim", "s-bedrock/anthropic.claude-sim-v1:0"])
def test_streamed_signed_thinking_round_trips_through_chat(
    model: str, oai: openai.OpenAI, sim: SimulatorThread
) -> None:
    """A chat client that accumulates the streamed ``reasoning_details`` and sends them back must
    give the provider the thinking text its signature belongs to, not an empty one."""
    content = ""
    details: list[dict[str, Any]] = []
    calls: dict[int, dict[str, Any]] = {}
    stream = oai.chat.completions.create(
        model=model + ";tool_calls=a,b", messages=MESSAGES, tools=TOOLS, reasoning_effort="low", stream=True
    )
    for chunk in stream:
        for choice in chunk.choices:
            extra = choice.delta.model_extra or {}
            content += extra.get("reasoning_content") or ""
            details += extra.get("reasoning_details") or []
            for call in choice.delta.tool_calls or []:
                entry = calls.setdefault(
                    call.index, {"id": "", "type": "function", "function": {"name": "", "arguments": ""}}
                )
                entry["id"] += call.id or ""
                entry["function"]["name"] += (call.function and call.function.name) or ""
                entry["function"]["arguments"] += (call.function and call.function.arguments) or ""
    assert content and len(calls) == 2
    assert [d.get("text") for d in details if d.get("signature")] == [content]
    assistant = {
        "role": "assistant",
        "content": None,
        "reasoning_details": details,
        "tool_calls": list(calls.values()),
    }
    results = [{"role": "tool", "tool_call_id": c["id"], "content": "ok"} for c in calls.values()]
    oai.chat.completions.create(
        model=model, messages=[*MESSAGES, assistant, *results], tools=TOOLS, reasoning_effort="low"
    )
    sent = json.dumps(sim.last().json)
    assert json.dumps(content)[1:-1] in sent


def test_cohere_mid_stream_failure_reaches_anthropic_clients_as_an_error(gateway: GatewayThread) -> None:
    client = anthropic.Anthropic(base_url=gateway.url, api_key="k", max_retries=0)
    with (
        client,
        pytest.raises(anthropic.APIStatusError),  # the SDK raises on `event: error`
        client.messages.stream(
            model="s-cohere/command-sim;status=500;error_after=3;gap_ms=20",
            max_tokens=100,
            messages=[{"role": "user", "content": "one two three four five six"}],
        ) as events,
    ):
        events.get_final_message()
