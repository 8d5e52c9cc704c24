"""Shared builders for the Cohere adapter tests: providers, deployments, goldens, event dumps."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

from switchgear.config.model import Timeouts
from switchgear.core.types import (
    ChatResponse,
    Message,
    ReasoningDelta,
    ReasoningPart,
    StreamEvent,
    TextDelta,
    TextPart,
    ToolCall,
    ToolCallDelta,
)
from switchgear.providers.base import Deployment, Provider
from switchgear.providers.cohere import PROFILES, CohereAdapter
from switchgear.providers.settings import FamilySettings

FIXTURES = Path(__file__).resolve().parents[3] / "fixtures" / "cohere"
ADAPTER = CohereAdapter()
COHERE_KEY = "co-test-key-0123456789abcdef"


def provider(
    *, name: str = "cohere", base_url: str | None = None, api_key: str | None = COHERE_KEY
) -> Provider:
    profile = PROFILES["cohere"]
    return Provider(
        name=name,
        profile=profile,
        adapter=ADAPTER,
        base_url=base_url if base_url is not None else (profile.base_url or ""),
        api_key=api_key,
        headers={},
        timeouts=Timeouts(),
        settings=FamilySettings(type="cohere"),
    )


def deployment(model: str = "command-a-03-2025", **kwargs: Any) -> Deployment:
    return Deployment(provider=provider(**kwargs), model=model)


def load(path: str) -> Any:
    return json.loads((FIXTURES / path).read_text(encoding="utf-8"))


def raw(path: str) -> bytes:
    return (FIXTURES / path).read_bytes()


def dump_response(response: ChatResponse) -> dict[str, Any]:
    out = dataclasses.asdict(response)
    del out["created"]
    return out


def dump_events(events: list[StreamEvent]) -> list[dict[str, Any]]:
    dumped = [{"type": type(e).__name__, **dataclasses.asdict(e)} for e in events]
    for event in dumped:
        event.pop("created", None)
    return dumped


def reassemble(events: list[StreamEvent]) -> Message:
    """The message a client would rebuild from canonical events (one choice)."""
    message = Message(role="assistant")
    for event in events:
        match event:
            case TextDelta(text=text):
                if message.content and isinstance(message.content[-1], TextPart):
                    message.content[-1].text += text
                else:
                    message.content.append(TextPart(text))
            case ReasoningDelta(text=text):
                if message.reasoning:
                    message.reasoning[-1].text += text
                else:
                    message.reasoning.append(ReasoningPart(text))
            case ToolCallDelta(call_index=call_index, id=id_, name=name, arguments=arguments):
                if call_index == len(message.tool_calls):
                    message.tool_calls.append(ToolCall(id=id_ or "", name=name or "", arguments=""))
                message.tool_calls[call_index].arguments += arguments
            case _:
                pass
    return message
