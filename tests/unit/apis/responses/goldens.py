"""Golden files of the Responses codec and what its tests share: canonical values to and from JSON,
the stream events a canonical answer streams as, and an SSE parser."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

from switchgear.core.types import (
    ChatResponse,
    Choice,
    ContentPart,
    Finish,
    ImagePart,
    Message,
    ReasoningDelta,
    ReasoningPart,
    StreamEvent,
    StreamStart,
    TextDelta,
    TextPart,
    ToolCall,
    ToolCallDelta,
    UsageEvent,
)
from switchgear.core.usage import Usage

FIXTURES = Path(__file__).resolve().parents[3] / "fixtures" / "responses"


def golden(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


def golden_bytes(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def to_json(value: Any) -> Any:
    """A canonical value as JSON; content parts carry ``type`` ("text" | "image")."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        out = {f.name: to_json(getattr(value, f.name)) for f in dataclasses.fields(value)}
        if isinstance(value, TextPart):
            return {"type": "text", **out}
        if isinstance(value, ImagePart):
            return {"type": "image", **out}
        return out
    if isinstance(value, list):
        return [to_json(v) for v in value]
    if isinstance(value, dict):
        return {k: to_json(v) for k, v in value.items()}
    return value


def _part(raw: dict[str, Any]) -> ContentPart:
    raw = dict(raw)
    kind = raw.pop("type")
    return TextPart(**raw) if kind == "text" else ImagePart(**raw)


def message(raw: dict[str, Any]) -> Message:
    return Message(
        role=raw["role"],
        content=[_part(p) for p in raw.get("content", [])],
        tool_calls=[ToolCall(**c) for c in raw.get("tool_calls", [])],
        reasoning=[ReasoningPart(**r) for r in raw.get("reasoning", [])],
    )


def chat_response(raw: dict[str, Any]) -> ChatResponse:
    return ChatResponse(
        id=raw["id"],
        model=raw["model"],
        created=raw["created"],
        choices=[
            Choice(
                index=c["index"],
                message=message(c["message"]),
                finish_reason=c["finish_reason"],
                native_finish_reason=c.get("native_finish_reason"),
            )
            for c in raw["choices"]
        ],
        usage=Usage(**raw["usage"]),
    )


def pieces(text: str, size: int) -> list[str]:
    return [text[i : i + size] for i in range(0, len(text), size)]


def stream_of(response: ChatResponse, size: int = 3) -> list[StreamEvent]:
    """The canonical events an upstream would stream ``response`` as (pieces of ``size`` chars)."""
    choice = response.choices[0]
    m = choice.message
    events: list[StreamEvent] = [StreamStart(response.id, response.model, response.created)]
    for part in m.reasoning:
        events += [ReasoningDelta(0, piece) for piece in pieces(part.text, size)]
        if part.signature is not None or part.redacted is not None:
            events.append(ReasoningDelta(0, "", signature=part.signature, redacted=part.redacted))
    events += [TextDelta(0, piece) for piece in pieces(m.text(), size)]
    for i, call in enumerate(m.tool_calls):
        args = pieces(call.arguments, size) or [""]
        events.append(ToolCallDelta(0, i, call.id, call.name, args[0]))
        events += [ToolCallDelta(0, i, None, None, piece) for piece in args[1:]]
    assert choice.finish_reason is not None
    events.append(Finish(0, choice.finish_reason, choice.native_finish_reason))
    events.append(UsageEvent(response.usage))
    return events


def parse_sse(data: bytes) -> list[tuple[str, dict[str, Any]]]:
    """``(event name, data)`` of each event of a Responses SSE body (strict about the framing)."""
    events = []
    assert data.endswith(b"\n\n"), data[-80:]
    for block in data.decode().split("\n\n")[:-1]:
        lines = block.split("\n")
        assert len(lines) == 2 and lines[0].startswith("event: ") and lines[1].startswith("data: "), block
        body = json.loads(lines[1][len("data: ") :])
        assert body["type"] == lines[0][len("event: ") :]
        events.append((body["type"], body))
    return events
