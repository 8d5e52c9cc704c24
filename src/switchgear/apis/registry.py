"""The codec of each client-facing API, by the API's name (the keys of the hot routes)."""

from __future__ import annotations

from switchgear.apis.anthropic import AnthropicMessagesCodec
from switchgear.apis.base import InboundCodec
from switchgear.apis.openai import OpenAIChatCodec
from switchgear.apis.responses import ResponsesCodec


def codecs() -> dict[str, InboundCodec]:
    """One codec per API; chat, legacy completions and embeddings share the OpenAI one."""
    chat = OpenAIChatCodec()
    return {
        "chat": chat,
        "completions": chat,
        "embeddings": chat,
        "messages": AnthropicMessagesCodec(),
        "responses": ResponsesCodec(),
    }
