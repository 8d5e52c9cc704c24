"""A finished answer, as the client got it (a whole body, or every byte of its stream), read back
into the canonical response the cache stores. Runs off the request path (settle), so filling the
cache costs the request nothing but keeping a reference to its bytes; same-family passthrough
stays on.

The client's bytes are in its API's own wire format, which the provider family of the same
format reads: OpenAI chat for ``chat``, Anthropic messages for ``messages``. (Responses answers
are not stored: no family here reads that format back into canonical form yet.)
"""

from __future__ import annotations

from collections.abc import Sequence

from switchgear.core.assemble import response_of
from switchgear.core.types import ChatResponse
from switchgear.core.usage import Usage
from switchgear.providers.anthropic.response import parse_response as anthropic_answer
from switchgear.providers.anthropic.stream import AnthropicStreamDecoder
from switchgear.providers.base import Deployment, StreamDecoder
from switchgear.providers.openai.response import parse_response as openai_answer
from switchgear.providers.openai.stream import OpenAIChatStreamDecoder

# The client APIs whose answers can be stored (and so looked up).
FILLABLE = frozenset({"chat", "messages"})


def answer_of(api: str, body: bytes, deployment: Deployment, usage: Usage | None) -> ChatResponse:
    """A whole answer's body, canonical; ``usage`` (what the gateway recorded) replaces the body's.
    Raises UpstreamError (a GatewayError) when the bytes are not a whole answer."""
    read = openai_answer if api == "chat" else anthropic_answer
    response = read(body, deployment)
    if usage is not None:
        response.usage = usage
    return response


def stream_answer_of(
    api: str, chunks: Sequence[bytes], deployment: Deployment, usage: Usage | None
) -> ChatResponse:
    """A complete stream's bytes, gathered into one canonical answer; raises when it was cut."""
    decoder: StreamDecoder = (
        OpenAIChatStreamDecoder(deployment) if api == "chat" else AnthropicStreamDecoder(deployment)
    )
    events = decoder.feed(b"".join(chunks))
    events.extend(decoder.finish())
    response = response_of(events)
    if usage is not None:  # the stream's own may be absent (a client that did not ask for it)
        response.usage = usage
    return response
