"""The Anthropic Messages codec: the ``InboundCodec`` of ``/v1/messages`` and its ``count_tokens``."""

from __future__ import annotations

from typing import Any

from switchgear.apis.anthropic.decode import decode_request
from switchgear.apis.anthropic.encode import encode_answer
from switchgear.apis.anthropic.errors import error_body
from switchgear.apis.anthropic.stream import MessagesStreamEncoder
from switchgear.apis.anthropic.tokens import count_tokens_estimate
from switchgear.core.errors import GatewayError
from switchgear.core.types import (
    ChatRequest,
    ChatResponse,
)


class AnthropicMessagesCodec:
    api = "messages"
    family = "anthropic"

    def decode(self, body: dict[str, Any], headers: dict[str, str]) -> ChatRequest:
        return decode_request(body, headers)

    def decode_count_tokens(self, body: dict[str, Any], headers: dict[str, str]) -> ChatRequest:
        """A ``/v1/messages/count_tokens`` body (no ``max_tokens``) in canonical form."""
        return decode_request(body, headers, count_only=True)

    def encode_response(
        self, response: ChatResponse, model: str, *, request: ChatRequest | None = None
    ) -> bytes:
        return encode_answer(response, model)

    def stream_encoder(
        self, model: str, *, include_usage: bool, request: ChatRequest | None = None
    ) -> MessagesStreamEncoder:
        return MessagesStreamEncoder(model)  # Anthropic streams always carry usage

    def error_body(self, exc: GatewayError) -> bytes:
        return error_body(exc)

    @staticmethod
    def count_tokens_estimate(request: ChatRequest) -> int:
        return count_tokens_estimate(request)
