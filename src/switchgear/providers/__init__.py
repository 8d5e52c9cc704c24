"""Provider adapters, one package per wire family, and the registry that maps config to them."""

from switchgear.providers.base import Adapter, Deployment, Endpoint, Provider, StreamRelay
from switchgear.providers.registry import (
    PROVIDER_SETTINGS,
    build_providers,
    describe_credentials,
    discover_from_env,
    served_types,
)

__all__ = [
    "PROVIDER_SETTINGS",
    "Adapter",
    "Deployment",
    "Endpoint",
    "Provider",
    "StreamRelay",
    "build_providers",
    "describe_credentials",
    "discover_from_env",
    "served_types",
]
