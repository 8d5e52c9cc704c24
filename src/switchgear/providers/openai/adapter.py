"""The OpenAI wire family adapter: passthrough requests, answer checks, errors, translation.

Same-family requests keep the client's body: only ``model`` is replaced, ``stream_options``
gains ``include_usage`` (so usage is always captured), and a vendor's quirks from its profile
are applied (``max_completion_tokens`` renamed, rejected parameters dropped, embeddings asked
as floats and re-encoded when the vendor has no base64). Requests from other families arrive
canonical and become chat completions (``request``, ``response``, ``stream``); errors are
read by ``errors``. Answers pass through unchanged unless their usage is suspicious (negative,
absurd: ``core.usage``); then it is restated with the numbers the gateway records.
"""

from __future__ import annotations

import base64
import struct
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from switchgear.core.errors import UpstreamError, UpstreamProtocolError
from switchgear.core.jsoncodec import dumps, load_object
from switchgear.core.types import ChatRequest, ChatResponse
from switchgear.core.usage import Usage, restate, restate_json
from switchgear.providers.base import Deployment, Endpoint
from switchgear.providers.errors import MAX_MESSAGE
from switchgear.providers.openai.errors import error_fields, map_error
from switchgear.providers.openai.relay import OpenAIStreamRelay
from switchgear.providers.openai.request import request_body
from switchgear.providers.openai.response import parse_response
from switchgear.providers.openai.responses_relay import ResponsesStreamRelay, read_responses_answer
from switchgear.providers.openai.settings import AzureSettings
from switchgear.providers.openai.stream import OpenAIChatStreamDecoder
from switchgear.transport.client import HttpRequest

_PATHS: dict[str, str] = {
    "chat": "/chat/completions",
    "completions": "/completions",
    "embeddings": "/embeddings",
    "responses": "/responses",
}


class OpenAIAdapter:
    family = "openai"
    passthrough_endpoints = frozenset({"chat", "completions", "embeddings", "responses"})

    def passes_through(self, api: str, deployment: Deployment) -> bool:
        if api not in self.passthrough_endpoints:
            return False
        return api != "responses" or deployment.provider.profile.responses_api

    def build_request(self, request: ChatRequest, deployment: Deployment) -> HttpRequest:
        return self._post("chat", request_body(request, deployment), deployment)

    def parse_response(self, raw: bytes, deployment: Deployment) -> ChatResponse:
        return parse_response(raw, deployment)

    def stream_decoder(self, deployment: Deployment) -> OpenAIChatStreamDecoder:
        return OpenAIChatStreamDecoder(deployment)

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
        profile = deployment.provider.profile
        out = dict(body)
        out["model"] = deployment.model
        if endpoint in ("chat", "completions"):
            if want_usage and out.get("stream") and profile.stream_usage:
                options = out.get("stream_options")
                out["stream_options"] = (
                    {**options, "include_usage": True} if options else {"include_usage": True}
                )
            if not profile.max_completion_tokens and "max_completion_tokens" in out:
                value = out.pop("max_completion_tokens")
                out.setdefault("max_tokens", value)
        elif (
            endpoint == "embeddings"
            and out.get("encoding_format") == "base64"
            and not profile.embeddings_base64
        ):
            out["encoding_format"] = "float"
        for name in profile.drop_params:
            out.pop(name, None)
        return self._post(endpoint, out, deployment)

    def _post(self, endpoint: Endpoint, body: dict[str, Any], deployment: Deployment) -> HttpRequest:
        provider = deployment.provider
        profile = provider.profile
        headers = {"content-type": "application/json", **provider.headers}
        if provider.api_key:
            if profile.auth == "api-key":
                headers["api-key"] = provider.api_key
            else:
                headers["authorization"] = "Bearer " + provider.api_key
        if isinstance(conf := provider.settings, AzureSettings):
            url = (
                f"{provider.base_url}/openai/deployments/{quote(deployment.model, safe='')}{_PATHS[endpoint]}"
            )
            return HttpRequest("POST", url, headers, dumps(body), {"api-version": conf.api_version})
        return HttpRequest("POST", provider.base_url + _PATHS[endpoint], headers, dumps(body))

    def read_answer(
        self, endpoint: Endpoint, client_body: dict[str, Any], raw: bytes, deployment: Deployment
    ) -> tuple[bytes, Usage]:
        provider = deployment.provider.name
        if endpoint == "responses":
            return read_responses_answer(raw, provider)
        answer = load_object(raw, provider)
        expected = "data" if endpoint == "embeddings" else "choices"
        if expected not in answer:
            if "error" in answer:
                message = (error_fields(raw)[0] or "no message")[:MAX_MESSAGE]
                raise UpstreamProtocolError(
                    f"provider {provider!r} answered HTTP 200 with an error: {message}",
                    provider=provider,
                )
            raise UpstreamProtocolError(
                f"provider {provider!r} answered without {expected!r}: not an OpenAI {endpoint} response",
                provider=provider,
            )
        usage = Usage.from_openai(answer.get("usage"))
        # A suspicious usage reaches the client as the numbers the gateway records.
        if (
            endpoint == "embeddings"
            and client_body.get("encoding_format") == "base64"
            and not deployment.provider.profile.embeddings_base64
        ):
            if usage.suspicious:
                answer["usage"] = restate(answer["usage"], usage.openai_counts())
            raw = dumps(_embeddings_to_base64(answer, provider))
        elif usage.suspicious:
            raw = restate_json(raw, ("usage",), usage.openai_counts()) or raw
        return raw, usage

    def stream_relay(
        self, deployment: Deployment, *, client_wants_usage: bool, endpoint: Endpoint = "chat"
    ) -> OpenAIStreamRelay | ResponsesStreamRelay:
        if endpoint == "responses":
            return ResponsesStreamRelay(deployment.provider.name, price=deployment.price)
        return OpenAIStreamRelay(
            deployment.provider.name,
            drop_usage_chunk=not client_wants_usage and deployment.provider.profile.stream_usage,
            price=deployment.price,
        )

    def map_error(self, status: int, headers: Mapping[str, str], body: bytes, provider: str) -> UpstreamError:
        return map_error(status, headers, body, provider)


def _embeddings_to_base64(answer: dict[str, Any], provider: str) -> dict[str, Any]:
    for item in answer.get("data") or []:
        vector = item.get("embedding") if isinstance(item, dict) else None
        if not isinstance(vector, list):
            raise UpstreamProtocolError(
                f"provider {provider!r} sent an embedding that is not a list", provider=provider
            )
        try:
            packed = struct.pack(f"<{len(vector)}f", *vector)
        except (struct.error, TypeError):
            raise UpstreamProtocolError(
                f"provider {provider!r} sent an embedding with non-numeric values", provider=provider
            ) from None
        item["embedding"] = base64.b64encode(packed).decode("ascii")
    return answer
