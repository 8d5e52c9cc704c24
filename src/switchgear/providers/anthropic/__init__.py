"""The Anthropic wire family: the Messages API upstream, built from canonical requests or passed through."""

from switchgear.providers.anthropic.adapter import AnthropicAdapter
from switchgear.providers.anthropic.profiles import PROFILES
from switchgear.providers.anthropic.relay import AnthropicStreamRelay
from switchgear.providers.anthropic.stream import AnthropicStreamDecoder

__all__ = [
    "PROFILES",
    "AnthropicAdapter",
    "AnthropicStreamDecoder",
    "AnthropicStreamRelay",
]
