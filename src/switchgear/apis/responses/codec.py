"""The OpenAI Responses codec: the ``InboundCodec`` of ``/v1/responses`` (stateless)."""

from __future__ import annotations

from switchgear.apis.responses.decode import decode_request
from switchgear.apis.responses.encode import encode_answer
from switchgear.apis.responses.errors import error_body
from switchgear.apis.responses.stream import ResponsesStreamEncoder
from switchgear.catalog.costs import Pricer
from switchgear.core.types import ChatRequest


class ResponsesCodec:
    """The ``/v1/responses`` codec. ``request`` on the encoders, when given, fills the echoed settings."""

    api = "responses"
    family = "openai-responses"
    decode = staticmethod(decode_request)
    encode_response = staticmethod(encode_answer)
    error_body = staticmethod(error_body)

    def stream_encoder(
        self,
        model: str,
        *,
        include_usage: bool,
        request: ChatRequest | None = None,
        price: Pricer | None = None,
    ) -> ResponsesStreamEncoder:
        # Responses streams always carry usage in their terminal event: include_usage has no effect.
        return ResponsesStreamEncoder(model, request, price)
