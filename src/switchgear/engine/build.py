"""Assembling the pipeline from a validated configuration (startup and ``config check``)."""

from __future__ import annotations

from dataclasses import dataclass

from switchgear.apis.registry import codecs
from switchgear.catalog import Catalog
from switchgear.config.model import Settings
from switchgear.engine.auth import Authenticator
from switchgear.engine.pipeline import Engine
from switchgear.providers.registry import build_providers
from switchgear.routing.router import Router
from switchgear.transport.client import HttpClient


@dataclass(slots=True)
class Runtime:
    """Everything long-lived that requests use, built once from the settings."""

    settings: Settings
    router: Router
    client: HttpClient
    engine: Engine
    auth: Authenticator


def build_router(settings: Settings) -> Router:
    """Providers and routing table from the settings; raises ConfigError on anything unusable."""
    return Router(settings, build_providers(settings), Catalog.bundled())


def build_runtime(settings: Settings) -> Runtime:
    router = build_router(settings)
    client = HttpClient(settings.upstream)
    master = settings.server.master_key
    return Runtime(
        settings=settings,
        router=router,
        client=client,
        engine=Engine(router, client, codecs()),
        auth=Authenticator(master.get_secret_value() if master else None),
    )
