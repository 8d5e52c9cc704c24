"""Golden files of the Anthropic adapter and the builders the tests share: deployments made from
``Provider``/``Deployment`` directly, canonical requests from JSON, canonical values as JSON."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

from switchgear.catalog import ModelInfo
from switchgear.config.model import Timeouts
from switchgear.core.types import (
    ChatRequest,
    ContentPart,
    ImagePart,
    Message,
    Reasoning,
    ReasoningDelta,
    ReasoningPart,
    ResponseFormat,
    StreamEvent,
    TextDelta,
    TextPart,
    ToolCall,
    ToolCallDelta,
    ToolChoice,
    ToolDef,
)
from switchgear.providers.anthropic import PROFILES, AnthropicAdapter
from switchgear.providers.base import Deployment, Provider
from switchgear.providers.settings import FamilySettings

FIXTURES = Path(__file__).resolve().parents[3] / "fixtures" / "anthropic"
KEY = "sk-ant-test-key-0001"
ADAPTER = AnthropicAdapter()


def golden(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


def golden_bytes(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def provider(
    *,
    name: str = "claude",
    headers: dict[str, str] | None = None,
    base_url: str = "https://api.anthropic.com",
) -> Provider:
    return Provider(
        name=name,
        profile=PROFILES["anthropic"],
        adapter=ADAPTER,
        base_url=base_url,
        api_key=KEY,
        headers=headers or {},
        timeouts=Timeouts(),
        settings=FamilySettings(type="anthropic", api_key=KEY),
    )


def deployment(
    model: str = "claude-sonnet-4-5", *, max_output_tokens: int | None = None, **provider_args: Any
) -> Deployment:
    info = None
    if max_output_tokens is not None:
        info = ModelInfo(vendor="anthropic", id=model, max_output_tokens=max_output_tokens)
    return Deployment(provider=provider(**provider_args), model=model, info=info)


# --- canonical requests from JSON ---------------------------------------------------------------


def _part(raw: dict[str, Any]) -> ContentPart:
    raw = dict(raw)
    kind = raw.pop("type")
    if kind == "text":
        return TextPart(**raw)
    assert kind == "image", kind
    return ImagePart(**raw)


def _message(raw: dict[str, Any]) -> Message:
    raw = dict(raw)
    content = raw.pop("content", [])
    if isinstance(content, str):
        content = [{"type": "text", "text": content}]
    return Message(
        content=[_part(p) for p in content],
        tool_calls=[ToolCall(**c) for c in raw.pop("tool_calls", [])],
        reasoning=[ReasoningPart(**r) for r in raw.pop("reasoning", [])],
        **raw,
    )


def canonical_request(raw: dict[str, Any]) -> ChatRequest:
    raw = dict(raw)
    request = ChatRequest(model=raw.pop("model"), messages=[_message(m) for m in raw.pop("messages")])
    for name, build in (
        ("tools", lambda v: [ToolDef(**t) for t in v]),
        ("tool_choice", lambda v: ToolChoice(**v)),
        ("response_format", lambda v: ResponseFormat(**v)),
        ("reasoning", lambda v: Reasoning(**v)),
    ):
        if name in raw:
            setattr(request, name, build(raw.pop(name)))
    for name, value in raw.items():
        assert hasattr(request, name), name
        setattr(request, name, value)
    return request


# --- canonical values as JSON -------------------------------------------------------------------


def as_json(value: Any) -> Any:
    """A canonical dataclass (or list of them) as plain JSON; ``created`` is dropped (a clock)."""
    if isinstance(value, list):
        return [as_json(v) for v in value]
    data = dataclasses.asdict(value)
    data.pop("created", None)
    return data


def events_json(events: list[StreamEvent]) -> list[dict[str, Any]]:
    return [{"event": type(e).__name__, **as_json(e)} for e in events]


def reassemble(events: list[StreamEvent]) -> Message:
    """The assistant message a client rebuilds from canonical stream events. A reasoning part ends
    with its signature (Anthropic sends it last); redacted reasoning is a part of its own."""
    message = Message(role="assistant")
    text: list[str] = []
    open_part: ReasoningPart | None = None
    for event in events:
        match event:
            case TextDelta(text=piece):
                text.append(piece)
            case ReasoningDelta(redacted=str(redacted)):
                message.reasoning.append(ReasoningPart(redacted=redacted))
            case ReasoningDelta(text=piece, signature=signature):
                if open_part is None:
                    open_part = ReasoningPart()
                    message.reasoning.append(open_part)
                open_part.text += piece
                if signature is not None:
                    open_part.signature = signature
                    open_part = None
            case ToolCallDelta(call_index=call_index, id=call_id, name=name, arguments=piece):
                if call_index == len(message.tool_calls):
                    message.tool_calls.append(ToolCall(call_id or "", name or "", ""))
                message.tool_calls[call_index].arguments += piece
            case _:
                pass
    if text:
        message.content.append(TextPart("".join(text)))
    return message
