"""Anthropic Messages streams relayed byte for byte to Anthropic clients (same-family passthrough),
recording usage and an in-band ``error`` event on the way (WIRE-FORMATS §3.4). Usage is split over
``message_start`` and ``message_delta``; while the usage read so far is suspicious (negative,
absurd: ``core.usage``), those events are restated with the numbers the gateway records.
``message_delta``, whose usage is the final one, carries ``cost`` (USD) when the deployment is priced.
"""

from __future__ import annotations

from typing import Any

import orjson

from switchgear.catalog.costs import Pricer
from switchgear.core.errors import GatewayError, UpstreamProtocolError
from switchgear.core.jsoncodec import load_object
from switchgear.core.usage import Usage
from switchgear.providers.anthropic.errors import in_band_error
from switchgear.providers.anthropic.response import read_usage, usage_counts
from switchgear.providers.anthropic.stream import EVENT
from switchgear.transport.sse import SSESplitter, data_of, map_events, usage_event

_NOTABLE = (b"message_", b"error")  # only events naming these are read; the rest pass unparsed


class AnthropicStreamRelay:
    """Forwards an Anthropic stream to an Anthropic client untouched; records usage and the end."""

    __slots__ = ("_price", "_provider", "_raw_usage", "_splitter", "done", "events", "failed", "usage")

    def __init__(self, provider: str, *, price: Pricer | None = None) -> None:
        self._provider = provider
        self._price = price
        self._splitter = SSESplitter(provider)
        self._raw_usage: dict[str, Any] = {}
        self.usage: Usage | None = None
        self.done = False
        self.events = 0
        self.failed: GatewayError | None = None  # an in-band error event the upstream sent, or a cut

    def feed(self, data: bytes) -> bytes:
        block = self._splitter.feed(data)
        if not block:
            return b""
        if not any(marker in block for marker in _NOTABLE):
            self.events += block.count(b"\n\n") - block.count(b"\n\n:") - block.startswith(b":")
            return block
        return map_events(block, self._read)

    def _read(self, event: bytes) -> bytes:
        """Record what one event says; the event for the client (itself, unless its usage was restated)."""
        name = _event_name(event)
        if name is None and data_of(event) is None:
            return event  # a comment
        self.events += 1
        if self.done or name not in ("message_start", "message_delta", "message_stop", "error"):
            return event
        if name == "message_stop":
            self.done = True
            return event
        payload = data_of(event)
        if payload is None:
            raise UpstreamProtocolError(
                f"provider {self._provider!r} sent a {name} event without data", provider=self._provider
            )
        body = load_object(payload, self._provider, EVENT)
        if name == "error":
            self.done = True
            self.failed = in_band_error(body.get("error"), self._provider)
            return event
        at: tuple[str, ...] = ("usage",)
        if name == "message_start":
            at = ("message", "usage")
            message = body.get("message")
            raw = message.get("usage") if isinstance(message, dict) else None
            if isinstance(raw, dict):
                self._raw_usage = dict(raw)
        else:
            raw = body.get("usage")
            if isinstance(raw, dict):
                self._raw_usage.update((k, v) for k, v in raw.items() if v is not None)
        if not self._raw_usage:
            return event
        recorded = self.usage = read_usage(self._raw_usage)
        counts = usage_counts(recorded) if recorded.suspicious else None
        price = self._price
        final = name == "message_delta" and isinstance(raw, dict)  # its usage is the last word
        cost = price(recorded) if price is not None and final else None
        return usage_event(event, payload, at, counts, cost)

    def finish(self) -> bytes:
        if self.done:
            return b""
        return self.error(self._splitter.cut("ended the stream before message_stop"))

    def error(self, exc: GatewayError) -> bytes:
        self.done = True
        if self.failed is None:
            self.failed = exc
        body = orjson.dumps({"type": "error", "error": {"type": exc.anthropic_type, "message": exc.message}})
        return b"event: error\ndata: " + body + b"\n\n"


def _event_name(event: bytes) -> str | None:
    for line in event.split(b"\n"):
        if line.startswith(b"event:"):
            return line[6:].strip().decode("utf-8", "replace")
    return None
