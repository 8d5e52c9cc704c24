"""The provider registry: config types to runtime providers, and discovery from the environment."""

from __future__ import annotations

from typing import Any

import pytest

from switchgear.config import ConfigError, Timeouts, parse_settings
from switchgear.providers import PROVIDER_SETTINGS, Provider, build_providers, discover_from_env, served_types
from switchgear.providers.openai.settings import AzureSettings
from switchgear.providers.settings import FamilySettings

SERVED = [
    "anthropic", "azure", "bedrock", "cerebras", "cohere", "deepseek", "fireworks", "gemini", "groq",
    "llamacpp", "lmstudio", "mistral", "ollama", "openai", "openrouter", "perplexity", "together",
    "vertex", "vllm", "xai",
]  # fmt: skip

# The vendor's documented OpenAI-compatible endpoint (what its own SDK takes as base_url).
BASE_URLS = {
    "openai": "https://api.openai.com/v1",
    "groq": "https://api.groq.com/openai/v1",
    "mistral": "https://api.mistral.ai/v1",
    "deepseek": "https://api.deepseek.com/v1",
    "together": "https://api.together.xyz/v1",
    "fireworks": "https://api.fireworks.ai/inference/v1",
    "openrouter": "https://openrouter.ai/api/v1",
    "xai": "https://api.x.ai/v1",
    "cerebras": "https://api.cerebras.ai/v1",
    "perplexity": "https://api.perplexity.ai",
    "ollama": "http://127.0.0.1:11434/v1",
    "vllm": "http://127.0.0.1:8000/v1",
    "lmstudio": "http://127.0.0.1:1234/v1",
    "llamacpp": "http://127.0.0.1:8080/v1",
}
LOCAL = {"ollama", "vllm", "lmstudio", "llamacpp"}
CANARY = "sk-canary-d41d8cd98f00b204"


def build(providers: dict[str, Any], **rest: Any) -> dict[str, Provider]:
    return build_providers(parse_settings({"providers": providers, **rest}, {}, PROVIDER_SETTINGS))


def build_error(providers: dict[str, Any]) -> str:
    with pytest.raises(ConfigError) as caught:
        build(providers)
    return str(caught.value)


def test_served_types() -> None:
    assert served_types() == SERVED


@pytest.mark.parametrize("vendor", sorted(BASE_URLS))
def test_every_vendor_profile_is_a_type_that_fills_its_base_url(vendor: str) -> None:
    provider = build({"p": {"type": vendor, "api_key": CANARY}})["p"]
    assert provider.name == "p"
    assert provider.profile.name == vendor
    assert provider.profile.family == "openai"
    assert provider.base_url == BASE_URLS[vendor]
    assert provider.api_key == CANARY
    assert type(provider.settings) is FamilySettings  # no keys beyond the common ones


@pytest.mark.parametrize("vendor", sorted(BASE_URLS))
def test_base_url_from_the_config_wins(vendor: str) -> None:
    provider = build({"p": {"type": vendor, "api_key": "k", "base_url": "https://proxy.example/v1/"}})["p"]
    assert provider.base_url == "https://proxy.example/v1"


@pytest.mark.parametrize("vendor", sorted(LOCAL))
def test_local_servers_need_no_key(vendor: str) -> None:
    provider = build({"local": {"type": vendor}})["local"]
    assert provider.api_key is None
    assert provider.base_url == BASE_URLS[vendor]


@pytest.mark.parametrize("vendor", sorted(set(BASE_URLS) - LOCAL))
def test_missing_key_names_the_key_path(vendor: str) -> None:
    assert build_error({"work": {"type": vendor}}) == (
        f"invalid configuration:\n  providers.work.api_key: required for type {vendor!r}"
    )


def test_empty_key_counts_as_missing() -> None:
    assert "providers.p.api_key: required for type 'openai'" in build_error(
        {"p": {"type": "openai", "api_key": ""}}
    )


def test_azure_needs_a_base_url() -> None:
    message = build_error({"az": {"type": "azure", "api_key": "k"}})
    assert message.startswith("invalid configuration:\n  providers.az.base_url: required for type 'azure' (")
    assert "openai.azure.com" in message


def test_azure_defaults_its_api_version() -> None:
    providers = build(
        {
            "az": {"type": "azure", "api_key": "k", "base_url": "https://contoso.openai.azure.com/"},
            "az2": {
                "type": "azure",
                "api_key": "k",
                "base_url": "https://x.openai.azure.com",
                "api_version": "2025-01-01",
            },
        }
    )
    assert providers["az"].settings == AzureSettings(
        type="azure", api_key="k", base_url="https://contoso.openai.azure.com", api_version="2024-10-21"
    )
    assert providers["az"].base_url == "https://contoso.openai.azure.com"
    assert providers["az"].profile.auth == "api-key"
    assert isinstance(providers["az2"].settings, AzureSettings)
    assert providers["az2"].settings.api_version == "2025-01-01"


def test_unknown_type_lists_the_served_types() -> None:
    assert build_error({"p": {"type": "opneai", "api_key": "k"}}) == (
        "invalid configuration:\n  providers.p.type: unknown type 'opneai'; served types: "
        + ", ".join(SERVED)
    )


def test_every_bad_provider_is_reported_together() -> None:
    message = build_error({"a": {"type": "kohere"}, "b": {"type": "groq"}, "c": {"type": "ollama"}})
    lines = message.splitlines()
    assert lines[0] == "invalid configuration:"
    assert [line.split(":")[0].strip() for line in lines[1:]] == ["providers.a.type", "providers.b.api_key"]


def test_provider_timeouts_are_merged_over_the_upstream_defaults() -> None:
    providers = build(
        {
            "slow": {"type": "ollama", "timeouts": {"first_byte": "15m", "chunk_gap": "90s"}},
            "plain": {"type": "ollama"},
        },
        upstream={"timeouts": {"connect": "2s", "total": "20m"}},
    )
    assert providers["slow"].timeouts == Timeouts(connect=2.0, first_byte=900.0, chunk_gap=90.0, total=1200.0)
    assert providers["plain"].timeouts == Timeouts(
        connect=2.0, first_byte=600.0, chunk_gap=120.0, total=1200.0
    )


def test_headers_are_lower_cased_and_kept_out_of_repr() -> None:
    provider = build(
        {"p": {"type": "openai", "api_key": CANARY, "headers": {"OpenAI-Organization": "org-" + CANARY}}}
    )["p"]
    assert dict(provider.headers) == {"openai-organization": "org-" + CANARY}
    assert CANARY not in repr(provider)


# --- discovery ----------------------------------------------------------------------------------

ENV = {
    "OPENAI_API_KEY": CANARY + "-openai",
    "GROQ_API_KEY": "gsk_" + CANARY + "_groq",
    "GROQ_BASE_URL": "https://groq-proxy.internal/openai/v1",
    "OLLAMA_BASE_URL": "http://gpu-box:11434/v1",
    "AZURE_OPENAI_API_KEY": CANARY + "-azure",
    "AZURE_OPENAI_ENDPOINT": "https://contoso.openai.azure.com",
    "ANTHROPIC_API_KEY": "sk-ant-" + CANARY,
    "PATH": "/usr/bin",
}


def test_discovery_finds_providers_from_well_known_variables() -> None:
    found, _ = discover_from_env(ENV)
    assert found == {
        "openai": {"type": "openai", "api_key": CANARY + "-openai"},
        "groq": {
            "type": "groq",
            "api_key": "gsk_" + CANARY + "_groq",
            "base_url": "https://groq-proxy.internal/openai/v1",
        },
        "ollama": {"type": "ollama", "base_url": "http://gpu-box:11434/v1"},
        "azure": {
            "type": "azure",
            "api_key": CANARY + "-azure",
            "base_url": "https://contoso.openai.azure.com",
        },
        "anthropic": {"type": "anthropic", "api_key": "sk-ant-" + CANARY},
    }


def test_discovery_notes_report_findings_and_unserved_keys_without_values() -> None:
    _, notes = discover_from_env(ENV)
    assert sorted(notes) == sorted(
        [
            "OpenAI: found OPENAI_API_KEY",
            "Azure OpenAI: found a key and endpoint",
            "Groq: found GROQ_API_KEY",
            "Ollama: found OLLAMA_BASE_URL",
            "Anthropic: found ANTHROPIC_API_KEY",
        ]
    )
    assert not any(CANARY in note for note in notes)


def test_discovered_settings_build_working_providers() -> None:
    found, _ = discover_from_env(ENV)
    providers = build_providers(parse_settings({"providers": found}, {}, PROVIDER_SETTINGS))
    assert {name: p.base_url for name, p in providers.items()} == {
        "openai": "https://api.openai.com/v1",
        "groq": "https://groq-proxy.internal/openai/v1",
        "ollama": "http://gpu-box:11434/v1",
        "azure": "https://contoso.openai.azure.com",
        "anthropic": "https://api.anthropic.com",
    }
    assert isinstance(providers["azure"].settings, AzureSettings)
    assert providers["azure"].settings.api_version == "2024-10-21"
    assert providers["ollama"].api_key is None


def test_discovery_of_nothing() -> None:
    assert discover_from_env({"PATH": "/usr/bin", "HOME": "/root"}) == ({}, [])


def test_local_server_is_not_assumed_without_its_base_url() -> None:
    found, _ = discover_from_env({"OPENAI_API_KEY": "k"})
    assert set(found) == {"openai"}


def test_azure_key_without_endpoint_is_skipped_with_a_note() -> None:
    found, notes = discover_from_env({"AZURE_OPENAI_API_KEY": CANARY})
    assert found == {}
    assert notes == ["Azure OpenAI: found a key but no endpoint (set AZURE_OPENAI_ENDPOINT); skipped"]


def test_azure_api_version_from_the_openai_sdk_variable() -> None:
    found, _ = discover_from_env(
        {
            "AZURE_OPENAI_API_KEY": "k",
            "AZURE_OPENAI_ENDPOINT": "https://x.openai.azure.com",
            "OPENAI_API_VERSION": "2025-03-01-preview",
        }
    )
    assert found["azure"]["api_version"] == "2025-03-01-preview"


def test_native_protocol_keys_are_discovered() -> None:
    found, notes = discover_from_env(
        {"ANTHROPIC_API_KEY": CANARY, "GEMINI_API_KEY": CANARY, "COHERE_API_KEY": "c"}
    )
    assert found == {
        "anthropic": {"type": "anthropic", "api_key": CANARY},
        "gemini": {"type": "gemini", "api_key": CANARY},
        "cohere": {"type": "cohere", "api_key": "c"},
    }
    assert sorted(notes) == [
        "Anthropic: found ANTHROPIC_API_KEY",
        "Cohere: found COHERE_API_KEY",
        "Google Gemini: found GEMINI_API_KEY",
    ]
