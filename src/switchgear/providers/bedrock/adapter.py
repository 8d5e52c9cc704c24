"""The AWS Bedrock wire family adapter: Converse and ConverseStream, signed with SigV4.

``build_request`` posts the Converse body (``request.py``) to
``{base}/model/{modelId}/converse`` or ``/converse-stream`` — the model id percent-encoded
(``:`` → ``%3A``, ``/`` → ``%2F``) — with ``content-type: application/json``, ``accept`` JSON or
``application/vnd.amazon.eventstream``, the provider's own headers, and either a Bedrock API key
(``Authorization: Bearer``) or a SigV4 signature (service ``bedrock``) over all of them from the
provider's AWS credentials: its static keys, else the snapshot of its credential chain
(``credentials.AwsCredentialChain``, awaited by the engine just before, so fresh).
``base`` is the provider's ``base_url``, else the regional endpoint.
Anthropic Messages requests for Claude models pass through instead, as InvokeModel requests
(``relay.py``) to ``/invoke`` or ``/invoke-with-response-stream``, signed the same way.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import orjson

from switchgear.core.errors import InvalidRequest, UpstreamError, UpstreamStatusError
from switchgear.core.types import ChatRequest, ChatResponse
from switchgear.core.usage import Usage
from switchgear.providers.base import Adapter, Deployment, Endpoint
from switchgear.providers.bedrock.credentials import AwsCredentialChain, AwsKeys
from switchgear.providers.bedrock.errors import map_error
from switchgear.providers.bedrock.relay import BedrockInvokeRelay, invoke_body, is_claude, read_message
from switchgear.providers.bedrock.request import request_body
from switchgear.providers.bedrock.response import parse_response
from switchgear.providers.bedrock.settings import BedrockSettings
from switchgear.providers.bedrock.sigv4 import host_header, sign
from switchgear.providers.bedrock.stream import BedrockStreamDecoder
from switchgear.transport.client import HttpRequest

EVENT_STREAM = "application/vnd.amazon.eventstream"


def _utc_now() -> datetime:
    return datetime.now(UTC)


class BedrockAdapter:
    family = "bedrock"
    passthrough_endpoints: frozenset[str] = frozenset({"messages"})  # Claude only: see passes_through

    def __init__(self, clock: Callable[[], datetime] = _utc_now) -> None:
        self._clock = clock  # signing time and ``created``; fixed in tests

    def build_request(
        self, request: ChatRequest, deployment: Deployment, *, access_token: str | None = None
    ) -> HttpRequest:
        """The Converse request (``access_token`` is unused: the keys come from the provider)."""
        info = deployment.info
        body = orjson.dumps(
            request_body(
                request, deployment.model, max_output=info.max_output_tokens if info is not None else None
            )
        )
        operation = "converse-stream" if request.stream else "converse"
        return self._post(deployment, operation, body, stream=request.stream)

    def passes_through(self, api: str, deployment: Deployment) -> bool:
        """Anthropic Messages pass through to Claude models only (InvokeModel); the rest translate."""
        return api == "messages" and is_claude(deployment.model)

    def _post(self, deployment: Deployment, operation: str, body: bytes, *, stream: bool) -> HttpRequest:
        """The request to ``/model/{modelId}/{operation}``, with the provider's key or SigV4."""
        provider = deployment.provider
        conf = provider.settings
        if not isinstance(conf, BedrockSettings):
            raise UpstreamError(f"provider {provider.name!r} has no Bedrock settings", provider=provider.name)
        base = (provider.base_url or conf.default_base_url()).rstrip("/")
        url = f"{base}/model/{quote(deployment.model, safe='')}/{operation}"
        headers = {
            "content-type": "application/json",
            "accept": EVENT_STREAM if stream else "application/json",
            **provider.headers,
            "host": host_header(url),
        }
        if provider.api_key:
            headers["authorization"] = "Bearer " + provider.api_key
            return HttpRequest("POST", url, headers, body)
        keys = _keys(provider.name, conf, provider.token_source)
        headers.update(
            sign(
                "POST",
                url,
                headers,
                body,
                access_key=keys.access_key,
                secret_key=keys.secret_key,
                session_token=keys.session_token,
                region=conf.region,
                now=self._clock(),
            )
        )
        return HttpRequest("POST", url, headers, body)

    def parse_response(self, raw: bytes, deployment: Deployment) -> ChatResponse:
        return parse_response(
            raw, model=deployment.model, created=self._created(), provider=deployment.provider.name
        )

    def stream_decoder(self, deployment: Deployment) -> BedrockStreamDecoder:
        return BedrockStreamDecoder(deployment.provider.name, deployment.model, self._created())

    def map_error(
        self, status: int, headers: Mapping[str, str], body: bytes, provider: str
    ) -> UpstreamStatusError:
        return map_error(status, headers, body, provider)

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
        """An Anthropic Messages body as a Claude InvokeModel request (Claude always reports usage,
        so ``want_usage`` changes nothing; ``raw`` is not reused: ``model`` and ``stream`` go)."""
        if endpoint == "count_tokens":
            raise InvalidRequest("token counting is not available for Bedrock")
        if endpoint != "messages":
            raise InvalidRequest(f"the bedrock family does not serve the {endpoint!r} endpoint")
        stream = body.get("stream") is True
        operation = "invoke-with-response-stream" if stream else "invoke"
        return self._post(deployment, operation, invoke_body(body, client_headers), stream=stream)

    def read_answer(
        self, endpoint: Endpoint, client_body: dict[str, Any], raw: bytes, deployment: Deployment
    ) -> tuple[bytes, Usage]:
        """The Anthropic message InvokeModel answered, unchanged, and its usage."""
        return read_message(raw, deployment.provider.name)

    def stream_relay(
        self, deployment: Deployment, *, client_wants_usage: bool, endpoint: Endpoint = "chat"
    ) -> BedrockInvokeRelay:
        """The InvokeModel stream as Anthropic SSE (Claude streams always carry usage)."""
        return BedrockInvokeRelay(deployment.provider.name, price=deployment.price)

    def _created(self) -> int:
        return int(self._clock().timestamp())


def _keys(name: str, conf: BedrockSettings, source: object) -> AwsKeys:
    """The keys to sign with: the settings' static keys, else the credential chain's snapshot."""
    access_key, secret_key = conf.aws_access_key_id, conf.aws_secret_access_key
    if access_key and secret_key:
        token = conf.aws_session_token
        return AwsKeys(
            access_key.get_secret_value(),
            secret_key.get_secret_value(),
            token.get_secret_value() if token else None,
        )
    if isinstance(source, AwsCredentialChain):
        return source.keys()
    raise UpstreamError(
        f"provider {name!r} has no credentials: set api_key, or aws_access_key_id and aws_secret_access_key",
        provider=name,
    )


if TYPE_CHECKING:
    _conforms: Adapter = BedrockAdapter()  # mypy checks the protocol here
