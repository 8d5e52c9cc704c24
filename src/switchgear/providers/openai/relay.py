"""Relay of an OpenAI-family SSE stream: forward bytes unchanged, record usage, catch garbage.

The bytes forwarded are the provider's own. Work is done per block of complete events, not per
event, with C-speed byte counts and searches: counts check that every event is a ``data:``
line whose payload is wrapped in braces (or the final ``[DONE]``), searches find the few events
worth reading (usage, an error), and only those are parsed (finish reasons are recorded from
those). Plain content chunks are not parsed: a payload that is braces around garbage reaches the
client as the provider sent it (a truncated or non-object payload is caught).
Anything unusual (comments, multi-line events, garbage) takes the careful per-event path. The
usage-only chunk the gateway asked for on the client's behalf is dropped; a suspicious usage
(negative, absurd: ``core.usage``) is restated with the numbers the gateway records. A usage the
client sees carries ``cost`` (USD) when the deployment is priced.
"""

from __future__ import annotations

import orjson

from switchgear.catalog.costs import Pricer
from switchgear.core.errors import GatewayError, UpstreamError
from switchgear.core.jsoncodec import load_object
from switchgear.core.usage import Usage
from switchgear.providers.openai.stream import CHUNK
from switchgear.transport.sse import SSESplitter, data_of, usage_event

_DONE = b"[DONE]"
_DONE_EVENT = b"data: [DONE]\n\n"
# Markers of the events the relay must read: usage, or an in-band error.
_NOTABLE = (b'"usage"', b'"error"')


def _plain(block: bytes, events: int) -> bool:
    """Every event of ``block`` is ``data: {...}``, except perhaps a final ``data: [DONE]``."""
    objects = block.count(b"\n\ndata: {") + block.startswith(b"data: {")
    done = block.endswith(_DONE_EVENT)
    return objects + done == events and block.count(b"}\n\n") == objects


def _notable(block: bytes) -> list[int]:
    """Start offsets of the events holding a marker, in order, each once."""
    starts: set[int] = set()
    for marker in _NOTABLE:
        at = block.find(marker)
        while at >= 0:
            if not block.startswith(b":null", at + len(marker)):  # "usage":null carries nothing
                previous = block.rfind(b"\n\n", 0, at)
                starts.add(previous + 2 if previous >= 0 else 0)
            at = block.find(marker, at + len(marker))
    return sorted(starts)


class OpenAIStreamRelay:
    __slots__ = (
        "_drop_usage",
        "_price",
        "_provider",
        "_splitter",
        "done",
        "events",
        "failed",
        "finish_reasons",
        "usage",
    )

    def __init__(self, provider: str, *, drop_usage_chunk: bool, price: Pricer | None = None) -> None:
        self._provider = provider
        self._drop_usage = drop_usage_chunk
        self._price = price
        self._splitter = SSESplitter(provider)
        self.usage: Usage | None = None
        self.done = False
        self.events = 0
        self.finish_reasons: dict[int, str] = {}
        self.failed: GatewayError | None = None

    def feed(self, data: bytes) -> bytes:
        block = self._splitter.feed(data)
        if not block:
            return b""
        events = block.count(b"\n\n")
        if not _plain(block, events):
            return self._careful(block)
        self.events += events
        self.done = block.endswith(_DONE_EVENT)
        changed: list[tuple[int, int, bytes]] = []  # events dropped or restated
        for start in _notable(block):
            end = block.find(b"\n\n", start)
            event = block[start:end]
            kept = self._read(event)
            if kept is not event:
                changed.append((start, end + 2, b"" if kept is None else kept + b"\n\n"))
        if not changed:
            return block
        parts = []
        position = 0
        for start, end, replacement in changed:
            parts.append(block[position:start])
            parts.append(replacement)
            position = end
        parts.append(block[position:])
        return b"".join(parts)

    def _careful(self, block: bytes) -> bytes:
        """The per-event path for blocks with comments, multi-line events or garbage."""
        events = block.split(b"\n\n")
        events.pop()  # the block ends with a blank line
        kept = []
        for event in events:
            payload = data_of(event)
            if payload is None:
                kept.append(event)  # a comment or keep-alive
                continue
            self.events += 1
            if payload == _DONE:
                self.done = True
                kept.append(event)
            else:
                read = self._read(event)
                if read is not None:
                    kept.append(read)
        return b"".join(e + b"\n\n" for e in kept)

    def _read(self, event: bytes) -> bytes | None:
        """Parse one event, record what it says; the event for the client (``event`` itself unless
        its usage was restated), or None when it must not reach the client."""
        payload = data_of(event)
        if payload is None or payload == _DONE:
            return event
        chunk = load_object(payload, self._provider, CHUNK)
        error = chunk.get("error")
        if isinstance(error, dict) and self.failed is None:  # an in-band error, relayed as sent
            message = error.get("message")
            self.failed = UpstreamError(
                f"provider {self._provider!r} failed mid-stream: {message}"
                if isinstance(message, str)
                else f"provider {self._provider!r} failed mid-stream",
                provider=self._provider,
            )
        choices = chunk.get("choices")
        if choices:
            for choice in choices:
                if isinstance(choice, dict) and choice.get("finish_reason"):
                    self.finish_reasons[choice.get("index", 0)] = choice["finish_reason"]
        usage = chunk.get("usage")
        if usage:
            recorded = self.usage = Usage.from_openai(usage)
            if self._drop_usage and not choices:
                return None
            counts = recorded.openai_counts() if recorded.suspicious else None
            cost = self._price(recorded) if self._price is not None and recorded.reported else None
            return usage_event(event, payload, ("usage",), counts, cost)
        return event

    def finish(self) -> bytes:
        if self.done:
            return b""
        return self.error(self._splitter.cut("ended the stream without [DONE]"))

    def error(self, exc: GatewayError) -> bytes:
        self.done = True
        self.failed = exc
        body = orjson.dumps(
            {
                "object": "chat.completion.chunk",
                "error": {"message": exc.message, "type": exc.type, "param": None, "code": exc.code},
                "choices": [{"index": 0, "delta": {"content": ""}, "finish_reason": "error"}],
            }
        )
        return b"data: " + body + b"\n\ndata: [DONE]\n\n"
