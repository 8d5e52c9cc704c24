"""The settings tree (frozen, unknown keys rejected) and its loading from YAML and the environment."""

from switchgear.config.load import ConfigError, load_settings, parse_settings
from switchgear.config.model import (
    DeploymentSettings,
    ModelSettings,
    PricingSettings,
    ProviderSettings,
    ServerSettings,
    Settings,
    StorageSettings,
    Timeouts,
    UpstreamSettings,
)

__all__ = [
    "ConfigError",
    "DeploymentSettings",
    "ModelSettings",
    "PricingSettings",
    "ProviderSettings",
    "ServerSettings",
    "Settings",
    "StorageSettings",
    "Timeouts",
    "UpstreamSettings",
    "load_settings",
    "parse_settings",
]
