"""The public surface of the Anthropic family package and its profile."""

from __future__ import annotations

import switchgear.providers.anthropic as package
from switchgear.providers.anthropic import PROFILES, AnthropicAdapter


def test_public_surface() -> None:
    assert sorted(package.__all__) == [
        "AnthropicAdapter",
        "AnthropicStreamDecoder",
        "AnthropicStreamRelay",
        "PROFILES",
    ]
    assert AnthropicAdapter.family == "anthropic"
    assert AnthropicAdapter.passthrough_endpoints == frozenset({"messages", "count_tokens"})


def test_profile() -> None:
    profile = PROFILES["anthropic"]
    assert list(PROFILES) == ["anthropic"]
    assert (profile.family, profile.title, profile.base_url, profile.env_key, profile.auth) == (
        "anthropic",
        "Anthropic",
        "https://api.anthropic.com",
        "ANTHROPIC_API_KEY",
        "api-key",
    )
    assert profile.key_required
