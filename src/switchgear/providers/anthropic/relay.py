"""Anthropic Messages streams relayed byte for byte to Anthropic clients (same-family passthrough),
recording usage and an in-band ``error`` event on the way (WIRE-FORMATS §3.4).
"""

from __future__ import annotations

from typing import Any

import orjson

from switchgear.core.errors import GatewayError, UpstreamProtocolError
from switchgear.core.jsoncodec import load_object
from switchgear.core.usage import Usage
from switchgear.providers.anthropic.errors import in_band_error
from switchgear.providers.anthropic.response import read_usage
from switchgear.providers.anthropic.stream import EVENT
from switchgear.transport.sse import SSESplitter, data_of

_NOTABLE = (b"message_", b"error")  # only events naming these are read; the rest pass unparsed


class AnthropicStreamRelay:
    """Forwards an Anthropic stream to an Anthropic client untouched; records usage and the end."""

    __slots__ = ("_provider", "_raw_usage", "_splitter", "done", "events", "failed", "usage")

    def __init__(self, provider: str) -> None:
        self._provider = provider
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
        for event in block.split(b"\n\n")[:-1]:
            self._read(event)
        return block

    def _read(self, event: bytes) -> None:
        name = _event_name(event)
        if name is None and data_of(event) is None:
            return  # a comment
        self.events += 1
        if self.done or name not in ("message_start", "message_delta", "message_stop", "error"):
            return
        if name == "message_stop":
            self.done = True
            return
        payload = data_of(event)
        if payload is None:
            raise UpstreamProtocolError(
                f"provider {self._provider!r} sent a {name} event without data", provider=self._provider
            )
        body = load_object(payload, self._provider, EVENT)
        if name == "error":
            self.done = True
            self.failed = in_band_error(body.get("error"), self._provider)
            return
        if name == "message_start":
            message = body.get("message")
            raw = message.get("usage") if isinstance(message, dict) else None
            if isinstance(raw, dict):
                self._raw_usage = dict(raw)
        else:
            raw = body.get("usage")
            if isinstance(raw, dict):
                self._raw_usage.update((k, v) for k, v in raw.items() if v is not None)
        if self._raw_usage:
            self.usage = read_usage(self._raw_usage)

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
