"""Canonical request, response and stream-event types shared by every inbound codec and adapter.

The canonical shape follows OpenAI Chat Completions (the richest common denominator), with
slots for what other families carry and Chat has no field for (reasoning signatures, Anthropic
``cache_control``, tool-result errors). Inbound codecs decode a client's request into a
``ChatRequest``; provider adapters build their wire request from it and decode answers into a
``ChatResponse`` or a sequence of ``StreamEvent``. Same-family traffic skips all of this and
passes bytes through.

Conventions every codec and adapter keeps:
- ``system`` messages carry the system prompt(s) in order; OpenAI ``developer`` becomes ``system``.
- A ``tool`` message answers one call (``tool_call_id``); its content is text parts.
- ``ToolCall.arguments`` is JSON text (as OpenAI carries it), ``"{}"`` when there are none.
- ``ImagePart`` holds either a URL or inline base64 ``data`` with its ``media_type``.
- A stream starts with one ``StreamStart`` and ends with ``Finish`` per choice, then (when known)
  one ``UsageEvent``; tool-call ``id``/``name`` come on the first delta of each call only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from switchgear.core.usage import Usage

Role = Literal["system", "user", "assistant", "tool"]
FinishReason = Literal["stop", "length", "tool_calls", "content_filter", "error"]


@dataclass(slots=True)
class TextPart:
    text: str
    cache_control: dict[str, Any] | None = None  # Anthropic prompt caching marker, kept across crossings


@dataclass(slots=True)
class ImagePart:
    url: str | None = None  # http(s) URL
    media_type: str | None = None  # inline image: "image/png", ...
    data: str | None = None  # inline image: base64 without the "data:" prefix
    detail: str | None = None  # OpenAI "auto" | "low" | "high"
    cache_control: dict[str, Any] | None = None

    @classmethod
    def from_url(cls, url: str, detail: str | None = None) -> ImagePart:
        """From an OpenAI-style ``image_url``: a ``data:<mime>;base64,<payload>`` URL is split."""
        if url.startswith("data:"):
            head, _, payload = url.partition(",")
            media_type = head[5:].split(";", 1)[0] or "application/octet-stream"
            return cls(media_type=media_type, data=payload, detail=detail)
        return cls(url=url, detail=detail)

    def as_url(self) -> str:
        """An OpenAI-style URL: the URL itself, or a data URL for inline bytes."""
        if self.url is not None:
            return self.url
        return f"data:{self.media_type or 'application/octet-stream'};base64,{self.data or ''}"


ContentPart = TextPart | ImagePart


@dataclass(slots=True)
class ReasoningPart:
    """Model reasoning ("thinking"). Opaque state (signature, redacted data) must round-trip."""

    text: str = ""
    signature: str | None = None  # Anthropic thinking signature / Gemini thought signature
    redacted: str | None = None  # Anthropic redacted_thinking data


@dataclass(slots=True)
class ToolCall:
    id: str
    name: str
    arguments: str  # JSON text


@dataclass(slots=True)
class Message:
    role: Role
    content: list[ContentPart] = field(default_factory=list)
    tool_calls: list[ToolCall] = field(default_factory=list)  # assistant
    tool_call_id: str | None = None  # tool
    is_error: bool = False  # tool: the result reports a failure
    name: str | None = None
    reasoning: list[ReasoningPart] = field(default_factory=list)  # assistant, before its content

    def text(self) -> str:
        """The concatenated text parts."""
        return "".join(p.text for p in self.content if isinstance(p, TextPart))


@dataclass(slots=True)
class ToolDef:
    name: str
    description: str | None = None
    parameters: dict[str, Any] | None = None  # JSON schema of the arguments object
    strict: bool | None = None
    cache_control: dict[str, Any] | None = None


@dataclass(slots=True)
class ToolChoice:
    mode: Literal["auto", "none", "required", "named"]
    name: str | None = None  # with mode "named"


@dataclass(slots=True)
class ResponseFormat:
    type: Literal["text", "json_object", "json_schema"]
    name: str | None = None
    schema: dict[str, Any] | None = None
    strict: bool | None = None
    description: str | None = None


# Effort level -> thinking budget in tokens, for families that take a budget (WIRE-FORMATS §8.h,
# LiteLLM's table). Families with a floor (Anthropic: 1024) raise what is below it.
EFFORT_BUDGETS: dict[str, int] = {
    "none": 0,
    "minimal": 128,
    "low": 1024,
    "medium": 2048,
    "high": 4096,
    "xhigh": 8192,
    "max": 16384,
}


@dataclass(slots=True)
class Reasoning:
    """How much the model should think: an effort level and/or an explicit token budget."""

    effort: str | None = None  # "none" | "minimal" | "low" | "medium" | "high" | "xhigh" | "max"
    budget_tokens: int | None = None
    include: bool = True  # return the reasoning text when the family can


@dataclass(slots=True)
class ChatRequest:
    model: str
    messages: list[Message]
    stream: bool = False
    max_tokens: int | None = None
    temperature: float | None = None
    top_p: float | None = None
    top_k: int | None = None
    stop: list[str] = field(default_factory=list)
    n: int = 1
    seed: int | None = None
    tools: list[ToolDef] = field(default_factory=list)
    tool_choice: ToolChoice | None = None
    parallel_tool_calls: bool | None = None
    response_format: ResponseFormat | None = None
    reasoning: Reasoning | None = None
    user: str | None = None
    metadata: dict[str, Any] | None = None
    # Headers the client sent that a same-family upstream understands (e.g. anthropic-beta).
    headers: dict[str, str] = field(default_factory=dict)
    logprobs: bool = False  # return each answer token's log probability (families that can)
    top_logprobs: int | None = None  # and this many most likely alternatives per token


@dataclass(slots=True)
class TokenLogprob:
    """One answer token's log probability (OpenAI Chat's ``logprobs.content[]``), with its most
    likely alternatives when they were asked for."""

    token: str
    logprob: float
    token_bytes: list[int] | None = None
    top: list[TokenLogprob] = field(default_factory=list)


@dataclass(slots=True)
class Choice:
    index: int
    message: Message
    finish_reason: FinishReason | None
    native_finish_reason: str | None = None
    logprobs: list[TokenLogprob] | None = None  # the content tokens', when asked and sent


@dataclass(slots=True)
class ChatResponse:
    id: str
    model: str
    created: int
    choices: list[Choice]
    usage: Usage


@dataclass(slots=True)
class StreamStart:
    id: str
    model: str
    created: int


@dataclass(slots=True)
class TextDelta:
    index: int
    text: str


@dataclass(slots=True)
class ReasoningDelta:
    index: int
    text: str = ""
    signature: str | None = None
    redacted: str | None = None


@dataclass(slots=True)
class ToolCallDelta:
    index: int  # choice index
    call_index: int  # position of the call within the choice
    id: str | None  # first delta of a call only
    name: str | None  # first delta of a call only
    arguments: str  # a piece of the JSON text (may be "")


@dataclass(slots=True)
class Finish:
    index: int
    reason: FinishReason
    native_reason: str | None = None


@dataclass(slots=True)
class UsageEvent:
    usage: Usage


StreamEvent = StreamStart | TextDelta | ReasoningDelta | ToolCallDelta | Finish | UsageEvent
