"""The Prometheus metric families switchgear exposes at ``/metrics``: names, help and labels.

Every name is documented in docs/observability.md (the admin UI and ``switchgear status`` read
them); a change here is a change of that page. Labels are bounded: model names and error types
past ``observability.metrics.max_label_values`` distinct values count as ``other``, and the key
and team labels exist only when ``observability.metrics.labels`` turns them on.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

# seconds: a request through an LLM takes from milliseconds (a cached or refused one) to minutes
DURATION_BUCKETS = (
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
    30.0,
    60.0,
    120.0,
    300.0,
)
# seconds: the gateway's own time per request, provider time excluded
OVERHEAD_BUCKETS = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5)

REQUEST_LABELS = ("api", "model", "provider", "deployment", "status_class")
TOKEN_LABELS = ("model", "provider", "deployment", "direction")
COST_LABELS = ("model", "provider", "deployment")
TIMING_LABELS = ("api", "model", "provider", "deployment")


class MetricSet:
    """One instance of every family, registered in ``registry`` (each gateway its own)."""

    def __init__(self, registry: CollectorRegistry, *, key: bool, team: bool, version: str) -> None:
        tenancy = (("key",) if key else ()) + (("team",) if team else ())
        self.tenancy = tenancy
        r = registry
        self.requests = Counter(
            "switchgear_requests",
            "Finished requests, by API, requested model, serving provider and deployment, status class",
            [*REQUEST_LABELS, *tenancy],
            registry=r,
        )
        self.errors = Counter(
            "switchgear_request_errors",
            "Failed requests by error type (the error's code, e.g. overloaded, timeout, budget_exceeded)",
            ["api", "model", "provider", "error_type"],
            registry=r,
        )
        self.duration = Histogram(
            "switchgear_request_duration_seconds",
            "Time from the request's arrival to its last byte",
            TIMING_LABELS,
            buckets=DURATION_BUCKETS,
            registry=r,
        )
        self.ttft = Histogram(
            "switchgear_time_to_first_token_seconds",
            "Streams: time from the request's arrival to the first byte of the stream sent to the client",
            TIMING_LABELS,
            buckets=DURATION_BUCKETS,
            registry=r,
        )
        self.overhead = Histogram(
            "switchgear_gateway_overhead_seconds",
            "Time spent in the gateway per request, provider time excluded",
            ["api"],
            buckets=OVERHEAD_BUCKETS,
            registry=r,
        )
        self.tokens = Counter(
            "switchgear_tokens",
            "Tokens by direction: input (prompt) and output (completion), as the provider reported them",
            [*TOKEN_LABELS, *tenancy],
            registry=r,
        )
        self.cost = Counter(
            "switchgear_cost_usd", "What requests cost, in USD", [*COST_LABELS, *tenancy], registry=r
        )
        self.attempts = Counter(
            "switchgear_upstream_attempts",
            "Upstream attempts by deployment and outcome (ok, or the error type)",
            ["provider", "deployment", "outcome"],
            registry=r,
        )
        self.attempt_duration = Histogram(
            "switchgear_upstream_attempt_duration_seconds",
            "One upstream attempt: until the answer was whole, the stream's first event, or the failure",
            ["provider", "deployment"],
            buckets=DURATION_BUCKETS,
            registry=r,
        )
        self.fallbacks = Counter(
            "switchgear_fallbacks",
            "Moves to the next candidate deployment after a retryable failure",
            ["model"],
            registry=r,
        )
        self.rejections = Counter(
            "switchgear_rejections",
            "Requests refused before any upstream by a rate limit or a budget",
            ["reason"],
            registry=r,
        )
        self.cache = Counter(
            "switchgear_cache_lookups",
            "Cache lookups by result (HIT, MISS, BYPASS), from the response cache",
            ["model", "result"],
            registry=r,
        )
        self.cache_savings = Counter(
            "switchgear_cache_savings_usd",
            "What cache hits saved, in USD: the price the answer had when it was stored",
            ["model"],
            registry=r,
        )
        self.in_flight = Gauge(
            "switchgear_in_flight_requests",
            "Requests received and not yet finished",
            registry=r,
            multiprocess_mode="livesum",
        )
        self.queue_depth = Gauge(
            "switchgear_settle_queue_depth",
            "Finished requests waiting for a settle consumer (access log, spend log, metrics, tracing)",
            ["consumer"],
            registry=r,
            multiprocess_mode="livesum",
        )
        self.queue_dropped = Counter(
            "switchgear_settle_dropped",
            "Records a full settle queue dropped",
            ["consumer"],
            registry=r,
        )
        self.queue_failed = Counter(
            "switchgear_settle_failed",
            "Records a settle consumer failed on",
            ["consumer"],
            registry=r,
        )
        self.spend_pending = Gauge(
            "switchgear_spend_log_pending_rows",
            "Spend-log rows waiting to be written to the database",
            registry=r,
            multiprocess_mode="livesum",
        )
        self.spend_dropped = Counter(
            "switchgear_spend_log_dropped_rows",
            "Spend-log rows lost (a full buffer while the database was unreachable)",
            registry=r,
        )
        self.deployment_state = Gauge(
            "switchgear_deployment_state",
            "1 for each deployment's circuit-breaker state as a worker sees it (closed, open, "
            "half_open, cooling_down after a rate limit), 0 for the others",
            ["deployment", "state"],
            registry=r,
            multiprocess_mode="max",
        )
        self.deployment_in_flight = Gauge(
            "switchgear_deployment_in_flight",
            "Upstream attempts in flight per deployment",
            ["deployment"],
            registry=r,
            multiprocess_mode="livesum",
        )
        self.breaker_opened = Counter(
            "switchgear_circuit_breaker_opened",
            "Times a deployment's circuit breaker opened",
            ["deployment"],
            registry=r,
        )
        self.info = Gauge(
            "switchgear_build_info",
            "The running version (always 1)",
            ["version"],
            registry=r,
            multiprocess_mode="max",
        )
        self.info.labels(version).set(1)
