"""Helpers of the bad-input tables: send a raw body to the gateway, see what the provider received.

Each table case says what the client gets (status, error shape, the path named) and what the
simulated provider received: nothing for a refusal, the body unchanged (but for the model name)
for a value the API reference allows.
"""

from __future__ import annotations

import copy
from typing import Any

import httpx
import orjson

from switchgear.simulator.server import SimulatorThread
from tests.fakes.gateway import GatewayThread

ANTHROPIC_HEADERS = {"x-api-key": "sk-client", "anthropic-version": "2023-06-01"}
OPENAI_HEADERS = {"authorization": "Bearer sk-client"}


def send(
    gateway: GatewayThread, sim: SimulatorThread, path: str, body: Any
) -> tuple[httpx.Response, list[dict[str, Any]]]:
    """POST a body as JSON; the response and the bodies the simulator received for it."""
    sim.clear()
    headers = ANTHROPIC_HEADERS if path.startswith("/v1/messages") else OPENAI_HEADERS
    content = orjson.dumps(body)
    response = httpx.post(gateway.url + path, content=content, headers=headers, timeout=10)
    received = [orjson.loads(r.body) for r in sim.requests if r.body]
    return response, received


def with_path(body: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    """A deep copy of ``body`` with the value at a dotted path (``messages.0.content``) replaced;
    a last step ``+`` appends the value to the array there."""
    out = copy.deepcopy(body)
    *steps, last = path.split(".")
    node: Any = out
    for step in steps:
        node = node[int(step)] if isinstance(node, list) else node[step]
    if last == "+":
        node.append(value)
    elif isinstance(node, list):
        node[int(last)] = value
    else:
        node[last] = value
    return out


def openai_error(response: httpx.Response) -> dict[str, Any]:
    """The OpenAI-shaped error of a response: ``{"error": {message, type, param, code}}``."""
    body = response.json()
    assert set(body) == {"error"}, body
    error: dict[str, Any] = body["error"]
    assert {"message", "type", "param", "code"} <= set(error), error
    return error


def anthropic_error(response: httpx.Response) -> dict[str, Any]:
    """The Anthropic-shaped error of a response: ``{"type": "error", "error": {type, message}}``."""
    body = response.json()
    assert body["type"] == "error" and "request_id" in body, body
    error: dict[str, Any] = body["error"]
    assert set(error) == {"type", "message"}, error
    return error


def received_unchanged(sent: dict[str, Any], received: list[dict[str, Any]], model: str) -> None:
    """The provider got exactly one request: the client's body with only the model name changed."""
    assert len(received) == 1, received
    assert received[0] == {**sent, "model": model}
