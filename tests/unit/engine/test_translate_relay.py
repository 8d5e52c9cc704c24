"""The translating stream relay's end: closing bytes exactly once."""

from __future__ import annotations

from switchgear.core.errors import GatewayError, UpstreamProtocolError
from switchgear.core.types import StreamEvent
from switchgear.engine.translate import TranslatingRelay


class _CutDecoder:
    usage = None

    def feed(self, data: bytes) -> list[StreamEvent]:
        return []

    def finish(self) -> list[StreamEvent]:
        raise UpstreamProtocolError("provider 'x' ended the stream before message_stop", provider="x")


class _Encoder:
    def encode(self, events: list[StreamEvent]) -> bytes:
        return b""

    def finish(self) -> bytes:
        return b"data: [DONE]\n\n"

    def error(self, exc: GatewayError) -> bytes:
        return b'data: {"error": 1}\n\ndata: [DONE]\n\n'


def test_finish_after_the_stream_ended_adds_nothing() -> None:
    # An upstream stream that ends before any output: the pipeline finishes the relay while
    # looking for the first bytes, then the pump finishes it again when the body is over.
    relay = TranslatingRelay(_CutDecoder(), _Encoder())
    assert relay.finish().count(b"[DONE]") == 1
    assert relay.done
    assert relay.finish() == b""
