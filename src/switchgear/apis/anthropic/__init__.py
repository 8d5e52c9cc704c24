"""The Anthropic Messages client API (``POST /v1/messages`` and its ``count_tokens``)."""

from switchgear.apis.anthropic.codec import AnthropicMessagesCodec

__all__ = ["AnthropicMessagesCodec"]
