"""Assembling the pipeline from a validated configuration (startup and ``config check``).

Stages are composed once, in this fixed order (each capability takes its place as it lands):

1. built-in stages, in request order — keys and budgets (admit: ``keys.admit.Governance``, when
   governance is on), guardrails on the input (admit), caches (answer early, filled in settle:
   ``cache.ExactCache`` when ``cache.exact.enabled``), routing and tiering (plan:
   ``routing.tiering.Tiering`` when a model has ``tiering``, and its answer-transform half
   ``routing.tiering.Cascade`` for a ``cascade`` policy — ``LogprobCascade`` when one checks
   logprobs; a cascade's judge is bound to the engine by ``engine.stage_calls``;
   ``routing.stage.Learner`` learns each deployment's health at the attempt outcome), guardrails on
   the output (transforms),
   then the settle consumers: the access log (``server.access_log``), the spend log (when
   governance is on and ``governance.spend_log.enabled``), the payload log
   (``observability.payloads.enabled``; it also keeps references at admit and the transforms), the metrics
   (``observability.metrics.enabled``), the traces (``observability.tracing.enabled``);
2. the configuration's own ``stages:`` (``package.module:factory``), in the order listed;
3. stages given by the embedding program (``build_runtime(..., extra_stages=...)``; tests).

At every point the hooks run in this order.
"""

from __future__ import annotations

import asyncio
import importlib
import inspect
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from time import monotonic
from typing import TYPE_CHECKING

from switchgear.apis.registry import codecs
from switchgear.cache import ExactCache
from switchgear.catalog import Catalog
from switchgear.config.load import ConfigError
from switchgear.config.model import Settings
from switchgear.config.secrets import build_redactor
from switchgear.core.redact import Redactor
from switchgear.engine.auth import Authenticator
from switchgear.engine.pipeline import Engine
from switchgear.engine.stage_calls import bind_stage_calls
from switchgear.guardrails.stage import build as build_guardrails
from switchgear.keys.admit import Governance
from switchgear.keys.changes import ChangeFeed
from switchgear.keys.setup import build_governance
from switchgear.observability.access_log import AccessLog
from switchgear.observability.metrics import Metrics, Sources
from switchgear.observability.multiprocess import shared_directory
from switchgear.observability.payload_log import PayloadLog, Redact
from switchgear.observability.spend_log import SpendLog
from switchgear.observability.tracing import Tracing
from switchgear.providers.registry import build_providers
from switchgear.routing.router import Router
from switchgear.routing.shared import HealthFeed
from switchgear.routing.stage import Learner
from switchgear.routing.tiering.setup import tiering_stages
from switchgear.stages.base import Stage
from switchgear.storage import Database
from switchgear.transport.client import HttpClient

if TYPE_CHECKING:
    from switchgear.cache.semantic.embedder import Embedder


@dataclass(slots=True)
class Runtime:
    """Everything long-lived that requests use, built once from the settings."""

    settings: Settings
    router: Router
    client: HttpClient
    engine: Engine
    auth: Authenticator
    keepalive: dict[str, float] = field(default_factory=dict)  # per model name, where set
    default_keepalive: float | None = None
    # every error body and log line leaving the gateway passes through it
    redactor: Redactor = field(default_factory=Redactor)
    # governance (server.master_key set): its stage, the database and the change feed that the
    # admin API and the spend log use (None when governance is off)
    governance: Governance | None = None
    database: Database | None = None
    feed: ChangeFeed | None = None
    # a response cache is on: the server reads each request's cache headers for it
    cache_on: bool = False
    tiering_on: bool = False  # a tiered model is configured: the server reads x-switchgear-tier-hint
    metrics: Metrics | None = None  # observability.metrics.enabled: what /metrics serves

    async def close_database(self) -> None:
        """After every stage has closed (they may write to the database until then)."""
        if self.database is not None:
            await self.database.close()

    async def start_credentials(self) -> None:
        """Find every provider's run-time credentials once (a cloud credential chain, access
        tokens), each off the event loop; a failure is logged and tried again on demand."""
        sources = [p.token_source for p in self.router.providers.values() if p.token_source is not None]
        await asyncio.gather(*(source.start() for source in sources))

    async def close_credentials(self) -> None:
        for provider in self.router.providers.values():
            if provider.token_source is not None:
                await provider.token_source.close()

    def stream_keepalive(self, model: str) -> float | None:
        """Seconds between SSE keep-alive comments while ``model``'s stream has not begun, or None."""
        return self.keepalive.get(model, self.default_keepalive)


def build_router(settings: Settings) -> Router:
    """Providers and routing table from the settings; raises ConfigError on anything unusable."""
    return Router(settings, build_providers(settings), Catalog.bundled())


def _deployment_health(router: Router) -> list[tuple[str, str, int, int]]:
    """Each deployment's breaker state, times opened and attempts in flight (the metrics' gauges)."""
    now = monotonic()
    return [(name, h.state(now), h.opened, h.in_flight) for name, h in router.health.items()]


def build_stages(
    settings: Settings,
    extra: Sequence[Stage] = (),
    governance: Governance | None = None,
    router: Router | None = None,
    redactor: Redactor | None = None,
) -> list[Stage]:
    """The stages of this configuration, in the documented order."""
    stages: list[Stage] = [governance] if governance is not None else []
    guardrails = build_guardrails(settings.guardrails)  # input at admit, output as transforms
    stages.extend(guardrails)
    if settings.cache.exact.enabled:
        stages.append(ExactCache.from_settings(settings, semantic_embedder(settings)))
    if router is not None:
        stages.extend(tiering_stages(settings, router))  # tiered models only (docs/tiering.md)
        redis_url = settings.storage.redis_url
        feed = None
        if redis_url is not None and settings.routing.share_health:
            feed = HealthFeed.from_url(router, redis_url.get_secret_value())
        stages.append(Learner(router, feed))
    if settings.server.access_log:
        stages.append(AccessLog())
    if governance is not None and settings.governance.spend_log.enabled:
        # the governance stage (first) opens and migrates the database; the runtime closes it
        stages.append(SpendLog(governance.database, settings, owns_database=False))
    observability = settings.observability
    if observability.payloads.enabled:
        if governance is None:
            raise ConfigError(
                "observability.payloads.enabled needs governance (server.master_key set): the "
                "payloads are kept in its database"
            )
        hooks: list[Redact] = [redactor or Redactor()]
        hooks.extend(
            load_callable(path, "observability.payloads.redact") for path in observability.payloads.redact
        )
        directory = governance.directory
        stages.append(PayloadLog(governance.database, observability.payloads, hooks, directory.logs_payloads))
    if observability.metrics.enabled:
        stages.append(Metrics(observability.metrics, shared_directory()))
    if observability.tracing.enabled:
        stages.append(Tracing(observability.tracing))
    stages.extend(load_stage(path, settings) for path in settings.stages)
    stages.extend(extra)
    return stages


def load_callable(path: str, where: str) -> Redact:
    """A configured ``package.module:function`` taking a text and returning it (a redaction hook)."""
    module_name, _, attribute = path.partition(":")
    try:
        function = getattr(importlib.import_module(module_name), attribute)
    except (ImportError, AttributeError) as exc:
        raise ConfigError(f"{where}: cannot load {path!r}: {exc}") from None
    if not callable(function):
        raise ConfigError(f"{where}: {path!r} is not a function")
    return function  # type: ignore[no-any-return]


def load_stage(path: str, settings: Settings) -> Stage:
    """A configured ``package.module:factory``: a Stage subclass or a callable returning a Stage,
    given the settings when it takes an argument."""
    module_name, _, attribute = path.partition(":")
    try:
        factory = getattr(importlib.import_module(module_name), attribute)
    except (ImportError, AttributeError) as exc:
        raise ConfigError(f"stages: cannot load {path!r}: {exc}") from None
    try:
        takes_settings = bool(inspect.signature(factory).parameters)
    except (TypeError, ValueError):
        takes_settings = False
    stage = factory(settings) if takes_settings else factory()
    if not isinstance(stage, Stage):
        raise ConfigError(f"stages: {path!r} made a {type(stage).__name__}, not a switchgear Stage")
    return stage


def semantic_embedder(settings: Settings) -> Embedder | None:
    """The semantic cache's embedder when it is an embeddings model served here (None: built-in)."""
    semantic = settings.cache.semantic
    if not settings.semantic_cache_on or semantic.embedder == "builtin":
        return None
    if semantic.embedder not in {m.name for m in settings.models}:
        raise ConfigError(
            f"cache.semantic.embedder: {semantic.embedder!r} is neither 'builtin' nor a model in models"
        )
    from switchgear.engine.embedder import GatewayEmbedder

    return GatewayEmbedder(semantic.embedder)


def bind_embedder(engine: Engine) -> None:
    """A semantic cache embedding through this engine gets the engine (it was made before it)."""
    for stage in engine.chain.stages:
        if isinstance(stage, ExactCache) and stage.semantic is not None:
            from switchgear.engine.embedder import GatewayEmbedder

            if isinstance(stage.semantic.embedder, GatewayEmbedder):
                stage.semantic.embedder.engine = engine


def build_runtime(settings: Settings, extra_stages: Sequence[Stage] = ()) -> Runtime:
    router = build_router(settings)
    networks = {p.name: p.network for p in router.providers.values() if p.network is not None}
    client = HttpClient(settings.upstream, networks)
    master = settings.server.master_key
    redactor = build_redactor(settings, os.environ)
    governance = build_governance(settings, os.environ, router.reachable) if settings.governance_on else None
    stages = build_stages(settings, extra_stages, governance, router, redactor)
    tracing = next((s for s in stages if isinstance(s, Tracing)), None)
    engine = Engine(
        router,
        client,
        codecs(),
        stages=stages,
        settle=settings.server.settle,
        redactor=redactor,
        propagation=tracing.propagation if tracing is not None else None,
    )
    bind_embedder(engine)
    bind_stage_calls(engine)
    metrics = next((s for s in engine.chain.stages if isinstance(s, Metrics)), None)
    if metrics is not None:
        spend = next((s for s in engine.chain.stages if isinstance(s, SpendLog)), None)
        metrics.watch(
            Sources(
                in_flight=engine.in_flight,
                queues=engine.chain.stats,
                spend_log=spend.stats if spend is not None else None,
                deployments=lambda: _deployment_health(router),
            )
        )
    return Runtime(
        settings=settings,
        router=router,
        client=client,
        engine=engine,
        auth=Authenticator(
            master.get_secret_value() if master else None,
            governance.directory if governance is not None else None,
        ),
        keepalive={m.name: m.stream_keepalive for m in settings.models if m.stream_keepalive},
        default_keepalive=settings.server.stream_keepalive,
        redactor=redactor,
        governance=governance,
        database=governance.database if governance is not None else None,
        feed=governance.feed if governance is not None else None,
        cache_on=settings.cache.exact.enabled,
        tiering_on=any(m.tiering is not None for m in settings.models),
        metrics=metrics,
    )
