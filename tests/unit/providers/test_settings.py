"""Each family's own settings model: validated as the provider's type, from YAML to the adapter."""

from __future__ import annotations

import datetime
from pathlib import Path
from typing import Any

import pydantic
import pytest

from switchgear.config import ConfigError, Settings, load_settings, parse_settings
from switchgear.providers import PROVIDER_SETTINGS, Provider, build_providers
from switchgear.providers.bedrock import BedrockSettings
from switchgear.providers.bedrock.credentials import AwsCredentialChain
from switchgear.providers.gemini import VertexSettings
from switchgear.providers.gemini.credentials import GoogleTokens
from switchgear.providers.openai.settings import AzureSettings
from switchgear.providers.settings import FamilySettings

CANARY = "canary-7f3b9c0d41e2"
BEDROCK = {"type": "bedrock", "aws_access_key_id": "AKIDEXAMPLE", "aws_secret_access_key": CANARY}
VERTEX = {"type": "vertex", "project": "acme", "api_key": "ya29.token"}
AZURE = {"type": "azure", "api_key": "k", "base_url": "https://contoso.openai.azure.com"}
COMMON = "type, base_url, api_key, headers, timeouts, proxy, tls"


def parse(providers: dict[str, Any], environ: dict[str, str] | None = None) -> Settings:
    return parse_settings({"providers": providers}, environ or {}, PROVIDER_SETTINGS)


def build(providers: dict[str, Any], environ: dict[str, str] | None = None) -> dict[str, Provider]:
    return build_providers(parse(providers, environ))


def error_of(providers: dict[str, Any]) -> str:
    with pytest.raises(ConfigError) as caught:
        build(providers)
    return str(caught.value)


def test_the_registry_names_a_model_for_every_type() -> None:
    assert PROVIDER_SETTINGS["bedrock"] is BedrockSettings
    assert PROVIDER_SETTINGS["vertex"] is VertexSettings
    assert PROVIDER_SETTINGS["azure"] is AzureSettings
    others = {name for name, model in PROVIDER_SETTINGS.items() if model is FamilySettings}
    assert others == set(PROVIDER_SETTINGS) - {"bedrock", "vertex", "azure"}
    assert {"openai", "anthropic", "gemini", "cohere", "groq", "ollama"} <= others


# --- bedrock ------------------------------------------------------------------------------------


def test_bedrock_provider_with_its_region_and_credentials() -> None:
    conf = {**BEDROCK, "region": "${AWS_REGION}", "aws_session_token": "${AWS_SESSION_TOKEN}"}
    environ = {"AWS_REGION": "eu-central-1", "AWS_SESSION_TOKEN": "tok-" + CANARY}
    provider = build({"aws": conf}, environ)["aws"]
    settings = provider.settings
    assert isinstance(settings, BedrockSettings)
    assert settings.region == "eu-central-1"
    assert provider.base_url == "https://bedrock-runtime.eu-central-1.amazonaws.com"
    assert isinstance(settings.aws_secret_access_key, pydantic.SecretStr)
    assert settings.aws_secret_access_key.get_secret_value() == CANARY
    assert settings.aws_session_token is not None
    assert settings.aws_session_token.get_secret_value() == "tok-" + CANARY
    dumped = parse({"aws": conf}, environ).model_dump_json()
    assert '"region":"eu-central-1"' in dumped  # a family's keys are part of the settings tree
    assert CANARY not in repr(settings) + repr(provider) + dumped


def test_bedrock_defaults_and_a_given_base_url() -> None:
    providers = build(
        {
            "plain": BEDROCK,
            "empty-region": {**BEDROCK, "region": "${AWS_REGION:-}"},
            "vpc": {**BEDROCK, "region": "ap-south-1", "base_url": "https://vpce-1.bedrock.example/"},
            "key": {"type": "bedrock", "api_key": "ABSK-key"},
        }
    )
    assert providers["plain"].base_url == "https://bedrock-runtime.us-east-1.amazonaws.com"
    assert providers["empty-region"].base_url == "https://bedrock-runtime.us-east-1.amazonaws.com"
    assert providers["vpc"].base_url == "https://vpce-1.bedrock.example"
    vpc = providers["vpc"].settings
    assert isinstance(vpc, BedrockSettings) and vpc.region == "ap-south-1"  # still the signing region
    assert providers["key"].api_key == "ABSK-key"


def test_bedrock_half_a_key_pair_names_the_provider() -> None:
    assert error_of({"aws": {"type": "bedrock", "aws_access_key_id": "AKID", "region": "eu-west-1"}}) == (
        "invalid configuration:\n  providers.aws: bedrock needs both aws_access_key_id and "
        "aws_secret_access_key, or neither"
    )
    assert error_of({"aws": {**BEDROCK, "profile": "dev"}}) == (
        "invalid configuration:\n  providers.aws: bedrock takes profile or aws_access_key_id, not both"
    )


def test_bedrock_without_static_keys_uses_the_aws_credential_chain() -> None:
    providers = build({"aws": {"type": "bedrock", "region": "eu-west-1", "profile": "dev"}, "keys": BEDROCK})
    assert isinstance(providers["aws"].token_source, AwsCredentialChain)
    assert providers["keys"].token_source is None  # static keys: nothing to find or refresh


def test_bedrock_key_typo_suggests_its_own_key() -> None:
    assert error_of({"aws": {**BEDROCK, "regoin": "eu-west-1"}}) == (
        "invalid configuration:\n  providers.aws.regoin: unknown key (did you mean 'region'?); allowed: "
        f"{COMMON}, region, aws_access_key_id, aws_secret_access_key, aws_session_token, profile"
    )


# --- vertex -------------------------------------------------------------------------------------


def test_vertex_provider_with_its_project_and_location() -> None:
    providers = build(
        {
            "v": {**VERTEX, "location": "europe-west4"},
            "global": VERTEX,
            "eu": {**VERTEX, "location": "eu"},
        }
    )
    settings = providers["v"].settings
    assert isinstance(settings, VertexSettings)
    assert (settings.project, settings.location, settings.credentials_file) == ("acme", "europe-west4", None)
    assert providers["v"].base_url == "https://europe-west4-aiplatform.googleapis.com"
    assert providers["global"].base_url == "https://aiplatform.googleapis.com"
    assert providers["eu"].base_url == "https://aiplatform.eu.rep.googleapis.com"
    assert providers["v"].token_source is None  # api_key is the access token


def test_vertex_needs_a_project_and_a_token() -> None:
    assert error_of({"v": {"type": "vertex", "location": "us-central1", "api_key": "t"}}) == (
        "invalid configuration:\n  providers.v.project: required for type 'vertex'"
    )
    adc = build({"v": {"type": "vertex", "project": "acme"}})["v"]  # Application Default Credentials
    assert isinstance(adc.token_source, GoogleTokens)


def test_vertex_service_account_file_gives_the_provider_a_token_source(tmp_path: Path) -> None:
    path = tmp_path / "sa.json"  # read when the first token is minted, not at start-up
    provider = build({"v": {"type": "vertex", "project": "acme", "credentials_file": str(path)}})["v"]
    assert provider.api_key is None
    assert provider.token_source is not None


def test_gemini_api_takes_no_vertex_keys() -> None:
    assert error_of({"g": {"type": "gemini", "api_key": "AIza", "project": "acme"}}) == (
        "invalid configuration:\n  providers.g.project: unknown key (project is a key of type 'vertex', "
        f"not of 'gemini'); allowed: {COMMON}"
    )


# --- azure --------------------------------------------------------------------------------------


def test_azure_api_version_given_defaulted_and_from_the_environment() -> None:
    providers = build(
        {
            "given": {**AZURE, "api_version": "2025-01-01-preview"},
            "default": AZURE,
            "env": {**AZURE, "api_version": "${OPENAI_API_VERSION:-}"},
            "yaml-date": {**AZURE, "api_version": datetime.date(2025, 1, 1)},  # api_version: 2025-01-01
        }
    )
    versions = {}
    for name, provider in providers.items():
        assert isinstance(provider.settings, AzureSettings)
        versions[name] = provider.settings.api_version
    assert versions == {
        "given": "2025-01-01-preview",
        "default": "2024-10-21",
        "env": "2024-10-21",
        "yaml-date": "2025-01-01",
    }


# --- another family's key -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("conf", "line"),
    [
        (
            {"type": "openai", "api_key": "k", "region": "us-east-1"},
            f"providers.p.region: unknown key (region is a key of type 'bedrock', not of 'openai'); "
            f"allowed: {COMMON}",
        ),
        (
            {"type": "groq", "api_key": "k", "api_version": "2024-10-21"},
            f"providers.p.api_version: unknown key (api_version is a key of type 'azure', not of 'groq'); "
            f"allowed: {COMMON}",
        ),
        (
            {**BEDROCK, "location": "eu-west-1"},
            "providers.p.location: unknown key (location is a key of type 'vertex', not of 'bedrock'); "
            f"allowed: {COMMON}, region, aws_access_key_id, aws_secret_access_key, aws_session_token, "
            "profile",
        ),
        (
            {**VERTEX, "aws_secret_access_key": CANARY},
            "providers.p.aws_secret_access_key: unknown key (aws_secret_access_key is a key of type "
            f"'bedrock', not of 'vertex'); allowed: {COMMON}, project, location, credentials_file",
        ),
    ],
)
def test_a_key_of_another_family_is_refused_with_its_path(conf: dict[str, Any], line: str) -> None:
    message = error_of({"p": conf})
    assert message == "invalid configuration:\n  " + line
    assert CANARY not in message


def test_every_provider_error_is_reported_at_once(tmp_path: Path) -> None:
    path = tmp_path / "switchgear.yaml"
    path.write_text(
        "providers:\n"
        "  aws: {type: bedrock, region: eu-west-1, aws_secret_access_key: s}\n"
        "  oa: {type: openai, api_key: k, project: acme}\n"
        "  v: {type: vertex, api_key: t}\n",
        encoding="utf-8",
    )
    with pytest.raises(ConfigError) as caught:
        load_settings(path, {}, PROVIDER_SETTINGS)
    assert [line.split(":")[0].strip() for line in str(caught.value).splitlines()[1:]] == [
        "providers.aws",
        "providers.oa.project",
        "providers.v.project",
    ]


# --- the common model ---------------------------------------------------------------------------


def test_family_settings_are_frozen() -> None:
    settings = parse({"aws": BEDROCK}).providers["aws"]
    assert isinstance(settings, BedrockSettings)
    with pytest.raises(pydantic.ValidationError):
        settings.region = "eu-west-1"  # type: ignore[misc]


def test_without_the_table_only_the_common_keys_are_taken() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_settings({"providers": {"aws": BEDROCK}}, {})
    assert "providers.aws.aws_access_key_id: unknown key; allowed: " + COMMON in str(caught.value)


def test_settings_parsed_without_the_table_are_built_as_their_types_model() -> None:
    raw = {"providers": {"az": AZURE, "key": {"type": "bedrock", "api_key": "k"}}}
    providers = build_providers(parse_settings(raw, {}))
    assert isinstance(providers["az"].settings, AzureSettings)
    assert providers["az"].settings.api_version == "2024-10-21"
    assert isinstance(providers["key"].settings, BedrockSettings)
    with pytest.raises(ConfigError) as caught:
        build_providers(parse_settings({"providers": {"v": {"type": "vertex", "api_key": "t"}}}, {}))
    assert str(caught.value) == "invalid configuration:\n  providers.v.project: required for type 'vertex'"
