"""A live summary of the metrics, as JSON (``GET /metrics/summary``): totals and one row per
requested model and deployment, with latency percentiles estimated from the histograms.

It reads the same series a Prometheus scrape reads (every worker's, with ``--workers N``), so
``switchgear status`` and the admin UI agree with Prometheus. Counts are since the gateway
started; percentiles are over the same span (Prometheus' ``histogram_quantile`` over the whole
life of the series).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from prometheus_client import CollectorRegistry
from prometheus_client.metrics_core import Metric

Buckets = dict[float, float]  # upper bound -> cumulative count


def quantile(q: float, buckets: Buckets) -> float | None:
    """The ``q`` quantile of a cumulative histogram, interpolated inside its bucket as Prometheus'
    ``histogram_quantile`` does; None without observations."""
    if not buckets:
        return None
    bounds = sorted(buckets)
    total = buckets[bounds[-1]]
    if total <= 0:
        return None
    rank = q * total
    below, lower = 0.0, 0.0
    for bound in bounds:
        count = buckets[bound]
        if count >= rank:
            if math.isinf(bound):
                return lower  # past the last finite bucket: its upper bound is the best estimate
            inside = count - below
            return lower + (bound - lower) * ((rank - below) / inside if inside else 1.0)
        below, lower = count, bound
    return lower


def _ms(seconds: float | None) -> float | None:
    return round(seconds * 1000, 3) if seconds is not None else None


def _families(registry: CollectorRegistry) -> dict[str, Metric]:
    return {family.name: family for family in registry.collect()}


def _samples(family: Metric | None, suffix: str) -> Iterable[tuple[dict[str, str], float]]:
    if family is None:
        return
    for sample in family.samples:
        if sample.name == family.name + suffix:
            yield sample.labels, sample.value


def summarize(registry: CollectorRegistry) -> dict[str, Any]:
    """Totals, per-model rows and settle queues from the registry's current values."""
    f = _families(registry)
    rows: dict[tuple[str, str, str], dict[str, Any]] = {}

    def row(model: str, provider: str, deployment: str) -> dict[str, Any]:
        key = (model, provider, deployment)
        if key not in rows:
            rows[key] = {
                "model": model,
                "provider": provider,
                "deployment": deployment,
                "requests": 0,
                "errors": 0,
                "input_tokens": 0,
                "output_tokens": 0,
                "cost_usd": 0.0,
            }
        return rows[key]

    status_classes: dict[str, float] = defaultdict(float)
    for labels, value in _samples(f.get("switchgear_requests"), "_total"):
        r = row(labels["model"], labels["provider"], labels["deployment"])
        r["requests"] += int(value)
        if labels["status_class"] != "2xx":
            r["errors"] += int(value)
        status_classes[labels["status_class"]] += value
    for labels, value in _samples(f.get("switchgear_tokens"), "_total"):
        r = row(labels["model"], labels["provider"], labels["deployment"])
        r[labels["direction"] + "_tokens"] += int(value)
    for labels, value in _samples(f.get("switchgear_cost_usd"), "_total"):
        row(labels["model"], labels["provider"], labels["deployment"])["cost_usd"] += value
    latency = _histograms(f.get("switchgear_request_duration_seconds"))
    ttft = _histograms(f.get("switchgear_time_to_first_token_seconds"))
    for key, r in rows.items():
        buckets, first = latency.get(key, {}), ttft.get(key, {})
        r["cost_usd"] = round(r["cost_usd"], 9)
        r["p50_ms"], r["p95_ms"] = _ms(quantile(0.5, buckets)), _ms(quantile(0.95, buckets))
        r["ttft_p50_ms"] = _ms(quantile(0.5, first))
    all_latency = _merge(latency.values())
    total_requests = int(sum(status_classes.values()))
    return {
        "totals": {
            "requests": total_requests,
            "errors": int(total_requests - status_classes.get("2xx", 0)),
            "by_status_class": {k: int(v) for k, v in sorted(status_classes.items())},
            "in_flight": int(_value(f, "switchgear_in_flight_requests", "")),
            "input_tokens": int(sum(r["input_tokens"] for r in rows.values())),
            "output_tokens": int(sum(r["output_tokens"] for r in rows.values())),
            "cost_usd": round(sum(r["cost_usd"] for r in rows.values()), 9),
            "fallbacks": int(_value(f, "switchgear_fallbacks", "_total")),
            "rejections": {
                labels["reason"]: int(v) for labels, v in _samples(f.get("switchgear_rejections"), "_total")
            },
            "p50_ms": _ms(quantile(0.5, all_latency)),
            "p95_ms": _ms(quantile(0.95, all_latency)),
            "p99_ms": _ms(quantile(0.99, all_latency)),
            "ttft_p50_ms": _ms(quantile(0.5, _merge(ttft.values()))),
            "cache": _cache(f),
        },
        "models": sorted(rows.values(), key=lambda r: (-r["requests"], r["model"], r["deployment"])),
        "errors": sorted(
            (
                {"model": labels["model"], "provider": labels["provider"], "error_type": labels["error_type"]}
                | {"count": int(value)}
                for labels, value in _samples(f.get("switchgear_request_errors"), "_total")
            ),
            key=lambda e: -e["count"],
        ),
        "settle_queues": _queues(f),
    }


def _value(f: dict[str, Metric], name: str, suffix: str) -> float:
    return sum(value for _, value in _samples(f.get(name), suffix))


def _histograms(family: Metric | None) -> dict[tuple[str, str, str], Buckets]:
    """Cumulative buckets per (model, provider, deployment), summed over the APIs."""
    found: dict[tuple[str, str, str], Buckets] = defaultdict(lambda: defaultdict(float))
    for labels, value in _samples(family, "_bucket"):
        found[(labels["model"], labels["provider"], labels["deployment"])][float(labels["le"])] += value
    return found


def _merge(histograms: Iterable[Buckets]) -> Buckets:
    merged: Buckets = defaultdict(float)
    for buckets in histograms:
        for bound, count in buckets.items():
            merged[bound] += count
    return merged


def _cache(f: dict[str, Metric]) -> dict[str, Any]:
    """Response cache lookups by result (``HIT``, ``MISS``, ``BYPASS``) and what the hits saved."""
    results: dict[str, int] = defaultdict(int)
    for labels, value in _samples(f.get("switchgear_cache_lookups"), "_total"):
        results[labels["result"]] += int(value)
    saved = _value(f, "switchgear_cache_savings_usd", "_total")
    return {"lookups": dict(sorted(results.items())), "saved_usd": round(saved, 9)}


def _queues(f: dict[str, Metric]) -> list[dict[str, Any]]:
    queues: dict[str, dict[str, Any]] = {}
    for name, field, suffix in (
        ("switchgear_settle_queue_depth", "depth", ""),
        ("switchgear_settle_dropped", "dropped", "_total"),
        ("switchgear_settle_failed", "failed", "_total"),
    ):
        for labels, value in _samples(f.get(name), suffix):
            consumer = labels["consumer"]
            entry = queues.setdefault(consumer, {"consumer": consumer, "depth": 0, "dropped": 0, "failed": 0})
            entry[field] += int(value)
    return sorted(queues.values(), key=lambda q: q["consumer"])
