"""Anthropic Messages passed through to Claude on Bedrock via InvokeModel (and its stream).

An Anthropic client's body goes to ``/model/{modelId}/invoke`` or ``/invoke-with-response-stream``
as Bedrock's InvokeModel takes Claude requests: without ``model`` and ``stream``, with
``"anthropic_version": "bedrock-2023-05-31"``, and the client's ``anthropic-beta`` header values as
the body's ``anthropic_beta`` list; everything else (thinking blocks, ``cache_control``, unknown
fields) is kept. The answer is an Anthropic ``message`` returned unchanged; the stream is AWS
event-stream ``chunk`` events whose ``{"bytes": base64}`` payload is one Anthropic stream event,
relayed to the client as Anthropic SSE (``event: <type>`` + the decoded JSON) by
``BedrockInvokeRelay``, which leaves usage and the end to ``AnthropicStreamRelay`` (and restates
the ``message_stop`` invocation metrics when the usage was suspicious). Signing and
URLs are the adapter's (``adapter.py``).
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping
from typing import Any

import orjson

from switchgear.catalog.costs import Pricer
from switchgear.core.errors import GatewayError, UpstreamProtocolError
from switchgear.core.jsoncodec import dumps, load_object, loads_exact
from switchgear.core.usage import Counts, Usage, restate, restate_json
from switchgear.providers.anthropic.errors import in_band_error
from switchgear.providers.anthropic.relay import AnthropicStreamRelay
from switchgear.providers.anthropic.response import read_usage, usage_counts
from switchgear.providers.bedrock.errors import error_from_stream, make_error
from switchgear.providers.bedrock.eventstream import EventStreamDecoder, EventStreamError, HeaderValue

ANTHROPIC_VERSION = "bedrock-2023-05-31"
_DROPPED = frozenset({"model", "stream", "anthropic_version", "anthropic_beta"})
_EVENT_TYPE = re.compile(r"[A-Za-z0-9_.-]{1,64}")
_METRICS = "amazon-bedrock-invocationMetrics"  # on message_stop: Bedrock's own token counts


def is_claude(model: str) -> bool:
    """Whether a Bedrock model id (foundation model, inference profile or ARN) names Claude."""
    lowered = model.lower()
    return "anthropic." in lowered or "claude" in lowered


def _metric_counts(usage: Usage) -> Counts:
    """Where Bedrock's invocation metrics repeat the usage, for restating a suspicious one."""
    return {
        ("inputTokenCount",): usage.prompt_tokens - usage.cached_tokens - usage.cache_write_tokens,
        ("outputTokenCount",): usage.completion_tokens,
    }


def invoke_body(body: Mapping[str, Any], client_headers: Mapping[str, str] | None) -> bytes:
    """The InvokeModel body for an Anthropic Messages ``body`` and the client's headers."""
    out: dict[str, Any] = {"anthropic_version": ANTHROPIC_VERSION}
    out.update((k, v) for k, v in body.items() if k not in _DROPPED)
    betas: list[str] = []
    given = body.get("anthropic_beta")
    if isinstance(given, list):
        betas += [b for b in given if isinstance(b, str)]
    for name, value in (client_headers or {}).items():
        if name.lower() == "anthropic-beta":
            betas += [b.strip() for b in value.split(",") if b.strip()]
    if betas:
        out["anthropic_beta"] = list(dict.fromkeys(betas))
    return dumps(out)


def read_message(raw: bytes, provider: str) -> tuple[bytes, Usage]:
    """A successful InvokeModel answer: the bytes (unchanged unless a suspicious usage is restated)
    and the usage they report."""
    answer = load_object(raw, provider, exact=True)
    if answer.get("type") == "error":
        raise in_band_error(answer.get("error"), provider)
    if answer.get("type") != "message" or not isinstance(answer.get("content"), list):
        raise UpstreamProtocolError(
            f"provider {provider!r} answered with something that is not an Anthropic message",
            provider=provider,
        )
    usage = read_usage(answer.get("usage"))
    if usage.suspicious:
        raw = restate_json(raw, ("usage",), usage_counts(usage)) or raw
    return raw, usage


class BedrockInvokeRelay:
    """InvokeModelWithResponseStream frames in, the Anthropic SSE stream they carry out."""

    __slots__ = ("_frames", "_provider", "_sse", "failed")

    def __init__(self, provider: str, *, price: Pricer | None = None) -> None:
        self._provider = provider
        self._frames = EventStreamDecoder()
        self._sse = AnthropicStreamRelay(provider, price=price)  # usage, cost, events, done, errors
        self.failed: GatewayError | None = None

    @property
    def done(self) -> bool:
        return self._sse.done

    @done.setter
    def done(self, value: bool) -> None:
        self._sse.done = value

    @property
    def events(self) -> int:
        return self._sse.events

    @events.setter
    def events(self, value: int) -> None:
        self._sse.events = value

    @property
    def usage(self) -> Usage | None:
        return self._sse.usage

    def feed(self, data: bytes) -> bytes:
        try:
            messages = self._frames.feed(data)
        except EventStreamError as exc:
            raise self._garbage(f"sent a malformed event stream: {exc}") from None
        out = bytearray()
        for headers, payload in messages:
            if self.done:
                break  # nothing goes to the client after message_stop or an error
            out += self._message(headers, payload)
        return bytes(out)

    def finish(self) -> bytes:
        if self.done:
            return b""
        if self._frames.pending:
            reason = "ended in the middle of an event-stream message"
        else:
            reason = "ended the stream before message_stop"
        return self.error(self._garbage(reason))

    def error(self, exc: GatewayError) -> bytes:
        if self.failed is None:
            self.failed = exc
        return self._sse.error(exc)

    def _message(self, headers: dict[str, HeaderValue], payload: bytes) -> bytes:
        kind = headers.get(":message-type")
        if kind == "exception":
            name = headers.get(":exception-type")
            self.failed = error_from_stream(name if isinstance(name, str) else "", payload, self._provider)
            return self.error(self.failed)
        if kind == "error":
            code, message = headers.get(":error-code"), headers.get(":error-message")
            self.failed = make_error(
                code if isinstance(code, str) else None,
                message if isinstance(message, str) else "",
                self._provider,
                status=None,
            )
            return self.error(self.failed)
        if kind != "event" or headers.get(":event-type") != "chunk":
            return b""  # events this gateway does not use
        event = self._chunk(payload)
        out = self._sse.feed(event)
        if self._sse.failed is not None:
            self.failed = self._sse.failed
        return out

    def _chunk(self, payload: bytes) -> bytes:
        """The Anthropic SSE event a ``chunk`` payload carries."""
        try:
            wrapper = orjson.loads(payload)
            data = base64.b64decode(wrapper["bytes"], validate=True)
            event = loads_exact(data)
        except (ValueError, KeyError, TypeError, binascii.Error):
            raise self._garbage("sent a chunk that is not base64 JSON") from None
        kind = event.get("type") if isinstance(event, dict) else None
        if not isinstance(kind, str) or not _EVENT_TYPE.fullmatch(kind):
            raise self._garbage("sent a chunk event without a valid type")
        usage = self._sse.usage
        metrics = event.get(_METRICS) if kind == "message_stop" else None
        if usage is not None and usage.suspicious and isinstance(metrics, dict):
            event[_METRICS] = restate(metrics, _metric_counts(usage))
            data = dumps(event)
        if b"\n" in data or b"\r" in data:  # an SSE data line cannot hold a line break
            data = dumps(event)
        return b"event: " + kind.encode() + b"\ndata: " + data + b"\n\n"

    def _garbage(self, what: str) -> UpstreamProtocolError:
        return UpstreamProtocolError(f"provider {self._provider!r} {what}", provider=self._provider)
