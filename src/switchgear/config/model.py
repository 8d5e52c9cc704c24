"""The settings tree: typed, frozen, validated once at startup; unknown keys are errors.

Durations are strings with units ("30s", "500ms") or bare numbers of seconds; sizes always carry
a unit ("20MB": a bare number is refused, since ``20`` meaning 20 bytes is never what was meant).
Secrets are ``SecretStr`` and never print. Cross-references (a deployment naming a provider) are
checked here; whether a provider ``type`` is one switchgear serves, and which keys it takes beyond
the common ones, is the provider registry's knowledge: it passes its table of settings models to
``parse_settings``.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ModelWrapValidatorHandler,
    SecretStr,
    SerializeAsAny,
    ValidationInfo,
    field_validator,
    model_validator,
)

from switchgear.config.guardrails import GuardrailSettings
from switchgear.config.tiering import TieringSettings
from switchgear.core.units import parse_duration, parse_size

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


def _duration(value: Any) -> Any:
    if isinstance(value, str):
        return parse_duration(value)
    if isinstance(value, bool):
        raise ValueError("a duration is a string with a unit, e.g. '30s'")
    return value


def _size(value: Any) -> Any:
    if isinstance(value, str):
        return parse_size(value)
    if isinstance(value, int | float) and not isinstance(value, bool):
        raise ValueError(f"a size needs a unit: write e.g. '20MB' or '512KiB', not a bare {value!r}")
    return value


def _not_bool(value: Any) -> Any:
    if isinstance(value, bool):
        raise ValueError("expected a number, not true/false")
    return value


Duration = Annotated[float, BeforeValidator(_duration), Field(gt=0)]
DurationOrZero = Annotated[float, BeforeValidator(_duration), Field(ge=0)]
Size = Annotated[int, BeforeValidator(_size), Field(gt=0)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class Timeouts(_Model):
    """Deadlines for one upstream attempt."""

    connect: Duration = 10.0
    first_byte: Duration = 600.0  # non-streaming answers arrive whole: this is the generation time
    chunk_gap: Duration = 120.0  # longest silence between two stream chunks
    total: Duration = 1800.0


class PartialTimeouts(_Model):
    connect: Duration | None = None
    first_byte: Duration | None = None
    chunk_gap: Duration | None = None
    total: Duration | None = None

    def over(self, base: Timeouts) -> Timeouts:
        return base.model_copy(update=self.model_dump(exclude_none=True))


_PROXY_SCHEMES = ("http://", "https://")


def proxy_url(value: Any) -> Any:
    """A proxy URL (``http://`` or ``https://``, a bare ``host:port`` is http) or "none" for no proxy;
    ``false`` and an empty string are "none"."""
    if value is False or (isinstance(value, str) and value.strip().lower() in ("", "none")):
        return "none"
    if isinstance(value, bool) or not isinstance(value, str | SecretStr):
        raise ValueError("a proxy is a URL such as 'http://proxy.internal:3128', or none / false")
    url = value.get_secret_value() if isinstance(value, SecretStr) else value.strip()
    if "://" not in url:
        url = "http://" + url
    scheme = url.split("://", 1)[0].lower()
    if not url.lower().startswith(_PROXY_SCHEMES):
        raise ValueError(
            f"{scheme}:// proxies are not supported (http:// and https:// proxies are), or none to go direct"
        )
    if not re.match(r"^https?://([^/\s]*@)?(\[[0-9A-Fa-f:.]+\]|[^:/\s@\[\]]+)(:\d{1,5})?/?$", url, re.I):
        raise ValueError(
            "a proxy URL is scheme://[user:password@]host[:port] with no path "
            "(percent-encode '/' in a user name or password)"
        )
    return url


# A proxy URL may carry credentials: it is a secret and never printed.
ProxyURL = Annotated[SecretStr, BeforeValidator(proxy_url)]


class UpstreamSettings(_Model):
    """The shared outbound HTTP client.

    ``https_proxy`` / ``http_proxy`` / ``no_proxy`` / ``ca_file`` default to the environment's
    ``HTTPS_PROXY`` / ``HTTP_PROXY`` / ``NO_PROXY`` / ``SSL_CERT_FILE`` (see ``config.load``).
    """

    timeouts: Timeouts = Timeouts()
    max_connections: int = Field(default=2000, ge=1)
    max_connections_per_origin: int = Field(default=1000, ge=1)
    keepalive: Duration = 30.0
    dns_ttl: DurationOrZero = 30.0  # how long a name lookup's answer is reused; 0: look up every time
    https_proxy: ProxyURL | None = None  # for https:// upstreams (CONNECT tunnel)
    http_proxy: ProxyURL | None = None  # for http:// upstreams (absolute-form requests)
    no_proxy: str | None = None  # hosts reached directly: "localhost,.internal,10.0.0.0/8,*"
    ca_file: str | None = None  # PEM bundle replacing the system's trusted CAs


class TlsSettings(_Model):
    """A provider's TLS: its own trusted CAs, a client certificate (mTLS), or no verification (a lab)."""

    ca_file: str | None = None  # PEM bundle replacing the trusted CAs for this provider
    cert_file: str | None = None  # client certificate chain (PEM), may also hold the key
    key_file: str | None = None
    key_password: SecretStr | None = None
    verify: bool = True

    @model_validator(mode="after")
    def _pairs(self) -> TlsSettings:
        if (self.key_file or self.key_password) and not self.cert_file:
            raise ValueError("key_file and key_password need cert_file (the client certificate)")
        return self


class SettleSettings(_Model):
    """The queues that take finished requests' records to the settle consumers (access log, ...)."""

    queue_size: int = Field(default=10_000, ge=1)  # records waiting per consumer
    overflow: Literal["drop_new", "drop_old"] = "drop_new"  # what a full queue drops (counted)
    batch_size: int = Field(default=256, ge=1)  # records handed to a consumer at once
    # how long a woken consumer waits for more records before taking its batch: one wake-up per
    # few requests instead of one per request at low concurrency (0: take at once)
    linger: DurationOrZero = 0.005


class CorsSettings(_Model):
    """Cross-origin access for browser clients. ``"*"`` in ``allow_origins`` allows any origin; in
    ``allow_headers`` it allows whatever request headers the browser asks for."""

    allow_origins: list[str] = Field(min_length=1)
    allow_headers: list[str] = ["*"]
    max_age: Duration = 600.0

    @field_validator("allow_origins")
    @classmethod
    def _origins(cls, value: list[str]) -> list[str]:
        for origin in value:
            if origin != "*" and not re.match(r"^https?://[^/\s]+$", origin):
                raise ValueError(
                    f"an origin is '*' or scheme://host[:port] without a path, e.g. "
                    f"'https://app.example.com', got {origin!r}"
                )
        return [origin.lower() for origin in value]


class ServerSettings(_Model):
    host: str = "127.0.0.1"
    port: Annotated[int, BeforeValidator(_not_bool)] = Field(default=4000, ge=0, le=65535)
    master_key: SecretStr | None = None
    # Serving without any key on a non-loopback address needs this said explicitly.
    allow_unauthenticated: bool = False
    max_body_size: Size = 20_000_000
    max_header_size: Size = 65_536  # the whole request head: request line and every header
    header_timeout: Duration = 10.0  # from the first byte of a request head (or the connect) to its end
    # Open client connections per worker; None: derived from the process's open-file limit.
    max_connections: Annotated[int, BeforeValidator(_not_bool)] | None = Field(default=None, ge=1)
    workers: Annotated[int, BeforeValidator(_not_bool)] = Field(default=1, ge=1, le=256)
    drain_timeout: Duration = 30.0
    # SSE comments sent while a stream waits for its first event (off by default: they commit the
    # response, so a failure after the first one is an in-band error, not a fail-over)
    stream_keepalive: Duration | None = None
    log_format: Literal["text", "json"] = "text"
    access_log: bool = True  # one line per finished request, at info
    settle: SettleSettings = SettleSettings()
    # switchgear gateways a request may already have passed through (x-switchgear-hop); past it: 508
    max_hops: Annotated[int, BeforeValidator(_not_bool)] = Field(default=3, ge=0, le=100)
    cors: CorsSettings | None = None
    # the admin UI's cookies are Secure: None (default) when the request came over https; true
    # always (a proxy in front ends TLS); false never
    ui_secure_cookies: bool | None = None

    @field_validator("master_key")
    @classmethod
    def _empty_is_none(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not value.get_secret_value():
            return None  # an empty value (e.g. from an unset ${VAR:-}) means no key
        return value


# The validation context key under which ``parse_settings`` passes the provider settings models
# (``type`` name -> model) that the provider registry declares.
PROVIDER_TYPES = "provider_types"


class ProviderSettings(_Model):
    """What every provider has, whatever its family. ``type`` is a wire family or a vendor profile name.

    A family with keys of its own (Bedrock's region and AWS credentials, Vertex's project, Azure's
    api_version) declares them in a subclass, in ``providers/<family>/settings.py``. Given the
    registry's table of those subclasses (``parse_settings(..., provider_types=...)``), each
    provider is validated as the model of its ``type``, so another family's key is an unknown key;
    without it, as these common keys only.
    """

    type: str
    base_url: str | None = None
    api_key: SecretStr | None = None
    headers: dict[str, SecretStr] = {}
    timeouts: PartialTimeouts | None = None
    proxy: ProxyURL | None = None  # overrides upstream.https_proxy / http_proxy; "none" goes direct
    tls: TlsSettings | None = None
    # Keys common to every family go here; a family's own keys go in its settings model.

    @field_validator("base_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is not None and not re.match(r"^https?://[^/\s]+", value):
            raise ValueError(f"base_url must be an http:// or https:// URL, got {value!r}")
        return value.rstrip("/") if value else value

    @model_validator(mode="wrap")
    @classmethod
    def _as_its_type(
        cls, data: Any, handler: ModelWrapValidatorHandler[ProviderSettings], info: ValidationInfo
    ) -> ProviderSettings:
        """Validate as the settings model of the provider's ``type``, when the table is given."""
        types = info.context.get(PROVIDER_TYPES) if isinstance(info.context, dict) else None
        kind = data.get("type") if isinstance(data, dict) else None
        model: type[ProviderSettings] | None = types.get(kind) if types and isinstance(kind, str) else None
        if model is not None and model is not cls and issubclass(model, cls):
            return model.model_validate(data, context=info.context)
        return handler(data)


def _usd(value: Any) -> Any:
    if isinstance(value, bool) or not isinstance(value, str | int | float | Decimal):
        raise ValueError("a price is a decimal number of USD per million tokens, e.g. '0.15'")
    try:
        price = Decimal(str(value))
    except InvalidOperation as exc:
        raise ValueError(f"invalid price {value!r}") from exc
    if price < 0 or not price.is_finite():
        raise ValueError(f"invalid price {value!r}")
    exponent = price.normalize().as_tuple().exponent
    if isinstance(exponent, int) and exponent < -6:
        raise ValueError(
            f"price {value!r} is finer than a millionth of a dollar per million tokens: "
            "prices are USD per million tokens (e.g. '0.15'), not per token"
        )
    return price


UsdPerMillion = Annotated[Decimal, BeforeValidator(_usd)]


class PricingSettings(_Model):
    """Prices in USD per million tokens (decimal strings), overriding the bundled catalog."""

    input: UsdPerMillion | None = None
    output: UsdPerMillion | None = None
    cache_read: UsdPerMillion | None = None
    cache_write: UsdPerMillion | None = None
    reasoning_output: UsdPerMillion | None = None  # reasoning output tokens (else the output price)


class DeploymentSettings(_Model):
    provider: str
    model: str = Field(min_length=1)
    weight: int = Field(default=1, ge=0)
    pricing: PricingSettings | None = None  # this deployment's prices, over the model's and the catalog's
    rpm: int | None = Field(default=None, ge=1)  # requests per minute it takes (``routing: usage``)
    tpm: int | None = Field(default=None, ge=1)  # tokens per minute it takes (``routing: usage``)
    timeouts: PartialTimeouts | None = None  # over the model's, the provider's and upstream.timeouts


Strategy = Literal["weighted", "latency", "cost", "least-busy", "usage", "ordered"]


def _hedge_after(value: Any) -> Any:
    if isinstance(value, str) and value.strip().lower() == "p95":
        return "p95"
    return _duration(value)


class HedgeSettings(_Model):
    """A second attempt when the first has no first byte within ``after`` (a duration, or ``p95``:
    the pool's observed 95th percentile); the first answer wins, the other is cancelled."""

    after: Annotated[float | Literal["p95"], BeforeValidator(_hedge_after)]

    @field_validator("after")
    @classmethod
    def _positive(cls, value: float | str) -> float | str:
        if isinstance(value, float | int) and value <= 0:
            raise ValueError("after must be a positive duration (e.g. '800ms') or 'p95'")
        return value


class ModelSemanticSettings(_Model):
    """A model's own semantic-cache settings (unset: ``cache.semantic``'s)."""

    enabled: bool | None = None
    threshold: float | None = Field(default=None, gt=0, le=1)
    ttl: Duration | None = None


class ModelCacheSettings(_Model):
    semantic: ModelSemanticSettings | None = None


class ModelSettings(_Model):
    """A public model name and the deployments that serve it, tried in order."""

    name: str = Field(min_length=1, max_length=256)
    # a tiered model: each request goes to one of ``tiering.tiers`` (docs/tiering.md)
    tiering: TieringSettings | None = None
    deployments: list[DeploymentSettings] = []  # at least one, unless ``tiering`` is set
    pricing: PricingSettings | None = None
    context_window: int | None = Field(default=None, ge=1)
    max_output_tokens: int | None = Field(default=None, ge=1)
    stream_keepalive: Duration | None = None  # overrides server.stream_keepalive for this model
    routing: Strategy = "weighted"  # how a request picks among the deployments (docs/routing.md)
    # other models tried, in order, once this model's deployments (and retries) have failed
    fallbacks: list[str] = []
    # larger-context models a request too large for ``context_window`` goes to, before any upstream call
    context_window_fallbacks: list[str] = []
    # models tried when a deployment refuses the request on its content policy
    content_policy_fallbacks: list[str] = []
    retries: int = Field(default=0, ge=0, le=10)  # extra rounds over the pool, with backoff
    timeouts: PartialTimeouts | None = None  # over the provider's and upstream.timeouts
    hedge: HedgeSettings | None = None  # off unless set
    cache: ModelCacheSettings | None = None  # e.g. {semantic: {enabled: true, threshold: 0.92}}

    @field_validator("deployments")
    @classmethod
    def _served(cls, value: list[DeploymentSettings], info: ValidationInfo) -> list[DeploymentSettings]:
        tiered = info.data.get("tiering") is not None
        if not tiered and not value:
            raise ValueError("a model needs at least one deployment (or tiering: docs/tiering.md)")
        if tiered and value:
            raise ValueError("a tiered model has no deployments of its own (its tiers serve it)")
        return value


class BreakerSettings(_Model):
    """A deployment's circuit breaker: it opens after ``failures`` failures in a row, or when at
    least ``min_requests`` attempts in a ``window`` failed at ``error_rate`` or more; while open the
    deployment is skipped; after ``cooldown`` one request probes it (success closes the breaker)."""

    enabled: bool = True
    failures: int = Field(default=5, ge=1)
    window: Duration = 30.0
    error_rate: float = Field(default=0.5, gt=0, le=1)
    min_requests: int = Field(default=20, ge=1)
    cooldown: Duration = 30.0


class RetryBudgetSettings(_Model):
    """Retries (not fail-overs) are paid from a bucket of ``burst`` tokens that each request refills
    by ``ratio``: at most ``ratio`` retries per request over time, so a dead provider cannot
    multiply the traffic sent to it."""

    ratio: float = Field(default=0.2, ge=0, le=10)
    burst: int = Field(default=10, ge=0)


class RoutingSettings(_Model):
    """Gateway-wide routing and reliability defaults (docs/routing.md)."""

    # upstream statuses that fail over and retry (besides timeouts and connection errors)
    retry_on: list[Annotated[int, Field(ge=400, le=599)]] = [408, 429, 500, 502, 503, 504, 529]
    circuit_breaker: BreakerSettings = BreakerSettings()
    backoff: Duration = 0.5  # the first retry waits up to this (full jitter), doubling each time
    max_backoff: Duration = 8.0
    max_retry_after: DurationOrZero = 30.0  # the longest Retry-After honoured (wait or cool-down)
    rate_limit_cooldown: DurationOrZero = 5.0  # a 429 without Retry-After cools its deployment this long
    # besides 429: statuses whose Retry-After cools the deployment down for that long (e.g. [503]);
    # they also count as breaker failures
    cooldown_on: list[Annotated[int, Field(ge=500, le=599)]] = []
    # with storage.redis_url: breaker openings and cool-downs are told to every worker and replica
    share_health: bool = True
    deadline: Duration = 600.0  # no attempt or retry starts after this, counted from arrival
    retry_budget: RetryBudgetSettings = RetryBudgetSettings()
    latency_decay: float = Field(default=0.3, gt=0, le=1)  # weight of a new sample in the average
    # ``latency``: the share of requests that go to the slower of the two picks, so that a
    # deployment that was slow is measured again and wins back its traffic once it recovers
    latency_explore: float = Field(default=0.05, ge=0, le=0.5)
    # ``latency``: two picks whose scores are within this share of each other are equally fast
    # (either goes first, at random): a few percent of noise does not send all traffic to one
    latency_buffer: float = Field(default=0.2, ge=0, le=10)


class StorageSettings(_Model):
    """Where state lives. ``database_url`` (else a SQLite file in ``data_dir``): keys, budgets,
    spend (``switchgear.storage``). ``redis_url``: budgets and rate limits shared by every worker and
    replica (without it they are kept in the process, one worker)."""

    database_url: SecretStr | None = None  # may carry a password: a secret, never printed
    data_dir: str | None = None  # None: $XDG_DATA_HOME/switchgear, else ~/.local/share/switchgear
    migrate_on_start: bool = True  # apply pending migrations when the gateway opens the database
    spend_log_retention_days: int | None = Field(default=None, ge=1)  # None: keep raw rows forever
    redis_url: SecretStr | None = None  # redis://[user:password@]host:port/db, rediss://, unix://

    @field_validator("redis_url")
    @classmethod
    def _redis_scheme(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or not value.get_secret_value().strip():
            return None
        if not re.match(r"^(redis|rediss|unix)://", value.get_secret_value()):
            raise ValueError("redis_url must start with redis://, rediss:// or unix://")
        return value

    @field_validator("database_url")
    @classmethod
    def _database_kind(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or not value.get_secret_value().strip():
            return None  # an empty value (e.g. from an unset ${VAR:-}) means the default file
        if not re.match(
            r"^(sqlite(\+aiosqlite)?:///|postgres(ql)?(\+asyncpg)?://)", value.get_secret_value().strip()
        ):
            raise ValueError(
                "database_url must be a SQLite (sqlite:///path/to/file.db) or PostgreSQL "
                "(postgresql://user:password@host:5432/dbname) URL"
            )
        return value


class SpendLogSettings(_Model):
    """The spend log: one row per finished request, written in batches by a background writer."""

    enabled: bool = True
    batch_size: int = Field(default=2000, ge=1)  # rows per database transaction
    flush_interval: Duration = 1.0  # the longest a row waits before its batch is written
    # rows held while the database is unreachable (written once it returns, idempotent by request id)
    buffer: int = Field(default=100_000, ge=1)
    overflow: Literal["drop_new", "drop_old"] = "drop_old"  # what a full buffer drops (counted)


class GovernanceSettings(_Model):
    """Virtual keys, budgets, rate limits and the spend log (docs/governance.md). On when
    ``server.master_key`` is set (it creates and manages the keys), unless ``enabled: false``."""

    enabled: bool | None = None  # None: on exactly when server.master_key is set
    # the output tokens a request is assumed to generate at worst when it sets no max_tokens
    default_max_tokens: int = Field(default=4096, ge=1)
    # a reservation a worker never settled (it died) is returned after this long
    reservation_ttl: Duration = 900.0
    # admit without shared limits while Redis is unreachable (false: refuse with a 503)
    fail_open: bool = False
    # the global budget over every request (USD), and its period ("1h", "1d", "7d", "30d", "month")
    max_budget: Annotated[Decimal, BeforeValidator(_not_bool)] | None = Field(default=None, ge=0)
    budget_duration: Literal["1h", "1d", "7d", "30d", "month"] | None = None
    # how often every key and budget is read again from the database (the safety net under the
    # change feed: changes reach other replicas through Redis within a second)
    refresh_interval: Duration = 30.0
    # POST target for soft-budget alerts (JSON), or None
    alert_webhook: str | None = None
    spend_log: SpendLogSettings = SpendLogSettings()


class ExactCacheSettings(_Model):
    """The exact-match response cache (``docs/caching.md``): an identical request from the same
    tenant is answered from the cache, with no upstream call and at no cost."""

    enabled: bool = False
    backend: Literal["memory", "redis"] = "memory"  # redis: storage.redis_url, shared by replicas
    ttl: Duration = 3600.0  # how long an answer is kept unless the request says otherwise
    max_ttl: Duration = 7 * 86400.0  # the most a request's own ttl / max-age may ask for
    max_bytes: Size = 256 * 1000 * 1000  # memory backend: total size of the entries (LRU beyond)
    max_entry_bytes: Size = 1024 * 1024  # an answer larger than this (stored form) is not cached
    # requests with a temperature above this are not cached unless the request asks (cache ttl)
    max_temperature: float | None = Field(default=None, ge=0)
    models: list[str] = []  # only these public model names (empty: every model)
    prefix: str = Field(default="switchgear:cache:", min_length=1)  # redis key prefix
    timeout: Duration = 0.05  # redis: longest wait for a lookup before going on as a miss


class SemanticCacheSettings(_Model):
    """The semantic cache (``docs/caching.md``): after an exact miss, a request whose last user
    turn is close in meaning to a stored one (same tenant, model, system prompt, tools and
    parameters) gets that answer. Needs ``cache.exact`` (it looks up first and holds the answers)."""

    enabled: bool = False  # for every model (a model's ``cache.semantic`` overrides)
    # "builtin" (all-MiniLM-L6-v2 int8 ONNX, the ``semantic`` extra) or an embeddings model in ``models``
    embedder: str = Field(default="builtin", min_length=1)
    # cosine at or above which a stored question answers (None: the built-in model's calibrated value)
    threshold: float | None = Field(default=None, gt=0, le=1)
    ttl: Duration = 3600.0  # at most as long as the exact cache keeps the answer
    vetoes: bool = True  # refuse a hit when the numbers differ or a name is swapped for another
    requests: bool = False  # requests may turn it on (cache.semantic / header) where it is off
    max_entries: int = Field(default=100_000, ge=1)  # per worker, oldest first out
    probes: int = Field(default=16, ge=1)  # index cells searched per lookup
    threads: int = Field(default=1, ge=1, le=64)  # embedding threads (each one core)
    # memory backend: the index (with its answers) is written here on stop and read back on start
    path: str | None = None


class CacheSettings(_Model):
    exact: ExactCacheSettings = ExactCacheSettings()
    semantic: SemanticCacheSettings = SemanticCacheSettings()


class MetricLabels(_Model):
    """Labels beyond model, provider, deployment and API, each off by default: a label per key or
    team multiplies every series by the number of keys or teams."""

    key: bool = False  # key_id on the request, token and cost series
    team: bool = False  # team_id on the same series


class MetricsSettings(_Model):
    """Prometheus metrics at ``/metrics`` (docs/observability.md)."""

    enabled: bool = True
    require_key: bool = False  # scraping needs the master key (Authorization: Bearer)
    labels: MetricLabels = MetricLabels()
    # distinct values one label may take (key, team, error type) before the rest count as "other"
    max_label_values: int = Field(default=500, ge=1)
    # where worker processes share their counters (``--workers`` > 1); None: a fresh directory
    # under the system's temporary directory, made and removed by each run
    multiprocess_dir: str | None = None


class TracingSettings(_Model):
    """OpenTelemetry spans per request and per upstream attempt, exported over OTLP/HTTP. Needs the
    ``otel`` extra (``pip install 'switchgear[otel]'``)."""

    enabled: bool = False
    # OTLP/HTTP traces endpoint, e.g. http://collector:4318/v1/traces
    endpoint: str = "http://127.0.0.1:4318/v1/traces"
    headers: dict[str, SecretStr] = {}  # sent with every export (an API key of the tracing backend)
    sample_ratio: float = Field(default=1.0, ge=0.0, le=1.0)  # of requests without a traceparent
    service_name: str = Field(default="switchgear", min_length=1)
    timeout: Duration = 10.0  # one export's deadline

    @field_validator("endpoint")
    @classmethod
    def _http(cls, value: str) -> str:
        if not re.match(r"^https?://[^/\s]+", value):
            raise ValueError(f"endpoint must be an http:// or https:// URL, got {value!r}")
        return value


class PayloadSettings(_Model):
    """Prompts and answers kept beside the request log (docs/observability.md). Off by default;
    needs governance (the database). A key or its team opts out with ``log_payloads: false`` in
    its ``metadata``."""

    enabled: bool = False
    max_bytes: Size = 32 * 1000  # per side: a longer prompt or answer is cut (and marked truncated)
    retention: Duration = 7 * 86400.0  # payloads older than this are deleted (hourly)
    # each text passes the secret masking (configured provider keys, key shapes), then these hooks
    # in order: "package.module:function", a function taking the text and returning it redacted
    redact: list[Annotated[str, Field(pattern=r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*$")]] = []


class ObservabilitySettings(_Model):
    metrics: MetricsSettings = MetricsSettings()
    tracing: TracingSettings = TracingSettings()
    payloads: PayloadSettings = PayloadSettings()


class Settings(_Model):
    server: ServerSettings = ServerSettings()
    upstream: UpstreamSettings = UpstreamSettings()
    providers: dict[str, SerializeAsAny[ProviderSettings]] = {}  # each one its type's own model
    models: list[ModelSettings] = []
    storage: StorageSettings = StorageSettings()
    governance: GovernanceSettings = GovernanceSettings()
    cache: CacheSettings = CacheSettings()
    routing: RoutingSettings = RoutingSettings()
    observability: ObservabilitySettings = ObservabilitySettings()
    # Extra stages, as "package.module:factory" (a Stage subclass or a function returning a Stage,
    # called with the settings); they run after the built-in stages, in this order.
    stages: list[Annotated[str, Field(pattern=r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*$")]] = []
    guardrails: list[GuardrailSettings] = []  # named policies (docs/guardrails.md)

    @field_validator("providers")
    @classmethod
    def _provider_names(cls, value: dict[str, ProviderSettings]) -> dict[str, ProviderSettings]:
        for name in value:
            if not _NAME.match(name):
                raise ValueError(
                    f"provider name {name!r} must be 1-64 letters, digits, '.', '_' or '-' (no '/')"
                )
        return value

    @model_validator(mode="after")
    def _references(self) -> Settings:
        models: list[tuple[str | None, list[str | None]]] = [
            (m.name, [d.provider for d in m.deployments]) for m in self.models
        ]
        problems = (
            reference_errors(list(self.providers), models)
            + self._fallback_errors()
            + self._tier_errors()
            + self._governance_errors()
        )
        exact = self.cache.exact
        if exact.enabled and exact.backend == "redis" and self.storage.redis_url is None:
            problems.append("cache.exact.backend: redis needs storage.redis_url")
        if self.semantic_cache_on and not exact.enabled:
            problems.append(
                "cache.semantic needs cache.exact.enabled (it looks up after it and keeps its answers)"
            )
        embedder = self.cache.semantic.embedder
        if self.semantic_cache_on and embedder != "builtin" and embedder not in {m.name for m in self.models}:
            problems.append(
                f"cache.semantic.embedder: {embedder!r} is neither 'builtin' nor a model in models"
            )
        if self.observability.metrics.require_key and self.server.master_key is None:
            problems.append("observability.metrics.require_key: protecting /metrics needs server.master_key")
        if problems:
            raise ValueError("\n".join(problems))
        return self

    @property
    def semantic_cache_on(self) -> bool:
        """The semantic cache is on for some model, or requests may turn it on."""
        semantic = self.cache.semantic
        if semantic.enabled or semantic.requests:
            return True
        return any(m.cache and m.cache.semantic and m.cache.semantic.enabled for m in self.models)

    @property
    def governance_on(self) -> bool:
        """Virtual keys, budgets and limits apply: a master key is set and not ``enabled: false``."""
        return self.server.master_key is not None and self.governance.enabled is not False

    def _fallback_errors(self) -> list[str]:
        """Every fallback names a configured model or ``<configured provider>/<model>``."""
        names = {m.name for m in self.models}
        problems: list[str] = []
        for i, model in enumerate(self.models):
            for key in ("fallbacks", "context_window_fallbacks", "content_policy_fallbacks"):
                for j, name in enumerate(getattr(model, key)):
                    provider, sep, rest = name.partition("/")
                    if name in names or (sep and rest and provider in self.providers):
                        continue
                    problems.append(
                        f"models[{i}].{key}[{j}]: unknown model {name!r} (a configured model name "
                        "or '<provider>/<model>')"
                    )
        return problems

    def _tier_errors(self) -> list[str]:
        """Every tier, and a cascade's judge, names a configured model that is not itself tiered."""
        plain = {m.name for m in self.models if m.tiering is None}
        problems = [
            f"models[{i}].tiering.tiers[{j}]: {tier!r} is not a configured model without tiering"
            for i, model in enumerate(self.models)
            if model.tiering is not None
            for j, tier in enumerate(model.tiering.tiers)
            if tier not in plain
        ]
        for i, model in enumerate(self.models):
            judge = model.tiering.cascade.judge if model.tiering is not None else None
            if judge is not None and judge.model not in plain:
                problems.append(
                    f"models[{i}].tiering.cascade.judge.model: {judge.model!r} is not a configured "
                    "model without tiering"
                )
        return problems

    def _governance_errors(self) -> list[str]:
        governance = self.governance
        if governance.enabled and self.server.master_key is None:
            return [
                "governance.enabled: governance needs server.master_key (it creates and manages the keys)"
            ]
        if self.governance_on and self.server.workers > 1 and self.storage.redis_url is None:
            return [
                "server.workers: more than one worker with governance on needs storage.redis_url "
                "(each worker would keep its own counters, multiplying every limit)"
            ]
        return []


def reference_errors(providers: list[str], models: list[tuple[str | None, list[str | None]]]) -> list[str]:
    """Every broken cross-reference at once: duplicate model names, deployments naming a provider
    that is not configured. Each line starts with the key path."""
    problems: list[str] = []
    known = ", ".join(sorted(providers)) or "none configured"
    seen: set[str] = set()
    for i, (name, deployments) in enumerate(models):
        if name is not None and name in seen:
            problems.append(f"models[{i}].name: model {name!r} is defined twice")
        if name is not None:
            seen.add(name)
        for j, provider in enumerate(deployments):
            if provider is not None and provider not in providers:
                where = f"models[{i}].deployments[{j}].provider"
                problems.append(f"{where}: unknown provider {provider!r} (providers: {known})")
    return problems
