"""Same-family traffic passes through losslessly: only the model name changes on the way up, and
the provider's bytes come back unchanged (Anthropic messages to an Anthropic provider; OpenAI
Responses to OpenAI)."""

from __future__ import annotations

import re

import httpx

from switchgear.simulator.server import SimulatorThread
from tests.conftest import UPSTREAM_KEY
from tests.fakes.gateway import GatewayThread

# Written by hand, with uncommon spacing, thinking blocks with signatures, cache_control and a
# field from the future: none of it may be touched.
BODY = b"""{ "model" : "s-anthropic/claude-sim",
  "max_tokens": 4096,
  "future_field_2027": {"keep": [1, 2.50, "\\u00e9"]},
  "system": [{"type": "text", "text": "You are terse.", "cache_control": {"type": "ephemeral"}}],
  "thinking": {"type": "enabled", "budget_tokens": 2048},
  "messages": [
    {"role": "user", "content": [{"type": "text", "text": "Plan a trip", "cache_control": {"type": "ephemeral"}}]},
    {"role": "assistant", "content": [
      {"type": "thinking", "thinking": "The user wants a trip.", "signature": "EqQBCgIYAhIM1gbcDa9GJwZA2b3h"},
      {"type": "redacted_thinking", "data": "EmwKAhgBEgy3va3pzix/LafPsn4aDFIT2Xlxh0L5L8rLVyIwxtE3rAFBa8cr3qpP"},
      {"type": "text", "text": "Where to?"}]},
    {"role": "user", "content": "Lisbon"}
  ]
}"""
HEADERS = {
    "x-api-key": "sk-client-key",
    "anthropic-version": "2023-06-01",
    "anthropic-beta": "interleaved-thinking-2025-05-14,future-beta-2027",
    "content-type": "application/json",
}


def test_anthropic_request_reaches_the_provider_byte_identical_but_for_the_model(
    gateway: GatewayThread, sim: SimulatorThread
) -> None:
    response = httpx.post(gateway.url + "/v1/messages", content=BODY, headers=HEADERS, timeout=10)
    assert response.status_code == 200, response.text
    sent = sim.last()
    assert sent.path == "/v1/messages"
    assert sent.body == BODY.replace(b'"s-anthropic/claude-sim"', b'"claude-sim"')
    assert sent.headers["anthropic-beta"] == HEADERS["anthropic-beta"]
    assert sent.headers["anthropic-version"] == "2023-06-01"
    assert sent.headers["x-api-key"] == UPSTREAM_KEY  # the provider's key, never the client's


def test_anthropic_answer_reaches_the_client_unchanged(gateway: GatewayThread, sim: SimulatorThread) -> None:
    through = httpx.post(gateway.url + "/v1/messages", content=BODY, headers=HEADERS, timeout=10)
    upstream_body = BODY.replace(b'"s-anthropic/claude-sim"', b'"claude-sim"')
    direct = httpx.post(sim.base_url + "/v1/messages", content=upstream_body, headers=HEADERS, timeout=10)
    assert through.status_code == direct.status_code == 200

    def without_id(raw: bytes) -> bytes:
        return re.sub(rb'"id":"msg_[0-9a-f]+"', b'"id":"msg_"', raw)

    assert without_id(through.content) == without_id(direct.content)
    assert b'"thinking"' in through.content  # the provider's own blocks, as it sent them


def test_anthropic_stream_bytes_are_relayed_unchanged(gateway: GatewayThread, sim: SimulatorThread) -> None:
    body = BODY.replace(b'"max_tokens": 4096,', b'"max_tokens": 4096, "stream": true,')
    through = httpx.post(gateway.url + "/v1/messages", content=body, headers=HEADERS, timeout=10)
    direct = httpx.post(
        sim.base_url + "/v1/messages", content=body.replace(b"s-anthropic/", b""), headers=HEADERS, timeout=10
    )
    assert through.headers["content-type"].startswith("text/event-stream")

    def normal(raw: bytes) -> bytes:
        return re.sub(rb'"id":"msg_[0-9a-f]+"', b'"id":"msg_"', raw)

    assert normal(through.content) == normal(direct.content)
    assert through.content.rstrip().endswith(b'data: {"type":"message_stop"}')
