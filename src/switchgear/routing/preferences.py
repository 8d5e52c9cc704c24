"""A request's provider preferences: OpenRouter's ``provider`` object and ``:floor`` / ``:nitro``.

``take(body, model)`` reads (and removes: it is the gateway's control, never forwarded) the body's
``provider`` object and the model name's routing suffix; ``apply(plan, prefs, ...)`` narrows and
reorders a plan by them. Provider names are the gateway's own (``providers:`` keys).

- ``only`` / ``ignore``: keep only / drop deployments of these providers;
- ``max_price: {prompt, completion}``: USD per million tokens; a deployment above either price, or
  without a known price, is dropped;
- ``sort: price | latency | throughput`` (or ``{by: ...}``): within each model's deployments,
  cheapest / lowest observed latency / highest observed output tokens per second first
  (deployments not yet measured last); no load balancing then;
- ``order: [...]``: these providers' deployments first, in this order; the rest follow unless
  ``allow_fallbacks: false``, which keeps only them (or, without ``order``, only the first
  candidate);
- ``model:floor`` is ``sort: price``, ``model:nitro`` is ``sort: throughput``; ``:exacto`` is
  stripped. ``preferred_min_throughput`` / ``preferred_max_latency`` are ignored.
- Privacy filters (``zdr``, ``data_collection: deny``, ``quantizations``,
  ``enforce_distillable_text``) fail closed: no deployment declares them, so the request is
  refused with a 503 rather than sent somewhere that may not honour them.

When the preferences leave nothing, the answer is a 404 naming the preferences.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any, Literal, cast

from switchgear.core.errors import InvalidRequest, NoDeploymentAvailable, NotFound
from switchgear.providers.base import Deployment
from switchgear.routing.health import Health
from switchgear.stages.request import Preferences

_SUFFIXES: dict[str, Literal["price", "throughput"] | None] = {
    ":floor": "price",
    ":nitro": "throughput",
    ":exacto": None,
}
_SORTS = ("price", "latency", "throughput")
_IGNORED = frozenset({"preferred_min_throughput", "preferred_max_latency"})
_PRIVACY = ("zdr", "data_collection", "quantizations", "enforce_distillable_text")
_KNOWN = frozenset({"order", "only", "ignore", "allow_fallbacks", "sort", "max_price", *_IGNORED, *_PRIVACY})
_LAST = float("inf")


def take(body: dict[str, Any], model: str) -> tuple[str, Preferences | None]:
    """The model name without its routing suffix, and the request's preferences (None: none)."""
    if "provider" not in body and ":" not in model:  # the usual request: nothing to take
        return model, None
    sort: Literal["price", "latency", "throughput"] | None = None
    for suffix, by in _SUFFIXES.items():
        if model.endswith(suffix) and len(model) > len(suffix):
            model, sort = model[: -len(suffix)], by
            break
    raw = body.pop("provider", None)
    if raw is None:
        return model, Preferences(sort=sort) if sort else None
    if not isinstance(raw, dict):
        raise InvalidRequest("provider: must be an object (order, only, ignore, sort, ...)", param="provider")
    for key in raw.keys() - _KNOWN:
        raise InvalidRequest(
            f"provider.{key}: not supported; the gateway takes order, only, ignore, allow_fallbacks, "
            "sort and max_price",
            param=f"provider.{key}",
        )
    _fail_closed(raw)
    allow = raw.get("allow_fallbacks", True)
    if not isinstance(allow, bool):
        raise InvalidRequest(
            "provider.allow_fallbacks: must be true or false", param="provider.allow_fallbacks"
        )
    only = raw.get("only")
    prompt, completion = _max_price(raw.get("max_price"))
    return model, Preferences(
        order=tuple(_names(raw, "order")),
        only=frozenset(_names(raw, "only")) if only is not None else None,
        ignore=frozenset(_names(raw, "ignore")),
        allow_fallbacks=allow,
        sort=_sort(raw.get("sort")) or sort,
        max_prompt=prompt,
        max_completion=completion,
    )


def apply(
    groups: Sequence[list[Deployment]], prefs: Preferences, health: Callable[[Deployment], Health]
) -> list[Deployment]:
    """One plan from each model's ordered deployments (the requested model's first), narrowed,
    sorted and reordered by ``prefs``."""
    plan: list[Deployment] = []
    for group in groups:
        kept = [d for d in group if _allowed(d, prefs)]
        if prefs.sort is not None:
            kept.sort(key=_sort_key(prefs.sort, health))
        plan.extend(kept)
    if prefs.order:
        rank = {name: i for i, name in enumerate(prefs.order)}
        first = sorted((d for d in plan if d.provider.name in rank), key=lambda d: rank[d.provider.name])
        rest = [d for d in plan if d.provider.name not in rank] if prefs.allow_fallbacks else []
        plan = first + rest
    elif not prefs.allow_fallbacks:
        plan = plan[:1]
    return plan


def nothing_matches(model: str) -> NotFound:
    return NotFound(
        f"no deployment of model {model!r} meets the request's provider preferences "
        "(provider.only / ignore / order / max_price)",
        param="provider",
        code="no_provider_matches",
    )


def _allowed(deployment: Deployment, prefs: Preferences) -> bool:
    name = deployment.provider.name
    if (prefs.only is not None and name not in prefs.only) or name in prefs.ignore:
        return False
    if prefs.max_prompt is None and prefs.max_completion is None:
        return True
    prices = deployment.info.prices if deployment.info is not None else None
    if prices is None or prices.input is None or prices.output is None:
        return False  # an unknown price cannot be shown to be under the cap
    return (prefs.max_prompt is None or prices.input <= prefs.max_prompt) and (
        prefs.max_completion is None or prices.output <= prefs.max_completion
    )


def _sort_key(by: str, health: Callable[[Deployment], Health]) -> Callable[[Deployment], float]:
    def price(d: Deployment) -> float:
        prices = d.info.prices if d.info is not None else None
        if prices is None or prices.input is None or prices.output is None:
            return _LAST
        return float(prices.input + prices.output)

    def latency(d: Deployment) -> float:
        h = health(d)
        return h.latency_ms or h.ttft_ms or _LAST

    def throughput(d: Deployment) -> float:
        tps = health(d).tokens_per_s
        return -tps if tps else _LAST

    return price if by == "price" else latency if by == "latency" else throughput


def _names(raw: dict[str, Any], key: str) -> list[str]:
    value = raw.get(key)
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise InvalidRequest(f"provider.{key}: must be an array of provider names", param=f"provider.{key}")
    return [v.split("/", 1)[0] for v in value]  # "azure/eu" names the provider "azure"


def _sort(value: Any) -> Literal["price", "latency", "throughput"] | None:
    if isinstance(value, dict):
        value = value.get("by")
    if value is None:
        return None
    if value not in _SORTS:
        raise InvalidRequest("provider.sort: must be price, latency or throughput", param="provider.sort")
    return cast(Literal["price", "latency", "throughput"], value)


def _max_price(value: Any) -> tuple[int | None, int | None]:
    if value is None:
        return None, None
    if not isinstance(value, dict):
        raise InvalidRequest(
            "provider.max_price: must be an object {prompt, completion} in USD per million tokens",
            param="provider.max_price",
        )
    for key in value.keys() - {"prompt", "completion"}:
        raise InvalidRequest(
            f"provider.max_price.{key}: not supported (prompt and completion are)",
            param=f"provider.max_price.{key}",
        )
    return _micro(value, "prompt"), _micro(value, "completion")


def _micro(prices: dict[str, Any], key: str) -> int | None:
    value = prices.get(key)
    if value is None:
        return None
    where = f"provider.max_price.{key}"
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise InvalidRequest(f"{where}: must be a number of USD per million tokens", param=where)
    try:
        usd = Decimal(str(value))
    except InvalidOperation:
        raise InvalidRequest(f"{where}: must be a number of USD per million tokens", param=where) from None
    if not usd.is_finite() or usd < 0:
        raise InvalidRequest(f"{where}: must be a number of USD per million tokens", param=where)
    return int(usd * 1_000_000)


def _fail_closed(raw: dict[str, Any]) -> None:
    asked = [
        key
        for key in _PRIVACY
        if raw.get(key) not in (None, False, "allow") and not (key == "quantizations" and raw.get(key) == [])
    ]
    if asked:
        raise NoDeploymentAvailable(
            f"provider.{asked[0]}: no deployment of this gateway declares it, so none can be shown to "
            "honour it; the request was not sent",
            param=f"provider.{asked[0]}",
        )
