"""The model list clients see (``GET /v1/models``): OpenAI's list shape plus provider, context
window and prices (USD-per-token strings, as OpenRouter shows them) where the catalog knows them,
and each configured model's deployments' health; the admin view ``GET /health/deployments``."""

from __future__ import annotations

from collections.abc import Callable
from time import monotonic
from typing import Any

from switchgear.catalog import ModelInfo, price_per_token_str
from switchgear.providers.base import Deployment
from switchgear.routing.health import Health
from switchgear.routing.router import Router

_CREATED = 1_700_000_000


def deployments_view(router: Router) -> dict[str, Any]:
    """``GET /health/deployments``: each configured model's strategy and deployments' health."""
    now = monotonic()
    models = {
        name: {
            "routing": pool.routing,
            "deployments": [
                {"deployment": d.label, "weight": d.weight, **h.view(now)}
                for d, h in zip(pool.deployments, pool.health, strict=True)
            ],
        }
        for name, pool in router.pools.items()
    }
    budget = router.budget
    return {
        "models": models,
        "retry_budget": {"tokens": round(budget.tokens, 2), "spent": budget.spent, "refused": budget.refused},
    }


Allows = Callable[[str], bool] | None  # a virtual key's model allow-list; None: every model


def list_models(router: Router, allows: Allows = None) -> list[dict[str, Any]]:
    now = monotonic()
    entries = [_entry(name, group[0], len(group)) for name, group in router.groups.items()]
    for entry in entries:
        pool = router.pools[entry["id"]]
        entry["health"] = [
            {"deployment": d.label, "state": h.state(now), "in_flight": h.in_flight, "latency_ms": _ms(h)}
            for d, h in zip(pool.deployments, pool.health, strict=True)
        ]
    seen = {e["id"] for e in entries}
    for provider in router.providers.values():
        for info in router.catalog.models(provider.profile.name):
            model_id = f"{provider.name}/{info.id}"
            if model_id not in seen and info.mode in ("chat", "completion", "embedding", "responses"):
                seen.add(model_id)
                entries.append(_describe(model_id, provider.name, info.id, info, 1))
    return entries if allows is None else [entry for entry in entries if allows(entry["id"])]


def _ms(health: Health) -> float | None:
    return round(health.latency_ms or health.ttft_ms, 1) or None


def find_model(router: Router, model_id: str, allows: Allows = None) -> dict[str, Any] | None:
    if allows is not None and not allows(model_id):
        return None  # as if it did not exist: a key learns nothing of models it may not use
    group = router.groups.get(model_id)
    if group is not None:
        return _entry(model_id, group[0], len(group))
    provider_name, sep, model = model_id.partition("/")
    provider = router.providers.get(provider_name) if sep else None
    if provider is None or not model:
        return None
    info = router.catalog.lookup(provider.profile.name, model)
    return _describe(model_id, provider.name, model, info, 1)


def _entry(name: str, first: Deployment, count: int) -> dict[str, Any]:
    return _describe(name, first.provider.name, first.model, first.info, count)


def _describe(
    model_id: str, provider: str, upstream: str, info: ModelInfo | None, count: int
) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "id": model_id,
        "object": "model",
        "created": _CREATED,
        "owned_by": provider,
        "provider": provider,
        "upstream_model": upstream,
        "deployments": count,
    }
    if info is None:
        return entry
    entry["mode"] = info.mode
    if info.context_window:
        entry["context_length"] = info.context_window
    if info.max_output_tokens:
        entry["top_provider"] = {"max_completion_tokens": info.max_output_tokens}
    pricing = {
        key: price_per_token_str(value)
        for key, value in (
            ("prompt", info.prices.input),
            ("completion", info.prices.output),
            ("input_cache_read", info.prices.cache_read),
            ("input_cache_write", info.prices.cache_write),
            ("internal_reasoning", info.prices.reasoning_output),  # OpenRouter's name for it
        )
        if value is not None
    }
    if pricing:
        entry["pricing"] = pricing
    entry["architecture"] = {"input_modalities": list(info.input_modalities), "output_modalities": ["text"]}
    supported = [flag for flag in ("tools", "reasoning", "response_schema") if getattr(info, flag)]
    if supported:
        entry["supported_parameters"] = supported
    return entry
