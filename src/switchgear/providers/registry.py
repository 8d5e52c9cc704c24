"""The registry: provider ``type`` names to wire-family adapters and vendor profiles.

This is the one place that knows which types exist. ``PROVIDER_SETTINGS`` maps each type to its
settings model (the family's own, see ``settings.FamilySettings``), for ``config.parse_settings``
to validate each provider as its type's model. ``build_providers`` turns validated settings into
runtime ``Provider`` objects (checking what only the registry can check: the type is served, a
base URL is known, a key is present where the vendor needs one), asking the same of every
family's settings (``default_base_url``, ``token_source``); ``describe_credentials`` says where a
provider's credentials come from; ``discover_from_env`` builds provider settings from well-known
environment variables.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from pydantic import ValidationError

from switchgear.config.load import ConfigError
from switchgear.config.model import ProviderSettings, Settings
from switchgear.providers.anthropic import PROFILES as ANTHROPIC_PROFILES
from switchgear.providers.anthropic import AnthropicAdapter
from switchgear.providers.base import Adapter, Profile, Provider
from switchgear.providers.bedrock import PROFILES as BEDROCK_PROFILES
from switchgear.providers.bedrock import BedrockAdapter
from switchgear.providers.bedrock.settings import from_environment as bedrock_from_environment
from switchgear.providers.cohere import PROFILES as COHERE_PROFILES
from switchgear.providers.cohere import CohereAdapter
from switchgear.providers.gemini import PROFILES as GEMINI_PROFILES
from switchgear.providers.gemini import GeminiAdapter
from switchgear.providers.openai import PROFILES as OPENAI_PROFILES
from switchgear.providers.openai import OpenAIAdapter
from switchgear.providers.settings import FamilySettings
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
# Each type's settings model, for ``config.parse_settings(..., provider_types=PROVIDER_SETTINGS)``.
PROVIDER_SETTINGS: Mapping[str, type[ProviderSettings]] = MappingProxyType(
    {name: profile.settings for name, profile in PROFILES.items()}
)


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
        try:
            own = _own_settings(conf, profile)
        except ValidationError as exc:
            errors.extend(
                f"{where}{_loc(e['loc'])}: {e['msg'].removeprefix('Value error, ')}" for e in exc.errors()
            )
            continue
        base_url = conf.base_url or profile.base_url or own.default_base_url()
        if base_url is None:
            errors.append(f"{where}.base_url: required for type {conf.type!r} ({profile.notes})")
            continue
        api_key = conf.api_key.get_secret_value() if conf.api_key else None
        if profile.key_required and not api_key:
            errors.append(f"{where}.api_key: required for type {conf.type!r}")
            continue
        try:
            token_source = own.token_source(name)
        except ConfigError as exc:
            errors.append(f"{where}.{exc}")
            continue
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
            headers={k.lower(): v.get_secret_value() for k, v in conf.headers.items()},
            timeouts=timeouts,
            settings=own,
            token_source=token_source,
            network=network,
        )
    if errors:
        raise ConfigError("invalid configuration:\n  " + "\n  ".join(errors))
    return providers


def _own_settings(conf: ProviderSettings, profile: Profile) -> FamilySettings:
    """The provider's settings as its type's model: already so when the configuration was parsed
    with ``PROVIDER_SETTINGS``; otherwise (only the common keys were accepted) validated again."""
    if isinstance(conf, profile.settings):
        return conf
    return profile.settings.model_validate(conf.model_dump(exclude_unset=True))


def _loc(loc: tuple[int | str, ...]) -> str:
    return "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in loc)


def describe_credentials(provider: Provider) -> str:
    """Where ``provider``'s credentials come from, never the secret. A run-time source may search
    for them (files, a metadata endpoint): for the command line, never on the event loop."""
    source = provider.token_source
    return source.describe() if source is not None else provider.settings.describe_credentials()


def discover_from_env(environ: Mapping[str, str]) -> tuple[dict[str, dict[str, Any]], list[str]]:
    """Provider settings from well-known variables, and a line per finding for the startup log."""
    found: dict[str, dict[str, Any]] = {}
    notes: list[str] = []
    for profile in PROFILES.values():
        if profile.name == "bedrock":  # AWS_* variables, as the AWS SDKs read them
            conf, note = bedrock_from_environment(environ)
            if conf is not None:
                found[profile.name] = conf
            if note is not None:
                notes.append(f"{profile.title}: {note}")
            continue
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
