"""The public surface of the client API packages and the codec of each API."""

from __future__ import annotations

import switchgear.apis.anthropic as anthropic_package
from switchgear.apis import codecs
from switchgear.apis.anthropic import AnthropicMessagesCodec
from switchgear.apis.openai import OpenAIChatCodec
from switchgear.apis.responses import ResponsesCodec


def test_public_surface() -> None:
    assert sorted(anthropic_package.__all__) == ["AnthropicMessagesCodec"]


def test_codecs_by_api() -> None:
    found = codecs()
    assert sorted(found) == ["chat", "completions", "embeddings", "messages", "responses"]
    assert isinstance(found["chat"], OpenAIChatCodec)
    assert found["completions"] is found["chat"] is found["embeddings"]
    assert isinstance(found["messages"], AnthropicMessagesCodec)
    assert isinstance(found["responses"], ResponsesCodec)
    assert {api: codec.family for api, codec in found.items()} == {
        "chat": "openai",
        "completions": "openai",
        "embeddings": "openai",
        "messages": "anthropic",
        "responses": "openai-responses",
    }
