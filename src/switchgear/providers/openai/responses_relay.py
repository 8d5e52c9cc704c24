"""Passthrough of the OpenAI Responses API to OpenAI itself: usage from answers, stream relay.

A Responses body sent to an OpenAI-family upstream comes back untouched. ``read_responses_answer``
checks a non-streamed answer and reads its usage; ``ResponsesStreamRelay`` forwards the
upstream's SSE bytes unchanged and reads only the events worth reading: the first
(``response.created``, kept to shape a ``response.failed`` if the stream is cut) and the
terminal ones (``response.completed`` / ``.incomplete`` / ``.failed`` carry the usage; an
``error`` event ends the stream too). Other events are found by cheap byte searches and never
parsed; a block with anything unusual (comments, multi-line events, no ``data:``) is read event
by event, and a notable event that is not a JSON object is an ``UpstreamProtocolError``. A
suspicious usage (negative, absurd: ``core.usage``) is restated, in answers and terminal events,
with the numbers the gateway records; the terminal event's usage carries ``cost`` (USD) when the
deployment is priced.
"""

from __future__ import annotations

from typing import Any

import orjson

from switchgear.catalog.costs import Pricer
from switchgear.core.errors import GatewayError, UpstreamError, UpstreamProtocolError
from switchgear.core.jsoncodec import load_json
from switchgear.core.responses_events import error_events
from switchgear.core.usage import Counts, Usage, restate_json
from switchgear.transport.sse import SSESplitter, data_of, map_events, usage_event

_TERMINAL = frozenset({"response.completed", "response.incomplete", "response.failed", "error"})
# Byte markers of the events the relay reads. A false hit (in a delta's text, or the
# ``"error":null`` of ``response.in_progress``) costs one parse; escaped quotes never match.
_MARKERS = (
    b"response.created",
    b"response.completed",
    b"response.incomplete",
    b"response.failed",
    b'"error"',
)


def responses_usage(answer: dict[str, Any]) -> Usage:
    """Usage from a Responses object (``usage`` with input/output tokens and their details)."""
    raw = answer.get("usage")
    if not isinstance(raw, dict):
        return Usage()
    return Usage.from_openai(
        {
            "prompt_tokens": raw.get("input_tokens"),
            "completion_tokens": raw.get("output_tokens"),
            "prompt_tokens_details": raw.get("input_tokens_details"),  # cached_tokens, cache_write_tokens
            "completion_tokens_details": raw.get("output_tokens_details"),  # reasoning_tokens
        }
    )


def usage_counts(usage: Usage) -> Counts:
    """Where ``responses_usage`` read each number (the total follows the two it sums)."""
    return {
        ("input_tokens",): usage.prompt_tokens,
        ("output_tokens",): usage.completion_tokens,
        ("total_tokens",): usage.total_tokens,
        ("input_tokens_details", "cached_tokens"): usage.cached_tokens,
        ("input_tokens_details", "cache_write_tokens"): usage.cache_write_tokens,
        ("output_tokens_details", "reasoning_tokens"): usage.reasoning_tokens,
    }


def read_responses_answer(raw: bytes, provider: str) -> tuple[bytes, Usage]:
    """Check a non-streamed Responses answer; the bytes for the client (unchanged unless the
    usage was restated) and its usage."""
    answer = load_json(raw, provider)
    if not isinstance(answer, dict) or not isinstance(answer.get("output"), list):
        raise UpstreamProtocolError(
            f"provider {provider!r} answered without 'output': not an OpenAI Responses object",
            provider=provider,
        )
    usage = responses_usage(answer)
    if usage.suspicious:
        raw = restate_json(raw, ("usage",), usage_counts(usage)) or raw
    return raw, usage


class ResponsesStreamRelay:
    """Forwards one upstream Responses stream unchanged; records its usage and terminal status."""

    __slots__ = (
        "_price",
        "_provider",
        "_response",
        "_splitter",
        "done",
        "events",
        "failed",
        "status",
        "usage",
    )

    def __init__(self, provider: str, *, price: Pricer | None = None) -> None:
        self._provider = provider
        self._price = price
        self._splitter = SSESplitter(provider)
        self._response: dict[str, Any] | None = None  # from response.created
        self.usage: Usage | None = None
        self.done = False
        self.events = 0
        self.status: str | None = None  # completed | incomplete | failed | error, once terminal
        self.failed: GatewayError | None = None

    def feed(self, data: bytes) -> bytes:
        block = self._splitter.feed(data)
        if not block:
            return b""
        if any(marker in block for marker in _MARKERS) or block.count(b"data: {") != block.count(b"\n\n"):
            return map_events(block, self._read)
        self.events += block.count(b"\n\n")
        return block

    def _read(self, event: bytes) -> bytes:
        """Record what one event says; the event for the client (itself, unless its usage was restated)."""
        payload = data_of(event)
        if payload is None:
            return event  # a comment or keep-alive
        self.events += 1
        if payload == b"[DONE]" or not any(marker in event for marker in _MARKERS):
            return event
        try:
            body = orjson.loads(payload)
        except orjson.JSONDecodeError:
            body = None
        if not isinstance(body, dict):
            raise UpstreamProtocolError(
                f"provider {self._provider!r} sent a stream event that is not a JSON object",
                provider=self._provider,
            )
        kind = body.get("type")
        if kind is None and isinstance(body.get("error"), dict):
            kind = "error"  # a bare {"error": {...}}, as some compatible servers send
        response = body.get("response")
        if kind == "response.created" and isinstance(response, dict):
            self._response = {**response, "output": [], "usage": None}
        if kind in _TERMINAL:
            self.done = True
            self.status = "error" if kind == "error" else kind.removeprefix("response.")
            if self.status in ("error", "failed"):
                self.failed = UpstreamError(
                    f"provider {self._provider!r} failed mid-stream ({self.status})", provider=self._provider
                )
            if isinstance(response, dict) and response.get("usage") is not None:
                recorded = self.usage = responses_usage(response)
                counts = usage_counts(recorded) if recorded.suspicious else None
                cost = self._price(recorded) if self._price is not None and recorded.reported else None
                return usage_event(event, payload, ("response", "usage"), counts, cost)
        return event

    def finish(self) -> bytes:
        if self.done:
            return b""
        return self.error(
            self._splitter.cut(
                "ended the stream without a terminal event", "ended the stream in the middle of an event"
            )
        )

    def error(self, exc: GatewayError) -> bytes:
        self.done = True
        self.status = "error"
        if self.failed is None:
            self.failed = exc
        # The upstream numbers its events from 0: the next number is the count of events seen.
        return error_events(exc, self.events, self._response)
