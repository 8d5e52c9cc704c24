"""Prometheus metrics as a settle consumer: finished requests are counted in batches, off the
request path.

A batch of records is first folded into plain dictionaries (one entry per distinct label set),
then each sum is added to its Prometheus series once, so a batch of 256 requests to one model
costs a handful of series updates, not thousands. Histograms observe each record (a bucket search
and two additions). Gauges (requests in flight, settle queue depths, the spend log's backlog) are
read from their owners by ``refresh``: every second in each worker, and by the worker answering a
scrape just before it answers.

With ``--workers N`` every worker writes its series to memory-mapped files in one directory per
run (``observability.multiprocess``) and a scrape sums them; with one worker they stay in memory.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
from bisect import bisect_left
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from prometheus_client import CollectorRegistry, Histogram, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector

from switchgear import __version__
from switchgear.cache.stage import SAVED
from switchgear.config.model import MetricsSettings
from switchgear.observability.metric_set import DURATION_BUCKETS, OVERHEAD_BUCKETS, MetricSet
from switchgear.observability.spend_log import SpendLogStats
from switchgear.stages.base import Stage
from switchgear.stages.record import RequestRecord
from switchgear.stages.settle import SettleStats

OTHER = "other"
# the classic text format (what generate_latest writes), understood by every Prometheus version
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
REFRESH_EVERY = 1.0  # seconds between two readings of the gauges in a worker
_STATES = ("closed", "open", "half_open", "cooling_down")
_RATE_LIMITED = frozenset({"rate_limit_exceeded", "too_many_parallel_requests", "request_exceeds_limit"})
_BUDGET = "budget_exceeded"


class Bounded:
    """A label's values, at most ``limit`` distinct ones; later new values are ``other``."""

    __slots__ = ("limit", "seen")

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.seen: set[str] = set()

    def __call__(self, value: str) -> str:
        seen = self.seen
        if value in seen:
            return value
        if len(seen) >= self.limit:
            return OTHER
        seen.add(value)
        return value


class FoldedHistogram:
    """A batch's observations of one histogram, folded per label set into bucket counts and a sum,
    then added to each series once (``flush``). The result is what ``observe`` per value gives
    (the same bucket choice: the first upper bound not below the value); only it costs one bucket
    search per value and a few additions per label set, not a lock and a label lookup per value.
    Adds to the series' bucket and sum values directly: prometheus-client has no bulk observe."""

    __slots__ = ("bounds", "children", "folded", "histogram")

    def __init__(self, histogram: Histogram, buckets: Sequence[float]) -> None:
        self.histogram = histogram
        self.bounds = (*buckets, math.inf)
        self.folded: dict[tuple[str, ...], list[float]] = {}
        self.children = Children()

    def add(self, labels: tuple[str, ...], value: float) -> None:
        sums = self.folded.get(labels)
        if sums is None:
            sums = self.folded[labels] = [0.0] * (len(self.bounds) + 1)
        sums[0] += value
        sums[1 + bisect_left(self.bounds, value)] += 1

    def flush(self) -> None:
        for labels, sums in self.folded.items():
            child = self.children(self.histogram, labels)
            child._sum.inc(sums[0])
            for bucket, count in zip(child._buckets, sums[1:], strict=True):
                if count:
                    bucket.inc(count)
        self.folded.clear()


class Children:
    """Each series' child per label values, found once: prometheus-client's ``labels()`` checks
    and locks on every call, and a batch touches a child per series and label set (ten
    deployments: ten times as many). Bounded (label values are): cleared past ``limit``."""

    __slots__ = ("found", "limit")

    def __init__(self, limit: int = 100_000) -> None:
        self.found: dict[tuple[int, tuple[str, ...]], Any] = {}
        self.limit = limit

    def __call__(self, metric: Any, labels: tuple[str, ...]) -> Any:
        key = (id(metric), labels)
        child = self.found.get(key)
        if child is None:
            if len(self.found) >= self.limit:
                self.found.clear()
            child = self.found[key] = metric.labels(*labels)
        return child


@dataclass(slots=True)
class Sources:
    """Where the gauges are read: the engine's in-flight count, the settle queues, the spend log."""

    in_flight: Callable[[], int] | None = None
    queues: Callable[[], Sequence[SettleStats]] | None = None
    spend_log: Callable[[], SpendLogStats] | None = None
    # each deployment's health: (``provider/model``, breaker state, times opened, attempts in flight)
    deployments: Callable[[], Iterable[tuple[str, str, int, int]]] | None = None


class Metrics(Stage):
    name = "metrics"

    def __init__(self, settings: MetricsSettings, multiprocess_dir: str | None = None) -> None:
        self.settings = settings
        self.multiprocess_dir = multiprocess_dir
        self.registry = CollectorRegistry(auto_describe=True)
        labels = settings.labels
        self.set = MetricSet(self.registry, key=labels.key, team=labels.team, version=__version__)
        self._key, self._team = labels.key, labels.team
        limit = settings.max_label_values
        self._model = Bounded(limit)
        self._error = Bounded(limit)
        self._deployment = Bounded(limit)
        self._tenant = Bounded(limit)
        self._tenanted = labels.key or labels.team
        self._deployments: dict[tuple[str, str | None], str] = {}
        self._children = Children()
        self._duration = FoldedHistogram(self.set.duration, DURATION_BUCKETS)
        self._ttft = FoldedHistogram(self.set.ttft, DURATION_BUCKETS)
        self._overhead = FoldedHistogram(self.set.overhead, OVERHEAD_BUCKETS)
        self._upstream = FoldedHistogram(self.set.attempt_duration, DURATION_BUCKETS)
        self.sources = Sources()
        self._seen_drops: dict[str, tuple[int, int]] = {}
        self._seen_spend_drops = 0
        self._seen_opened: dict[str, int] = {}
        self._ticker: asyncio.Task[None] | None = None

    def watch(self, sources: Sources) -> None:
        """Read the gauges from these (the engine is built after its stages)."""
        self.sources = sources

    # -- the settle consumer ------------------------------------------------------------------

    async def settle(self, records: Sequence[RequestRecord]) -> None:
        self.count(records)

    def count(self, records: Sequence[RequestRecord]) -> None:
        """Fold a batch into per-label sums, then add each sum to its series once."""
        requests: dict[tuple[str, ...], int] = {}
        errors: dict[tuple[str, ...], int] = {}
        tokens: dict[tuple[str, ...], int] = {}
        cost: dict[tuple[str, ...], int] = {}
        attempts: dict[tuple[str, str, str], int] = {}
        fallbacks: dict[str, int] = {}
        rejections: dict[str, int] = {}
        cache: dict[tuple[str, str], int] = {}
        savings: dict[str, int] = {}
        duration, ttft, overhead, upstream = self._duration, self._ttft, self._overhead, self._upstream
        model_of, error_of, deployment_of = self._model, self._error, self._deployment_of
        tenancy: tuple[str, ...] = ()
        for r in records:
            model = model_of(r.model)
            provider = r.provider or ""
            deployment = deployment_of(provider, r.served_model) if r.provider is not None else ""
            if self._tenanted:
                tenancy = self._tenancy(r)
            key = (r.api, model, provider, deployment, _status_class(r.status), *tenancy)
            requests[key] = requests.get(key, 0) + 1
            timing = (r.api, model, provider, deployment)
            duration.add(timing, r.duration_ms / 1000)
            overhead.add((r.api,), r.overhead_ms / 1000)
            if r.stream and r.ttfb_ms is not None and r.status < 400:
                ttft.add(timing, r.ttfb_ms / 1000)
            if r.error_type is not None:
                ekey = (r.api, model, provider, error_of(r.error_type))
                errors[ekey] = errors.get(ekey, 0) + 1
                if not r.attempts:
                    reason = _rejection(r.error_type)
                    if reason is not None:
                        rejections[reason] = rejections.get(reason, 0) + 1
            usage = r.usage
            if usage is not None:
                ikey = (model, provider, deployment, "input", *tenancy)
                tokens[ikey] = tokens.get(ikey, 0) + usage.prompt_tokens
                okey = (model, provider, deployment, "output", *tenancy)
                tokens[okey] = tokens.get(okey, 0) + usage.completion_tokens
            if r.cost_nanousd:
                ckey = (model, provider, deployment, *tenancy)
                cost[ckey] = cost.get(ckey, 0) + r.cost_nanousd
            for a in r.attempts:
                d = a.deployment
                name = d.provider.name
                where = deployment_of(name, d.model)
                akey = (name, where, "ok" if a.error is None else error_of(a.error_type or "error"))
                attempts[akey] = attempts.get(akey, 0) + 1
                upstream.add((name, where), a.latency_ms / 1000)
            if len(r.attempts) > 1:
                fallbacks[model] = fallbacks.get(model, 0) + len(r.attempts) - 1
            if r.cache is not None:
                hkey = (model, r.cache)
                cache[hkey] = cache.get(hkey, 0) + 1
                saved = SAVED.get(r)  # a hit: what the answer would have cost
                if saved:
                    savings[model] = savings.get(model, 0) + saved
        s, child = self.set, self._children
        for labels, n in requests.items():
            child(s.requests, labels).inc(n)
        for labels, n in errors.items():
            child(s.errors, labels).inc(n)
        for labels, n in tokens.items():
            if n:
                child(s.tokens, labels).inc(n)
        for labels, nanousd in cost.items():
            child(s.cost, labels).inc(nanousd / 1e9)
        for labels, n in attempts.items():
            child(s.attempts, labels).inc(n)
        for model, n in fallbacks.items():
            child(s.fallbacks, (model,)).inc(n)
        for reason, n in rejections.items():
            child(s.rejections, (reason,)).inc(n)
        for labels, n in cache.items():
            child(s.cache, labels).inc(n)
        for model, nanousd in savings.items():
            child(s.cache_savings, (model,)).inc(nanousd / 1e9)
        for folded in (duration, ttft, overhead, upstream):
            folded.flush()

    def _deployment_of(self, provider: str, model: str | None) -> str:
        """The deployment label ``provider/model``, made once per pair (and bounded)."""
        pair = (provider, model)
        label = self._deployments.get(pair)
        if label is None:
            label = self._deployment(f"{provider}/{model}")
            if len(self._deployments) < self.settings.max_label_values * 2:
                self._deployments[pair] = label
        return label

    def _tenancy(self, r: RequestRecord) -> tuple[str, ...]:
        if not (self._key or self._team):
            return ()
        found: tuple[str, ...] = ()
        if self._key:
            found += (self._tenant(r.principal.key_id or ""),)
        if self._team:
            found += (self._tenant(r.principal.team_id or ""),)
        return found

    # -- gauges --------------------------------------------------------------------------------

    def refresh(self) -> None:
        """Read the gauges' sources now (and turn their running totals into counter increments)."""
        s, sources = self.set, self.sources
        if sources.in_flight is not None:
            s.in_flight.set(sources.in_flight())
        if sources.queues is not None:
            for q in sources.queues():
                s.queue_depth.labels(q.consumer).set(q.depth)
                dropped, failed = self._seen_drops.get(q.consumer, (0, 0))
                if q.dropped > dropped:
                    s.queue_dropped.labels(q.consumer).inc(q.dropped - dropped)
                if q.failed > failed:
                    s.queue_failed.labels(q.consumer).inc(q.failed - failed)
                self._seen_drops[q.consumer] = (q.dropped, q.failed)
        if sources.deployments is not None:
            for name, state, opened, in_flight in sources.deployments():
                label = self._deployment(name)
                for each in _STATES:
                    s.deployment_state.labels(label, each).set(1 if each == state else 0)
                s.deployment_in_flight.labels(label).set(in_flight)
                seen = self._seen_opened.get(label, 0)
                if opened > seen:
                    s.breaker_opened.labels(label).inc(opened - seen)
                    self._seen_opened[label] = opened
        if sources.spend_log is not None:
            spend = sources.spend_log()
            s.spend_pending.set(spend.buffered)
            if spend.dropped > self._seen_spend_drops:
                s.spend_dropped.inc(spend.dropped - self._seen_spend_drops)
                self._seen_spend_drops = spend.dropped

    async def start(self) -> None:
        self._ticker = asyncio.get_running_loop().create_task(self._tick())

    async def close(self) -> None:
        if self._ticker is not None:
            self._ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._ticker
            self._ticker = None

    async def _tick(self) -> None:
        while True:
            self.refresh()
            await asyncio.sleep(REFRESH_EVERY)

    # -- exposition ----------------------------------------------------------------------------

    def collect_registry(self) -> CollectorRegistry:
        """What a scrape reads: this worker's registry, or every worker's files (multi-process).
        Safe off the event loop (call ``refresh`` on it first)."""
        if self.multiprocess_dir is None:
            return self.registry
        registry = CollectorRegistry()
        MultiProcessCollector(registry, path=self.multiprocess_dir)  # type: ignore[no-untyped-call]
        return registry

    def exposition(self) -> tuple[bytes, str]:
        """The Prometheus text format of every series, and its content type."""
        return generate_latest(self.collect_registry()), CONTENT_TYPE


def _status_class(status: int) -> str:
    return f"{status // 100}xx"


def _rejection(error_type: str) -> str | None:
    if error_type == _BUDGET:
        return "budget"
    if error_type in _RATE_LIMITED:
        return "rate_limit"
    return None
