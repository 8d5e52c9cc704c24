"""Shared builders for the Gemini adapter tests: providers, deployments, goldens, event dumps."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from switchgear.config.model import Timeouts
from switchgear.core.types import (
    ChatResponse,
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
from switchgear.providers.base import Deployment, Provider
from switchgear.providers.gemini import PROFILES, GeminiAdapter

FIXTURES = Path(__file__).resolve().parents[3] / "fixtures" / "gemini"
ADAPTER = GeminiAdapter()
GEMINI_KEY = "AIzaSyTest-gemini-key-0123456789abcd"
VERTEX_TOKEN = "ya29.test-vertex-token-0001"


def provider(
    type_: str = "gemini",
    *,
    name: str | None = None,
    base_url: str | None = None,
    api_key: str | None = None,
    options: Mapping[str, str] | None = None,
    headers: Mapping[str, str] | None = None,
) -> Provider:
    profile = PROFILES[type_]
    return Provider(
        name=name or type_,
        profile=profile,
        adapter=ADAPTER,
        base_url=base_url if base_url is not None else (profile.base_url or ""),
        api_key=api_key if api_key is not None else (GEMINI_KEY if type_ == "gemini" else VERTEX_TOKEN),
        headers=dict(headers or {}),
        timeouts=Timeouts(),
        # unvalidated, so that the adapter's own checks can be reached (a Vertex provider without a project)
        settings=profile.settings.model_construct(type=type_, **dict(options or {})),
    )


def deployment(type_: str = "gemini", model: str = "gemini-2.5-flash", **kwargs: Any) -> Deployment:
    return Deployment(provider=provider(type_, **kwargs), model=model)


def load(path: str) -> Any:
    return json.loads((FIXTURES / path).read_text(encoding="utf-8"))


def raw(path: str) -> bytes:
    return (FIXTURES / path).read_bytes()


def dump_response(response: ChatResponse, *, created: bool = True) -> dict[str, Any]:
    out = dataclasses.asdict(response)
    if not created:
        del out["created"]
    return out


def dump_events(events: list[StreamEvent]) -> list[dict[str, Any]]:
    return [{"type": type(e).__name__, **dataclasses.asdict(e)} for e in events]


def reassemble(events: list[StreamEvent]) -> dict[int, Message]:
    """The messages a client would rebuild from canonical events (reasoning: text appends to the
    open, unsigned part; a signature closes it)."""
    messages: dict[int, Message] = {}

    def message(index: int) -> Message:
        return messages.setdefault(index, Message(role="assistant"))

    for event in events:
        match event:
            case TextDelta(index=index, text=text):
                m = message(index)
                if m.content and isinstance(m.content[-1], TextPart):
                    m.content[-1].text += text
                else:
                    m.content.append(TextPart(text))
            case ReasoningDelta(index=index, text=text, signature=signature):
                parts = message(index).reasoning
                if text:
                    if parts and parts[-1].signature is None:
                        parts[-1].text += text
                    else:
                        parts.append(ReasoningPart(text))
                if signature:
                    if parts and parts[-1].signature is None:
                        parts[-1].signature = signature
                    else:
                        parts.append(ReasoningPart("", signature))
            case ToolCallDelta(index=index, call_index=call_index, id=id_, name=name, arguments=arguments):
                calls = message(index).tool_calls
                if call_index == len(calls):
                    calls.append(ToolCall(id=id_ or "", name=name or "", arguments=""))
                calls[call_index].arguments += arguments
            case StreamStart() | UsageEvent():
                pass
            case _:
                pass
    return messages
