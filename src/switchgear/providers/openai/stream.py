"""Relay of an OpenAI-family SSE stream: forward bytes unchanged, record usage, catch garbage.

Each complete event is parsed once (orjson) to read usage and finish reasons and to reject a
malformed chunk before it reaches the client; the bytes forwarded are the provider's own. The
usage-only chunk the gateway asked for on the client's behalf is dropped.
"""

from __future__ import annotations

import orjson

from switchgear.core.errors import UpstreamError, UpstreamProtocolError
from switchgear.core.usage import Usage
from switchgear.transport.sse import SSEOverflow, SSESplitter, data_of

_DONE = b"[DONE]"


class OpenAIStreamRelay:
    __slots__ = ("_drop_usage", "_provider", "_splitter", "done", "events", "finish_reasons", "usage")

    def __init__(self, provider: str, *, drop_usage_chunk: bool) -> None:
        self._provider = provider
        self._drop_usage = drop_usage_chunk
        self._splitter = SSESplitter()
        self.usage: Usage | None = None
        self.done = False
        self.events = 0
        self.finish_reasons: dict[int, str] = {}

    def feed(self, data: bytes) -> bytes:
        try:
            block = self._splitter.feed(data)
        except SSEOverflow as exc:
            raise UpstreamProtocolError(f"provider {self._provider!r}: {exc}", provider=self._provider) from None
        if not block:
            return b""
        events = block.split(b"\n\n")
        events.pop()  # the block ends with a blank line
        kept: list[bytes] | None = None
        for i, event in enumerate(events):
            if self._keep(event):
                if kept is not None:
                    kept.append(event)
            elif kept is None:
                kept = events[:i]
        if kept is None:
            return block
        return b"".join(e + b"\n\n" for e in kept)

    def _keep(self, event: bytes) -> bool:
        payload = data_of(event)
        if payload is None:
            return True  # comment or keep-alive
        if payload == _DONE:
            self.done = True
            return True
        try:
            chunk = orjson.loads(payload)
        except orjson.JSONDecodeError:
            raise UpstreamProtocolError(
                f"provider {self._provider!r} sent a malformed stream chunk", provider=self._provider
            ) from None
        if not isinstance(chunk, dict):
            raise UpstreamProtocolError(
                f"provider {self._provider!r} sent a stream chunk that is not an object", provider=self._provider
            )
        self.events += 1
        choices = chunk.get("choices")
        if choices:
            for choice in choices:
                if isinstance(choice, dict) and choice.get("finish_reason"):
                    self.finish_reasons[choice.get("index", 0)] = choice["finish_reason"]
        usage = chunk.get("usage")
        if usage:
            self.usage = Usage.from_openai(usage)
            if self._drop_usage and not choices:
                return False
        return True

    def finish(self) -> bytes:
        if self.done:
            return b""
        if self._splitter.pending.strip():
            reason = "ended in the middle of an event"
        else:
            reason = "ended the stream without [DONE]"
        return self.error(UpstreamProtocolError(f"provider {self._provider!r} {reason}", provider=self._provider))

    def error(self, exc: UpstreamError) -> bytes:
        self.done = True
        body = orjson.dumps(
            {
                "object": "chat.completion.chunk",
                "error": {"message": exc.message, "type": exc.type, "param": None, "code": exc.code},
                "choices": [{"index": 0, "delta": {"content": ""}, "finish_reason": "error"}],
            }
        )
        return b"data: " + body + b"\n\ndata: [DONE]\n\n"
