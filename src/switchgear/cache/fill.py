"""A finished answer, as the client got it (a whole body, or every byte of its stream), read back
into the canonical response the cache stores. Runs off the request path (settle), so filling the
cache costs the request nothing but keeping a reference to its bytes; same-family passthrough
stays on.

The client's bytes are in its API's own wire format, which the provider family of the same
format reads: OpenAI chat for ``chat``, Anthropic messages for ``messages``, the OpenAI Responses
object for ``responses`` (a stream's ``response.completed`` / ``.incomplete`` event holds the
whole object, strictly read: an answer with parts the canonical form cannot hold is not stored).
"""

from __future__ import annotations

from collections.abc import Sequence

from switchgear.core.assemble import response_of
from switchgear.core.errors import UpstreamProtocolError
from switchgear.core.jsoncodec import load_json
from switchgear.core.types import ChatResponse
from switchgear.core.usage import Usage
from switchgear.providers.anthropic.response import parse_response as anthropic_answer
from switchgear.providers.anthropic.stream import AnthropicStreamDecoder
from switchgear.providers.base import Deployment, StreamDecoder
from switchgear.providers.openai.response import parse_response as openai_answer
from switchgear.providers.openai.responses_answer import responses_answer
from switchgear.providers.openai.stream import OpenAIChatStreamDecoder
from switchgear.transport.sse import SSESplitter

# The client APIs whose answers can be stored (and so looked up).
FILLABLE = frozenset({"chat", "messages", "responses"})
_ENDS = (b"response.completed", b"response.incomplete")


def answer_of(api: str, body: bytes, deployment: Deployment, usage: Usage | None) -> ChatResponse:
    """A whole answer's body, canonical; ``usage`` (what the gateway recorded) replaces the body's.
    Raises UpstreamError (a GatewayError) when the bytes are not a whole answer."""
    if api == "responses":
        response = responses_answer(load_json(body, deployment.provider.name), deployment.provider.name)
    else:
        read = openai_answer if api == "chat" else anthropic_answer
        response = read(body, deployment)
    if usage is not None:
        response.usage = usage
    return response


def stream_answer_of(
    api: str, chunks: Sequence[bytes], deployment: Deployment, usage: Usage | None
) -> ChatResponse:
    """A complete stream's bytes, gathered into one canonical answer; raises when it was cut."""
    if api == "responses":
        response = _responses_stream(chunks, deployment.provider.name)
        if usage is not None:
            response.usage = usage
        return response
    decoder: StreamDecoder = (
        OpenAIChatStreamDecoder(deployment) if api == "chat" else AnthropicStreamDecoder(deployment)
    )
    events = decoder.feed(b"".join(chunks))
    events.extend(decoder.finish())
    response = response_of(events)
    if usage is not None:  # the stream's own may be absent (a client that did not ask for it)
        response.usage = usage
    return response


def _responses_stream(chunks: Sequence[bytes], provider: str) -> ChatResponse:
    """The whole object a Responses stream ended with (its last event)."""
    payloads = [p for p in SSESplitter(provider).payloads(b"".join(chunks)) if p != b"[DONE]"]
    last = payloads[-1] if payloads else b""
    if not any(end in last for end in _ENDS):
        raise UpstreamProtocolError("the Responses stream did not end complete", provider=provider)
    event = load_json(last, provider)
    if not isinstance(event, dict) or event.get("type") not in ("response.completed", "response.incomplete"):
        raise UpstreamProtocolError("the Responses stream did not end complete", provider=provider)
    return responses_answer(event.get("response"), provider)
