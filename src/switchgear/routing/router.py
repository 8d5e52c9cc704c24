"""The routing table: public model names and ``provider/model`` names to candidate deployments.

Built once per configuration snapshot; lookups are dict accesses. A ``provider/model`` name
reaches any model of a configured provider directly; those deployments are created on first use
and kept (bounded) so the hot path allocates nothing for repeat names.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace

from switchgear.catalog import Catalog, ModelInfo, parse_usd_per_mtok
from switchgear.config.model import ModelSettings, PricingSettings, Settings
from switchgear.core.errors import ModelNotFound
from switchgear.providers.base import Deployment, Provider
from switchgear.routing.strategy import Strategy, WeightedShuffle

_DIRECT_CACHE_MAX = 4096


class Router:
    def __init__(
        self,
        settings: Settings,
        providers: Mapping[str, Provider],
        catalog: Catalog,
        strategy: Strategy | None = None,
    ) -> None:
        self.providers = dict(providers)
        self.catalog = catalog
        self._strategy = strategy or WeightedShuffle()
        self.groups: dict[str, tuple[Deployment, ...]] = {}
        for model in settings.models:
            self.groups[model.name] = tuple(
                self._deployment(self.providers[d.provider], d.model, d.weight, model, d.pricing)
                for d in model.deployments
            )
        self._direct: dict[str, tuple[Deployment, ...]] = {}

    def _deployment(
        self,
        provider: Provider,
        model: str,
        weight: int = 1,
        overrides: ModelSettings | None = None,
        pricing: PricingSettings | None = None,
    ) -> Deployment:
        info = self.catalog.lookup(provider.profile.name, model)
        if overrides is not None:
            info = _override(info, provider.profile.name, model, overrides)
        if pricing is not None:
            info = _priced(info, provider.profile.name, model, pricing)
        return Deployment(provider=provider, model=model, weight=weight, info=info)

    def resolve(self, name: str) -> tuple[Deployment, ...]:
        """The deployments that can serve ``name``; ModelNotFound if none."""
        group = self.groups.get(name) or self._direct.get(name)
        if group is not None:
            return group
        provider_name, sep, model = name.partition("/")
        provider = self.providers.get(provider_name) if sep else None
        if provider is None or not model:
            raise ModelNotFound(
                f"model {name!r} does not exist on this gateway: use a configured model name or "
                f"'<provider>/<model>' with a configured provider (GET /v1/models lists them)",
                param="model",
            )
        group = (self._deployment(provider, model),)
        if len(self._direct) < _DIRECT_CACHE_MAX:
            self._direct[name] = group
        return group

    def plan(self, name: str, fallbacks: Iterable[str] = ()) -> list[Deployment]:
        """The ordered attempt list for a request: the model's deployments, then each fallback model's."""
        ordered = self._strategy.order(self.resolve(name))
        for extra in fallbacks:
            if extra != name:
                ordered.extend(self._strategy.order(self.resolve(extra)))
        return ordered


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
