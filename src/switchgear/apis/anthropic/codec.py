"""The Anthropic Messages codec: the ``InboundCodec`` of ``/v1/messages`` and its ``count_tokens``."""

from __future__ import annotations

from typing import Any

from switchgear.apis.anthropic.decode import decode_request
from switchgear.apis.anthropic.encode import encode_answer
from switchgear.apis.anthropic.errors import error_body
from switchgear.apis.anthropic.stream import MessagesStreamEncoder
from switchgear.apis.anthropic.tokens import count_tokens_estimate
from switchgear.catalog.costs import Pricer
from switchgear.core.types import ChatRequest, ChatResponse


class AnthropicMessagesCodec:
    api = "messages"
    family = "anthropic"
    decode = staticmethod(decode_request)
    error_body = staticmethod(error_body)
    count_tokens_estimate = staticmethod(count_tokens_estimate)

    def decode_count_tokens(self, body: dict[str, Any], headers: dict[str, str]) -> ChatRequest:
        """A ``/v1/messages/count_tokens`` body (no ``max_tokens``) in canonical form."""
        return decode_request(body, headers, count_only=True)

    def encode_response(
        self,
        response: ChatResponse,
        model: str,
        *,
        request: ChatRequest | None = None,
        cost: int | None = None,
    ) -> bytes:
        return encode_answer(response, model, cost=cost)

    def stream_encoder(
        self,
        model: str,
        *,
        include_usage: bool,
        request: ChatRequest | None = None,
        price: Pricer | None = None,
    ) -> MessagesStreamEncoder:
        return MessagesStreamEncoder(model, price)  # Anthropic streams always carry usage
