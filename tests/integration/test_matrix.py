"""Every inbound API x every outbound family, streamed and not, driven by the official SDKs.

Inbound: OpenAI chat completions and Responses (``openai`` SDK), Anthropic messages (``anthropic``
SDK). Outbound: the simulated OpenAI-compatible, Anthropic, Gemini and Bedrock providers. Each cell
checks what the client received (and that the streamed answer reassembles to the non-streamed
one, usage and finish reason included) and what the provider received, in its own wire format.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import anthropic
import openai
import pytest

from switchgear.simulator.server import SimulatorThread
from tests.fakes.gateway import GatewayThread

FAMILIES = {
    "openai": "s-openai/sim-small",
    "anthropic": "s-anthropic/claude-sim",
    "gemini": "s-gemini/gemini-sim",
    "bedrock": "s-bedrock/anthropic.claude-sim-v1:0",
    "bedrock-llama": "s-bedrock/meta.llama-sim-v1:0",
    "cohere": "s-cohere/command-sim",
}
APIS = ["chat", "messages", "responses"]
PROMPT = "What is the weather like in Paris"
PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
WEATHER_SCHEMA = {
    "type": "object",
    "properties": {"city": {"type": "string"}, "celsius": {"type": "number"}},
    "required": ["city", "celsius"],
    "additionalProperties": False,
}
TOOL = {
    "name": "get_weather",
    "description": "Current weather in a city",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
}


@dataclass
class Result:
    text: str = ""
    calls: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)  # id, name, arguments
    finish: str = ""
    usage: tuple[int, int] = (0, 0)  # all input tokens, output tokens
    model: str = ""  # the answer's ``model``

    def same_answer(self) -> tuple[str, list[tuple[str, dict[str, Any]]], str, tuple[int, int], str]:
        calls = [(name, args) for _, name, args in self.calls]
        return self.text, calls, self.finish, self.usage, self.model


@dataclass
class Ask:
    """A family-neutral request: the conversation so far and what to ask for."""

    user: str = PROMPT
    image: bool = False
    tools: bool = False
    schema: bool = False
    history: list[tuple[str, str, dict[str, Any], str]] = field(
        default_factory=list
    )  # id, name, args, result


# -- the three client APIs --------------------------------------------------------------------


def via_chat(gw: GatewayThread, model: str, ask: Ask, stream: bool) -> Result:
    client = CLIENTS["openai"]
    content: Any = ask.user
    if ask.image:
        content = [
            {"type": "text", "text": ask.user},
            {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG}"}},
        ]
    messages: list[dict[str, Any]] = [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": content},
    ]
    for call_id, name, args, result in ask.history:
        messages.append(
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": call_id,
                        "type": "function",
                        "function": {"name": name, "arguments": json.dumps(args)},
                    }
                ],
            }
        )
        messages.append({"role": "tool", "tool_call_id": call_id, "content": result})
    extra: dict[str, Any] = {}
    if ask.tools:
        extra["tools"] = [{"type": "function", "function": TOOL}]
    if ask.schema:
        extra["response_format"] = {
            "type": "json_schema",
            "json_schema": {"name": "weather", "schema": WEATHER_SCHEMA, "strict": True},
        }
    if not stream:
        answer = client.chat.completions.create(model=model, messages=messages, **extra)  # type: ignore[call-overload]
        choice = answer.choices[0]
        calls = [
            (c.id, c.function.name, json.loads(c.function.arguments)) for c in choice.message.tool_calls or []
        ]
        return Result(
            choice.message.content or "",
            calls,
            choice.finish_reason,
            (answer.usage.prompt_tokens, answer.usage.completion_tokens),
            answer.model,
        )
    result = Result()
    parts: dict[int, list[str]] = {}
    for chunk in client.chat.completions.create(
        model=model,
        messages=messages,
        stream=True,  # type: ignore[call-overload]
        stream_options={"include_usage": True},
        **extra,
    ):
        result.model = chunk.model
        if chunk.usage is not None:
            result.usage = (chunk.usage.prompt_tokens, chunk.usage.completion_tokens)
        for choice in chunk.choices:
            result.text += choice.delta.content or ""
            for call in choice.delta.tool_calls or []:
                entry = parts.setdefault(call.index, ["", "", ""])
                entry[0] += call.id or ""
                entry[1] += (call.function.name or "") if call.function else ""
                entry[2] += (call.function.arguments or "") if call.function else ""
            if choice.finish_reason:
                result.finish = choice.finish_reason
    result.calls = [(i, n, json.loads(a)) for i, n, a in (parts[k] for k in sorted(parts))]
    return result


_ANTHROPIC_FINISH = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "tool_use": "tool_calls",
    "max_tokens": "length",
}


def via_messages(gw: GatewayThread, model: str, ask: Ask, stream: bool) -> Result:
    client = CLIENTS["anthropic"]
    content: list[dict[str, Any]] = [{"type": "text", "text": ask.user}]
    if ask.image:
        content.append(
            {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": PNG}}
        )
    messages: list[dict[str, Any]] = [{"role": "user", "content": content}]
    for call_id, name, args, result in ask.history:
        messages.append(
            {
                "role": "assistant",
                "content": [{"type": "tool_use", "id": call_id, "name": name, "input": args}],
            }
        )
        messages.append(
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": call_id, "content": result}]}
        )
    extra: dict[str, Any] = {"system": "Be brief."}
    if ask.tools:
        extra["tools"] = [
            {"name": TOOL["name"], "description": TOOL["description"], "input_schema": TOOL["parameters"]}
        ]
    if ask.schema:
        extra["output_config"] = {"format": {"type": "json_schema", "schema": WEATHER_SCHEMA}}
    if stream:
        with client.messages.stream(model=model, max_tokens=512, messages=messages, **extra) as events:  # type: ignore[arg-type]
            message = events.get_final_message()
    else:
        message = client.messages.create(model=model, max_tokens=512, messages=messages, **extra)  # type: ignore[arg-type]
    usage = message.usage
    return Result(
        "".join(b.text for b in message.content if b.type == "text"),
        [(b.id, b.name, dict(b.input)) for b in message.content if b.type == "tool_use"],  # type: ignore[arg-type]
        _ANTHROPIC_FINISH[message.stop_reason or ""],
        (
            usage.input_tokens
            + (usage.cache_read_input_tokens or 0)
            + (usage.cache_creation_input_tokens or 0),
            usage.output_tokens,
        ),
        message.model,
    )


def via_responses(gw: GatewayThread, model: str, ask: Ask, stream: bool) -> Result:
    client = CLIENTS["openai"]
    content: list[dict[str, Any]] = [{"type": "input_text", "text": ask.user}]
    if ask.image:
        content.append({"type": "input_image", "image_url": f"data:image/png;base64,{PNG}", "detail": "auto"})
    items: list[dict[str, Any]] = [{"role": "user", "content": content}]
    for call_id, name, args, result in ask.history:
        items.append(
            {"type": "function_call", "call_id": call_id, "name": name, "arguments": json.dumps(args)}
        )
        items.append({"type": "function_call_output", "call_id": call_id, "output": result})
    extra: dict[str, Any] = {"instructions": "Be brief."}
    if ask.tools:
        extra["tools"] = [{"type": "function", **TOOL}]
    if ask.schema:
        extra["text"] = {
            "format": {"type": "json_schema", "name": "weather", "schema": WEATHER_SCHEMA, "strict": True}
        }
    if stream:
        final = None
        for event in client.responses.create(model=model, input=items, stream=True, **extra):  # type: ignore[call-overload]
            if event.type in ("response.completed", "response.incomplete"):
                final = event.response
        assert final is not None, "the stream ended without a terminal event"
        response = final
    else:
        response = client.responses.create(model=model, input=items, **extra)  # type: ignore[call-overload]
    calls = [
        (o.call_id, o.name, json.loads(o.arguments)) for o in response.output if o.type == "function_call"
    ]
    finish = "tool_calls" if calls else ("stop" if response.status == "completed" else "length")
    assert response.usage is not None
    usage = (response.usage.input_tokens, response.usage.output_tokens)
    return Result(response.output_text, calls, finish, usage, response.model)


ASK = {"chat": via_chat, "messages": via_messages, "responses": via_responses}


# -- what the provider received ---------------------------------------------------------------


def wire(api: str, family: str) -> str:
    """The format the provider was spoken to in: the client's own when they share a family."""
    if api == "messages" and family in ("anthropic", "bedrock"):  # Claude on Bedrock: InvokeModel
        return "anthropic"
    if api == "responses" and family == "openai":
        return "responses"
    if family == "bedrock-llama":
        return "bedrock"
    return "chat" if family == "openai" else family


def received(sim: SimulatorThread) -> dict[str, Any]:
    body = sim.last().json
    assert isinstance(body, dict)
    return body


def has_image(shape: str, body: dict[str, Any]) -> bool:
    text = json.dumps(body)
    return (
        PNG in text
        and {
            "chat": '"image_url"',
            "responses": '"input_image"',
            "anthropic": '"base64"',
            "gemini": '"inlineData"',
            "bedrock": '"image"',
            "cohere": '"image_url"',
        }[shape]
        in text
    )


def has_tool_result(shape: str, body: dict[str, Any]) -> bool:
    marker = {
        "chat": '"role": "tool"',
        "responses": '"function_call_output"',
        "anthropic": '"tool_result"',
        "gemini": '"functionResponse"',
        "bedrock": '"toolResult"',
        "cohere": '"role": "tool"',
    }[shape]
    return marker in json.dumps(body) and "sunny, 21C" in json.dumps(body)


def has_schema(shape: str, body: dict[str, Any]) -> bool:
    text = json.dumps(body)
    marker = {
        "chat": '"json_schema"',
        "responses": '"json_schema"',
        "anthropic": '"json_schema"',
        "gemini": '"responseJsonSchema"',
        "bedrock": '"json_schema"',
        "cohere": '"json_schema"',
    }[shape]
    return marker in text and "celsius" in text


CLIENTS: dict[str, Any] = {}


@pytest.fixture(scope="module")
def gw(gateway: GatewayThread) -> Iterator[GatewayThread]:
    CLIENTS["openai"] = openai.OpenAI(base_url=gateway.url + "/v1", api_key="k", max_retries=0, timeout=20)
    CLIENTS["anthropic"] = anthropic.Anthropic(base_url=gateway.url, api_key="k", max_retries=0, timeout=20)
    yield gateway
    for client in CLIENTS.values():
        client.close()
    CLIENTS.clear()


def both(api: str, gw: GatewayThread, model: str, ask: Ask) -> Result:
    """Ask twice, streamed and not; they must agree exactly. Returns the streamed answer."""
    whole = ASK[api](gw, model, ask, False)
    streamed = ASK[api](gw, model, ask, True)
    assert streamed.same_answer() == whole.same_answer()
    assert whole.usage[0] > 0 and whole.usage[1] > 0
    return streamed


@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize("api", APIS)
def test_plain_text(api: str, family: str, gw: GatewayThread, sim: SimulatorThread) -> None:
    answer = both(api, gw, FAMILIES[family], Ask())
    assert answer.text == f"Hello! You said: {PROMPT}" and answer.finish == "stop"
    # one rule on every path: ``model`` is the model that answered, as its provider names it
    assert answer.model == FAMILIES[family].split("/", 1)[1]
    assert PROMPT in json.dumps(received(sim))


@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize("api", APIS)
def test_tool_call_round_trip(api: str, family: str, gw: GatewayThread, sim: SimulatorThread) -> None:
    first = both(api, gw, FAMILIES[family] + ";tool_calls=get_weather", Ask(tools=True))
    assert first.finish == "tool_calls" and [name for _, name, _ in first.calls] == ["get_weather"]
    call_id, name, args = first.calls[0]
    assert "city" in args
    final = both(api, gw, FAMILIES[family], Ask(tools=True, history=[(call_id, name, args, "sunny, 21C")]))
    assert final.finish == "stop" and final.text and not final.calls
    assert has_tool_result(wire(api, family), received(sim))


@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize("api", APIS)
def test_image_input(api: str, family: str, gw: GatewayThread, sim: SimulatorThread) -> None:
    answer = both(api, gw, FAMILIES[family], Ask(image=True))
    assert answer.text.startswith("Hello! You said:")
    assert has_image(wire(api, family), received(sim))


@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize("api", APIS)
def test_json_schema_output(api: str, family: str, gw: GatewayThread, sim: SimulatorThread) -> None:
    answer = both(api, gw, FAMILIES[family], Ask(schema=True))
    data = json.loads(answer.text)
    assert set(data) >= {"city", "celsius"}
    assert has_schema(wire(api, family), received(sim))
