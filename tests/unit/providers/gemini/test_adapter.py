"""GeminiAdapter as a whole: the profiles it serves, the protocol surface, no passthrough."""

from __future__ import annotations

import pytest

from switchgear.providers.gemini import (
    PROFILES,
    GeminiAdapter,
    GeminiProfile,
    GeminiStreamDecoder,
    vertex_base_url,
)
from tests.unit.providers.gemini.support import ADAPTER, deployment


def test_profiles() -> None:
    gemini, vertex = PROFILES["gemini"], PROFILES["vertex"]
    assert isinstance(gemini, GeminiProfile) and isinstance(vertex, GeminiProfile)
    assert (gemini.family, gemini.title, gemini.base_url, gemini.env_key, gemini.auth) == (
        "gemini",
        "Google Gemini",
        "https://generativelanguage.googleapis.com",
        "GEMINI_API_KEY",
        "api-key",
    )
    assert (gemini.api, gemini.function_ids, gemini.key_required) == ("gemini", True, True)
    assert (vertex.family, vertex.title, vertex.base_url, vertex.env_key, vertex.auth) == (
        "gemini",
        "Google Vertex AI",
        None,
        None,
        "bearer",
    )
    assert (vertex.api, vertex.function_ids, vertex.key_required) == ("vertex", False, False)


@pytest.mark.parametrize(
    ("location", "url"),
    [
        ("global", "https://aiplatform.googleapis.com"),
        ("us-central1", "https://us-central1-aiplatform.googleapis.com"),
        ("europe-west4", "https://europe-west4-aiplatform.googleapis.com"),
        ("us", "https://aiplatform.us.rep.googleapis.com"),
        ("eu", "https://aiplatform.eu.rep.googleapis.com"),
    ],
)
def test_vertex_base_url(location: str, url: str) -> None:
    assert vertex_base_url(location) == url


def test_adapter_surface() -> None:
    adapter = GeminiAdapter()
    assert adapter.family == "gemini"
    assert adapter.passthrough_endpoints == frozenset()
    assert isinstance(adapter.stream_decoder(deployment()), GeminiStreamDecoder)


def test_passthrough_is_never_served() -> None:
    dep = deployment()
    with pytest.raises(RuntimeError, match="GeminiAdapter has no passthrough"):
        ADAPTER.build_passthrough("chat", {}, dep, want_usage=True)
    with pytest.raises(RuntimeError, match="GeminiAdapter has no passthrough"):
        ADAPTER.read_answer("chat", {}, b"{}", dep)
    with pytest.raises(RuntimeError, match="GeminiAdapter has no passthrough"):
        ADAPTER.stream_relay(dep, client_wants_usage=True)
