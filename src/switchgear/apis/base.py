"""The inbound codec protocol: one per client-facing API (OpenAI chat, Anthropic messages,
OpenAI responses). A codec checks and decodes the client's request into canonical form and
encodes canonical answers, stream events and errors back into the client's wire format."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, Protocol

from switchgear.catalog.costs import Pricer
from switchgear.core.errors import GatewayError
from switchgear.core.types import ChatRequest, ChatResponse, StreamEvent


class StreamEncoder(Protocol):
    """Canonical stream events to the client's stream bytes, for one response."""

    def encode(self, events: list[StreamEvent]) -> bytes:
        """Bytes for these events (b"" when they produce nothing yet)."""
        ...

    def finish(self) -> bytes:
        """The closing bytes once the upstream ended normally (e.g. ``data: [DONE]``, ``message_stop``)."""
        ...

    def error(self, exc: GatewayError) -> bytes:
        """An in-band error for a failure after the first byte, ending the stream."""
        ...


class EndsOnce(ABC):
    """A ``StreamEncoder`` whose stream ends with one closing sequence (``_end``): sent once
    ``Finish`` and the usage after it are known, or at ``finish()``, and never twice."""

    __slots__ = ()
    _ended: bool  # the closing sequence (or an in-band error) has been sent

    @abstractmethod
    def _end(self, out: list[bytes]) -> None:
        """Append the closing events (their usage is the latest known) and set ``_ended``."""

    def finish(self) -> bytes:
        out: list[bytes] = []
        if not self._ended:
            self._end(out)
        return b"".join(out)


class InboundCodec(Protocol):
    api: str  # "chat" | "messages" | "responses"
    family: str  # the wire family it passes through to unchanged: "openai" | "anthropic"

    def decode(self, body: dict[str, Any], headers: dict[str, str]) -> ChatRequest:
        """The canonical request; InvalidRequest (with ``param``) for anything malformed or
        inexpressible. ``headers`` are the client's relevant headers (lower-case names)."""
        ...

    def encode_response(
        self,
        response: ChatResponse,
        model: str,
        *,
        request: ChatRequest | None = None,
        cost: int | None = None,
    ) -> bytes:
        """The client-format body for a whole answer; ``model`` is the name the client asked for,
        ``request`` the decoded request (for APIs that echo its settings), ``cost`` its price in
        nano-USD (written as ``usage.cost`` in USD; None: unpriced, no field)."""
        ...

    def stream_encoder(
        self,
        model: str,
        *,
        include_usage: bool,
        request: ChatRequest | None = None,
        price: Pricer | None = None,
    ) -> StreamEncoder:
        """The client-format stream encoder; ``price`` prices the usage its usage-bearing event
        carries, as ``usage.cost`` (None: unpriced, no field)."""
        ...

    def error_body(self, exc: GatewayError) -> bytes:
        """The client-format error body for ``exc`` (its status is ``exc.status``)."""
        ...
