"""The registry: provider ``type`` names to wire-family adapters and vendor profiles.

This is the one place that knows which types exist. ``build_providers`` turns validated
settings into runtime ``Provider`` objects (checking what only the registry can check: the type
is served, Azure has its URL, a key is present where the vendor needs one);
``discover_from_env`` builds provider settings from well-known environment variables.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from switchgear.config.load import ConfigError
from switchgear.config.model import Settings
from switchgear.providers.anthropic import PROFILES as ANTHROPIC_PROFILES
from switchgear.providers.anthropic import AnthropicAdapter
from switchgear.providers.base import Adapter, Profile, Provider
from switchgear.providers.bedrock import PROFILES as BEDROCK_PROFILES
from switchgear.providers.bedrock import BedrockAdapter
from switchgear.providers.bedrock.profiles import base_url_for, region_of
from switchgear.providers.cohere import PROFILES as COHERE_PROFILES
from switchgear.providers.cohere import CohereAdapter
from switchgear.providers.gemini import PROFILES as GEMINI_PROFILES
from switchgear.providers.gemini import GeminiAdapter
from switchgear.providers.gemini.credentials import ServiceAccountTokens
from switchgear.providers.gemini.profiles import location_of, vertex_base_url
from switchgear.providers.openai import PROFILES as OPENAI_PROFILES
from switchgear.providers.openai import OpenAIAdapter
from switchgear.transport.network import Networks

_ADAPTERS: dict[str, Adapter] = {
    "openai": OpenAIAdapter(),
    "anthropic": AnthropicAdapter(),
    "bedrock": BedrockAdapter(),
    "gemini": GeminiAdapter(),
    "cohere": CohereAdapter(),
}
PROFILES: dict[str, Profile] = {
    **OPENAI_PROFILES,
    **ANTHROPIC_PROFILES,
    **BEDROCK_PROFILES,
    **GEMINI_PROFILES,
    **COHERE_PROFILES,
}

AZURE_DEFAULT_API_VERSION = "2024-10-21"


def served_types() -> list[str]:
    return sorted(PROFILES)


def profile_for(type_: str) -> Profile:
    profile = PROFILES.get(type_)
    if profile is None:
        raise ConfigError(f"unknown type {type_!r}; served types: {', '.join(served_types())}")
    return profile


def build_providers(settings: Settings) -> dict[str, Provider]:
    providers: dict[str, Provider] = {}
    errors: list[str] = []
    try:
        networks = Networks(settings.upstream)
    except ValueError as exc:
        raise ConfigError(f"invalid configuration:\n  upstream.{exc}") from None
    for name, conf in settings.providers.items():
        where = f"providers.{name}"
        try:
            profile = profile_for(conf.type)
        except ConfigError as exc:
            errors.append(f"{where}.type: {exc}")
            continue
        options = {
            k: v
            for k, v in (
                ("project", conf.project),
                ("location", conf.location),
                ("credentials_file", conf.credentials_file),
                ("region", conf.region),
            )
            if v
        }
        credentials = {
            k: v.get_secret_value()
            for k, v in (
                ("aws_access_key_id", conf.aws_access_key_id),
                ("aws_secret_access_key", conf.aws_secret_access_key),
                ("aws_session_token", conf.aws_session_token),
            )
            if v is not None
        }
        base_url = conf.base_url or profile.base_url or _derived_base_url(profile, options)
        if base_url is None:
            errors.append(f"{where}.base_url: required for type {conf.type!r} ({profile.notes})")
            continue
        api_key = conf.api_key.get_secret_value() if conf.api_key else None
        if profile.key_required and not api_key:
            errors.append(f"{where}.api_key: required for type {conf.type!r}")
            continue
        if (
            profile.family == "bedrock"
            and not api_key
            and not ("aws_access_key_id" in credentials and "aws_secret_access_key" in credentials)
        ):
            errors.append(
                f"{where}: bedrock needs aws_access_key_id and aws_secret_access_key "
                "(or api_key, a Bedrock API key)"
            )
            continue
        token_source = None
        if profile.name == "vertex":
            if not conf.project:
                errors.append(f"{where}.project: required for type 'vertex'")
                continue
            if conf.credentials_file:
                try:
                    token_source = ServiceAccountTokens(conf.credentials_file, provider=name).token
                except ConfigError as exc:
                    errors.append(f"{where}.credentials_file: {exc}")
                    continue
            elif not api_key:
                errors.append(
                    f"{where}: vertex needs credentials_file (a service account) or api_key (an access token)"
                )
                continue
        api_version = conf.api_version
        if profile.url_style == "azure" and not api_version:
            api_version = AZURE_DEFAULT_API_VERSION
        timeouts = (
            conf.timeouts.over(settings.upstream.timeouts) if conf.timeouts else settings.upstream.timeouts
        )
        try:
            network = networks.network(conf.proxy, conf.tls)
        except ValueError as exc:
            errors.append(f"{where}.{exc}")
            continue
        providers[name] = Provider(
            name=name,
            profile=profile,
            adapter=_ADAPTERS[profile.family],
            base_url=base_url,
            api_key=api_key,
            api_version=api_version,
            headers={k.lower(): v.get_secret_value() for k, v in conf.headers.items()},
            timeouts=timeouts,
            options=options,
            credentials=credentials,
            token_source=token_source,
            network=network,
        )
    if errors:
        raise ConfigError("invalid configuration:\n  " + "\n  ".join(errors))
    return providers


def _derived_base_url(profile: Profile, options: dict[str, str]) -> str | None:
    """The endpoint of families whose URL depends on a region or location."""
    if profile.family == "bedrock":
        return base_url_for(region_of(options))
    if profile.name == "vertex":
        return vertex_base_url(location_of(options))
    return None


def discover_from_env(environ: Mapping[str, str]) -> tuple[dict[str, dict[str, Any]], list[str]]:
    """Provider settings from well-known variables, and a line per finding for the startup log."""
    found: dict[str, dict[str, Any]] = {}
    notes: list[str] = []
    for profile in PROFILES.values():
        prefix = profile.name.upper()
        base_url = environ.get(f"{prefix}_BASE_URL")
        key = environ.get(profile.env_key) if profile.env_key else None
        if profile.url_style == "azure":
            key = key or environ.get("AZURE_OPENAI_API_KEY")
            base_url = base_url or environ.get("AZURE_OPENAI_ENDPOINT")
            if key and base_url:
                conf = {"type": profile.name, "api_key": key, "base_url": base_url}
                if environ.get("OPENAI_API_VERSION"):
                    conf["api_version"] = environ["OPENAI_API_VERSION"]
                found[profile.name] = conf
                notes.append(f"{profile.title}: found a key and endpoint")
            elif key:
                notes.append(
                    f"{profile.title}: found a key but no endpoint (set AZURE_OPENAI_ENDPOINT); skipped"
                )
            continue
        if key:
            found[profile.name] = {"type": profile.name, "api_key": key}
            notes.append(f"{profile.title}: found {profile.env_key}")
        elif base_url and not profile.key_required:
            found[profile.name] = {"type": profile.name}
            notes.append(f"{profile.title}: found {prefix}_BASE_URL")
        else:
            continue
        if base_url:
            found[profile.name]["base_url"] = base_url
    return found, notes
