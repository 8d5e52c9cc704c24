"""The OpenAI Chat Completions codec: the ``InboundCodec`` of ``/v1/chat/completions`` (also
serving legacy completions and embeddings, which only pass through after ``checks``).

Used when an OpenAI client's request goes to another family: ``decode`` turns the client's body
into canonical form, ``encode`` / ``stream`` write canonical answers back as the client expects.
"""

from __future__ import annotations

from switchgear.apis.openai.decode import decode_request
from switchgear.apis.openai.encode import encode_answer
from switchgear.apis.openai.errors import error_body
from switchgear.apis.openai.stream import ChatStreamEncoder
from switchgear.catalog.costs import Pricer
from switchgear.core.types import ChatRequest


class OpenAIChatCodec:
    api = "chat"
    family = "openai"
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
    ) -> ChatStreamEncoder:
        return ChatStreamEncoder(model, include_usage, price)
