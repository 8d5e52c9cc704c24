"""The routing table: public model names and ``provider/model`` names to pools of deployments.

Built once per configuration snapshot; lookups are dict accesses. A ``provider/model`` name
reaches any model of a configured provider directly; those pools are created on first use and
kept (bounded) so the hot path allocates nothing for repeat names. Every deployment has a
``Health`` (keyed by ``provider/model``), which the plan reads and ``routing.stage.Learner``
updates from each attempt's outcome.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterable, Mapping
from dataclasses import replace
from time import monotonic

from switchgear.catalog import Catalog, ModelInfo, parse_usd_per_mtok
from switchgear.config.model import DeploymentSettings, ModelSettings, PricingSettings, Settings, Timeouts
from switchgear.core.errors import ModelNotFound, NoDeploymentAvailable
from switchgear.providers.base import Deployment, Provider
from switchgear.routing import preferences
from switchgear.routing.budget import RetryBudget
from switchgear.routing.fit import estimated_tokens
from switchgear.routing.health import Health
from switchgear.routing.pool import Pool
from switchgear.routing.strategy import strategy
from switchgear.stages.request import Prepared

_DIRECT_CACHE_MAX = 4096
_HEALTH_MAX = 8192


class Router:
    def __init__(
        self,
        settings: Settings,
        providers: Mapping[str, Provider],
        catalog: Catalog,
        rng: random.Random | None = None,
    ) -> None:
        self.providers = dict(providers)
        self.catalog = catalog
        self.settings = settings.routing
        self.rng = rng or random.Random()
        self.health: dict[str, Health] = {}
        self.budget = RetryBudget(settings.routing.retry_budget)
        self.pools: dict[str, Pool] = {}
        for model in settings.models:
            deployments = tuple(self._configured(model, d) for d in model.deployments)
            self.pools[model.name] = Pool(
                model.name,
                deployments,
                tuple(self.health_of(d) for d in deployments),
                strategy(
                    model.routing, self.rng, settings.routing.latency_explore, settings.routing.latency_buffer
                ),
                retries=model.retries,
                # a tiered model has no deployments: its tiers are its plan (the tiering stage
                # puts the chosen one first) and what a budget reservation covers
                fallbacks=(*(model.tiering.tiers if model.tiering else ()), *model.fallbacks),
                context_window_fallbacks=tuple(model.context_window_fallbacks),
                content_policy_fallbacks=tuple(model.content_policy_fallbacks),
                context_window=_context_window(deployments),
                routing=model.routing,
                hedge=model.hedge.after if model.hedge is not None else None,
            )
        self.groups: dict[str, tuple[Deployment, ...]] = {n: p.deployments for n, p in self.pools.items()}
        self._direct: dict[str, Pool] = {}
        self._capped: dict[int, tuple[Timeouts, float, Timeouts]] = {}

    def capped(self, timeouts: Timeouts, seconds: float) -> Timeouts:
        """``timeouts`` with none longer than ``seconds``, made once per timeouts object."""
        found = self._capped.get(id(timeouts))
        if found is not None and found[0] is timeouts and found[1] == seconds:
            return found[2]
        made = cut(timeouts, seconds)
        if len(self._capped) < 4096:
            self._capped[id(timeouts)] = (timeouts, seconds, made)
        return made

    def _configured(self, model: ModelSettings, conf: DeploymentSettings) -> Deployment:
        provider = self.providers[conf.provider]
        timeouts = provider.timeouts
        for layer in (model.timeouts, conf.timeouts):
            if layer is not None:
                timeouts = layer.over(timeouts)
        return self._deployment(
            provider,
            conf.model,
            conf.weight,
            model,
            conf.pricing,
            rpm=conf.rpm,
            tpm=conf.tpm,
            timeouts=timeouts,
        )

    def _deployment(
        self,
        provider: Provider,
        model: str,
        weight: int = 1,
        overrides: ModelSettings | None = None,
        pricing: PricingSettings | None = None,
        *,
        rpm: int | None = None,
        tpm: int | None = None,
        timeouts: Timeouts | None = None,
    ) -> Deployment:
        info = self.catalog.lookup(provider.profile.name, model)
        if overrides is not None:
            info = _override(info, provider.profile.name, model, overrides)
        if pricing is not None:
            info = _priced(info, provider.profile.name, model, pricing)
        return Deployment(
            provider=provider, model=model, weight=weight, info=info, rpm=rpm, tpm=tpm, timeouts=timeouts
        )

    def health_of(self, deployment: Deployment) -> Health:
        """The deployment's health, shared by every pool that reaches the same ``provider/model``."""
        health = self.health.get(deployment.label)
        if health is None:
            settings = self.settings
            health = Health(settings.circuit_breaker, settings.latency_decay)
            if len(self.health) < _HEALTH_MAX:
                self.health[deployment.label] = health
        return health

    def pool(self, name: str) -> Pool:
        """The pool that serves ``name``; ModelNotFound if none."""
        pool = self.known(name)
        if pool is not None:
            return pool
        provider_name, sep, model = name.partition("/")
        provider = self.providers.get(provider_name) if sep else None
        if provider is None or not model:
            raise ModelNotFound(
                f"model {name!r} does not exist on this gateway: use a configured model name or "
                f"'<provider>/<model>' with a configured provider (GET /v1/models lists them)",
                param="model",
            )
        deployment = self._deployment(provider, model)
        pool = Pool(
            name, (deployment,), (self.health_of(deployment),), strategy("ordered"), routing="ordered"
        )
        if len(self._direct) < _DIRECT_CACHE_MAX:
            self._direct[name] = pool
        return pool

    def known(self, name: str) -> Pool | None:
        """The pool of ``name`` if it was configured or already reached, else None (no lookup)."""
        return self.pools.get(name) or self._direct.get(name)

    def resolve(self, name: str) -> tuple[Deployment, ...]:
        """The deployments that can serve ``name``; ModelNotFound if none."""
        pool = self.pool(name)
        return pool.deployments or self.reachable(name)  # a tiered model: its tiers'

    def reachable(self, name: str) -> tuple[Deployment, ...]:
        """Every deployment a request for ``name`` may end at: its pool's and its configured
        fallbacks' (``fallbacks``, ``context_window_fallbacks``, ``content_policy_fallbacks``).
        What a budget reservation must cover."""
        pool = self.pool(name)
        extra = (*pool.fallbacks, *pool.context_window_fallbacks, *pool.content_policy_fallbacks)
        if not extra:
            return pool.deployments
        return pool.deployments + tuple(d for other in extra for d in self.pool(other).deployments)

    def plan(
        self,
        name: str,
        fallbacks: Iterable[str] = (),
        *,
        stream: bool = False,
        request: Prepared | None = None,
    ) -> list[Deployment]:
        """The ordered attempt list for a request: the usable deployments of the model's pool in
        its strategy's order, then each fallback model's (the request's ``models``, then the
        model's own ``fallbacks``), narrowed and reordered by the request's provider preferences.
        A request too large for the model's context window starts at its
        ``context_window_fallbacks`` instead. An unknown model with fallbacks falls through."""
        now = monotonic()
        try:
            pool: Pool | None = self.pool(name)
        except ModelNotFound:
            if not fallbacks:
                raise
            pool = None
        prefs = request.provider if request is not None else None
        names: list[str] = []
        groups: list[list[Deployment]] = []
        if pool is not None:
            if pool.context_window_fallbacks and request is not None and _too_large(pool, request):
                names.extend(pool.context_window_fallbacks)
            else:
                groups.append(pool.order(now, stream))
        names.extend(fallbacks)
        if pool is not None:
            names.extend(pool.fallbacks)
        if not names and prefs is None and groups:
            return groups[0]
        seen = {name}
        for extra in names:
            if extra not in seen:
                seen.add(extra)
                groups.append(self.pool(extra).order(now, stream))
        if prefs is None:
            return [d for group in groups for d in group]
        plan = preferences.apply(groups, prefs, self.health_of)
        if not plan and any(groups):
            raise preferences.nothing_matches(name)
        return plan

    def unavailable(self, name: str, fallbacks: Iterable[str] = ()) -> NoDeploymentAvailable:
        """The fast 503 when no deployment of ``name`` (or its fallbacks) may be tried now."""
        now = monotonic()
        waits: list[float] = []
        for model in (name, *fallbacks):
            pool = self.known(model)
            if pool is not None:
                waits.extend(h.ready_in(now) for h in pool.health)
        wait = max(1, math.ceil(min(waits))) if waits else 1
        return NoDeploymentAvailable(
            f"no deployment of model {name!r} is available: every one has its circuit breaker open "
            f"or is cooling down after a rate limit or is at its rpm/tpm limit; try again in {wait}s",
            param="model",
            headers=[("retry-after", str(wait))],
        )


def _context_window(deployments: tuple[Deployment, ...]) -> int | None:
    """The smallest context window among the pool's deployments (the one a request must fit)."""
    windows = [d.info.context_window for d in deployments if d.info is not None and d.info.context_window]
    return min(windows) if windows else None


def _too_large(pool: Pool, request: Prepared) -> bool:
    return pool.context_window is not None and estimated_tokens(request) > pool.context_window


def _override(info: ModelInfo | None, vendor: str, model: str, conf: ModelSettings) -> ModelInfo | None:
    """The catalog entry with the configuration's prices and limits laid over it."""
    if conf.pricing is None and conf.context_window is None and conf.max_output_tokens is None:
        return info
    base = info or ModelInfo(vendor=vendor, id=model)
    if conf.pricing is not None:
        base = _priced(base, vendor, model, conf.pricing)
    return replace(
        base,
        context_window=conf.context_window or base.context_window,
        max_output_tokens=conf.max_output_tokens or base.max_output_tokens,
    )


def _priced(info: ModelInfo | None, vendor: str, model: str, pricing: PricingSettings) -> ModelInfo:
    """The entry (or a new one, for a model the catalog does not know) with the given prices laid
    over its own; prices not given keep the entry's."""
    base = info or ModelInfo(vendor=vendor, id=model)
    given = {name: parse_usd_per_mtok(value) for name, value in pricing.model_dump(exclude_none=True).items()}
    return replace(base, prices=replace(base.prices, **given)) if given else base


def cut(timeouts: Timeouts, seconds: float) -> Timeouts:
    """``timeouts`` with none longer than ``seconds``."""
    return timeouts.model_copy(
        update={
            "total": min(timeouts.total, seconds),
            "first_byte": min(timeouts.first_byte, seconds),
            "connect": min(timeouts.connect, seconds),
        }
    )
