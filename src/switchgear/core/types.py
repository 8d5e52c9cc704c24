"""Canonical request, response and stream-event types shared by every inbound codec and adapter.

The canonical shape follows OpenAI Chat Completions (the richest common denominator). Inbound
codecs decode a client's request into a ``ChatRequest``; provider adapters build their wire
request from it and decode answers into ``ChatResponse`` or a sequence of ``StreamEvent``.
Same-family traffic (OpenAI to an OpenAI-compatible vendor) skips this and passes bytes through.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from switchgear.core.usage import Usage

Role = Literal["system", "developer", "user", "assistant", "tool"]
FinishReason = Literal["stop", "length", "tool_calls", "content_filter", "error"]


@dataclass(slots=True)
class TextPart:
    text: str
    cache_control: dict[str, Any] | None = None


@dataclass(slots=True)
class ImagePart:
    url: str  # https URL or data: URL
    detail: str | None = None


ContentPart = TextPart | ImagePart


@dataclass(slots=True)
class ToolCall:
    id: str
    name: str
    arguments: str  # JSON text, as OpenAI carries it


@dataclass(slots=True)
class Message:
    role: Role
    content: list[ContentPart] = field(default_factory=list)
    tool_calls: list[ToolCall] = field(default_factory=list)
    tool_call_id: str | None = None
    name: str | None = None
    reasoning: str | None = None
    reasoning_signature: str | None = None


@dataclass(slots=True)
class ToolDef:
    name: str
    description: str | None = None
    parameters: dict[str, Any] | None = None
    strict: bool | None = None


@dataclass(slots=True)
class ChatRequest:
    model: str
    messages: list[Message]
    stream: bool = False
    max_tokens: int | None = None
    temperature: float | None = None
    top_p: float | None = None
    stop: list[str] = field(default_factory=list)
    n: int = 1
    seed: int | None = None
    tools: list[ToolDef] = field(default_factory=list)
    tool_choice: str | dict[str, Any] | None = None
    parallel_tool_calls: bool | None = None
    response_format: dict[str, Any] | None = None
    reasoning_effort: str | None = None
    user: str | None = None
    metadata: dict[str, Any] | None = None
    extra: dict[str, Any] = field(default_factory=dict)  # fields the canonical form does not model


@dataclass(slots=True)
class Choice:
    index: int
    message: Message
    finish_reason: FinishReason | None


@dataclass(slots=True)
class ChatResponse:
    id: str
    model: str
    created: int
    choices: list[Choice]
    usage: Usage
    native_finish_reason: str | None = None


@dataclass(slots=True)
class TextDelta:
    index: int
    text: str


@dataclass(slots=True)
class ReasoningDelta:
    index: int
    text: str
    signature: str | None = None


@dataclass(slots=True)
class ToolCallDelta:
    index: int  # choice index
    call_index: int
    id: str | None
    name: str | None
    arguments: str


@dataclass(slots=True)
class Finish:
    index: int
    reason: FinishReason
    native_reason: str | None = None


@dataclass(slots=True)
class UsageEvent:
    usage: Usage


StreamEvent = TextDelta | ReasoningDelta | ToolCallDelta | Finish | UsageEvent
