"""The Anthropic wire family adapter: Messages requests translated from canonical form, or passed
through untouched for Anthropic clients, and Anthropic answers, streams and errors read back.

Passthrough keeps the client's body (only ``model`` changes) so thinking blocks, ``cache_control``
and parameters the gateway does not model survive; the client's ``anthropic-version`` and
``anthropic-beta`` headers go along, the provider's key replaces the client's.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from switchgear.core.errors import InvalidRequest, UpstreamError, UpstreamProtocolError
from switchgear.core.jsonbytes import swap_model
from switchgear.core.jsoncodec import dumps, load_object
from switchgear.core.types import ChatRequest, ChatResponse
from switchgear.core.usage import Usage, restate_json
from switchgear.providers.anthropic import errors as _errors
from switchgear.providers.anthropic import request as _request
from switchgear.providers.anthropic import response as _response
from switchgear.providers.anthropic.relay import AnthropicStreamRelay
from switchgear.providers.anthropic.stream import AnthropicStreamDecoder
from switchgear.providers.base import Deployment, Endpoint
from switchgear.transport.client import HttpRequest

_PATHS: dict[str, str] = {
    "messages": _request.MESSAGES_PATH,
    "count_tokens": _request.MESSAGES_PATH + "/count_tokens",
}


class AnthropicAdapter:
    family = "anthropic"
    passthrough_endpoints = frozenset({"messages", "count_tokens"})

    def passes_through(self, api: str, deployment: Deployment) -> bool:
        return api in self.passthrough_endpoints

    def build_request(self, request: ChatRequest, deployment: Deployment) -> HttpRequest:
        return _request.build_request(request, deployment)

    def parse_response(self, raw: bytes, deployment: Deployment) -> ChatResponse:
        return _response.parse_response(raw, deployment)

    def stream_decoder(self, deployment: Deployment) -> AnthropicStreamDecoder:
        return AnthropicStreamDecoder(deployment)

    def build_passthrough(
        self,
        endpoint: Endpoint,
        body: dict[str, Any],
        deployment: Deployment,
        *,
        want_usage: bool,
        client_headers: Mapping[str, str] | None = None,
        raw: bytes | None = None,
    ) -> HttpRequest:
        """The client's Messages (or count_tokens) body with the deployment's model, sent with the
        provider's key. Anthropic always reports usage, so ``want_usage`` changes nothing."""
        path = _PATHS.get(endpoint)
        if path is None:
            raise InvalidRequest(f"the anthropic family does not serve the {endpoint!r} endpoint")
        provider = deployment.provider
        given = {k.lower(): v for k, v in (client_headers or {}).items()}
        headers = _request.upstream_headers(
            provider, beta=given.get("anthropic-beta"), version=given.get("anthropic-version")
        )
        payload = swap_model(raw, body["model"], deployment.model) if raw is not None else None
        if payload is None:
            out = dict(body)
            out["model"] = deployment.model
            payload = dumps(out)
        return HttpRequest("POST", provider.base_url.rstrip("/") + path, headers, payload)

    def read_answer(
        self,
        endpoint: Endpoint,
        client_body: dict[str, Any],
        raw: bytes,
        deployment: Deployment,
    ) -> tuple[bytes, Usage]:
        """The upstream bytes and the usage they report (count_tokens costs nothing); the bytes are
        unchanged unless a suspicious usage is restated with the numbers the gateway records."""
        provider = deployment.provider.name
        answer = load_object(raw, provider, exact=True)
        if answer.get("type") == "error":
            raise _errors.in_band_error(answer.get("error"), provider)
        if endpoint == "count_tokens":
            if not isinstance(answer.get("input_tokens"), int):
                raise UpstreamProtocolError(
                    f"provider {provider!r} answered count_tokens without 'input_tokens'", provider=provider
                )
            return raw, Usage()
        if answer.get("type") != "message" or not isinstance(answer.get("content"), list):
            raise UpstreamProtocolError(
                f"provider {provider!r} answered with something that is not an Anthropic message",
                provider=provider,
            )
        usage = _response.read_usage(answer.get("usage"))
        if usage.suspicious:
            raw = restate_json(raw, ("usage",), _response.usage_counts(usage)) or raw
        return raw, usage

    def stream_relay(
        self, deployment: Deployment, *, client_wants_usage: bool, endpoint: Endpoint = "chat"
    ) -> AnthropicStreamRelay:
        """Anthropic streams always carry usage; the client gets them as they are."""
        return AnthropicStreamRelay(deployment.provider.name, price=deployment.price)

    def map_error(self, status: int, headers: Mapping[str, str], body: bytes, provider: str) -> UpstreamError:
        return _errors.map_error(status, headers, body, provider)
