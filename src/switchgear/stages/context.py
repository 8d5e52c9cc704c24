"""Per-request state carried down the pipeline: who asked, what, what was tried, what it cost.

One ``RequestContext`` per request, created by the server when the request arrives and filled in
by the engine and the stages as the request goes; the settle record (``record.RequestRecord``) is
built from it once the request has finished, however it finished.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from time import perf_counter_ns, time
from typing import TYPE_CHECKING, Any

from switchgear.catalog.costs import usage_cost_nanousd
from switchgear.core.errors import GatewayError, UpstreamError
from switchgear.core.types import ChatRequest
from switchgear.core.usage import Usage

if TYPE_CHECKING:
    from switchgear.providers.base import Deployment
    from switchgear.stages.base import Slot
    from switchgear.stages.record import RequestRecord
    from switchgear.stages.request import Prepared


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: a virtual key and what it belongs to. Empty for the master key and when
    the gateway runs without authentication (``is_admin`` tells the two apart)."""

    key_id: str | None = None
    user_id: str | None = None
    team_id: str | None = None
    org_id: str | None = None
    is_admin: bool = False
    guardrails: tuple[
        str, ...
    ] = ()  # guardrails the key's metadata attaches (an admin's, never the client's)


ANONYMOUS = Principal()
MASTER = Principal(is_admin=True)


@dataclass(slots=True)
class Attempt:
    """One upstream attempt: where it went and how it ended (``status`` None: no HTTP answer)."""

    deployment: Deployment
    status: int | None
    latency_ms: float  # until the answer was whole, the stream committed, or the failure
    ttfb_ms: float | None  # until the upstream's response head (None: it never came)
    error: UpstreamError | None = None
    offset_ms: float = 0.0  # when it began, after the request arrived

    @property
    def error_type(self) -> str | None:
        """The error's code or type ("timeout", "rate_limit_exceeded", ...), None on success."""
        return (self.error.code or self.error.type) if self.error is not None else None


@dataclass(slots=True)
class GuardResult:
    """What one guardrail did to a request: never the values it found, only their types and counts.

    ``action`` is "pass" (nothing found), "flag", "redact", "deny" or "error" (the check itself
    failed); ``direction`` is "input" or "output"; ``found`` maps entity or rule types to counts.
    """

    name: str
    action: str
    direction: str
    found: dict[str, int] = field(default_factory=dict)
    ms: float = 0.0
    score: float | None = None  # a scorer's value (prompt injection), when the guardrail has one


@dataclass(slots=True)
class RequestContext:
    request_id: str
    api: str  # inbound API: "chat", "completions", "embeddings", "messages", "responses"
    started_ns: int = field(default_factory=perf_counter_ns)
    started_at: float = field(default_factory=time)  # wall clock, for records
    upstream_ns: int = 0  # time spent waiting on providers (excluded from the gateway's overhead)
    principal: Principal = ANONYMOUS
    end_user: str | None = None  # the request's ``user`` field (Anthropic: ``metadata.user_id``)
    tags: tuple[str, ...] = ()
    metadata: dict[str, Any] | None = None
    request: Prepared | None = None
    canonical: ChatRequest | None = None  # decoded once, when a stage or a translation needs it
    request_rewritten: bool = False  # a stage changed ``canonical``: it is what goes upstream
    deployment: Deployment | None = None  # the one that served the answer
    attempts: list[Attempt] = field(default_factory=list)
    usage: Usage | None = None
    # A cost already known: 0 for an early answer, the price of a whole answer once the engine priced it.
    fixed_cost_nanousd: int | None = None
    cache: str | None = None  # "HIT", "SEMANTIC-HIT", "MISS", "BYPASS", or None (no cache stage)
    # the request's cache headers (cache-control, x-switchgear-cache*), read only while a cache is on
    cache_headers: dict[bytes, bytes] | None = None
    status: int = 200
    error: GatewayError | None = None  # what the request failed with (also in-band after streaming)
    cancelled: bool = False  # the client went away first
    first_byte_ns: int = 0  # when the first response byte went to the client
    ended_ns: int = 0
    response_headers: list[tuple[bytes, bytes]] | None = None  # added by stages (``add_header``)
    slots: dict[Slot[Any], Any] | None = None  # stages' own facts (``Slot.set`` / ``Slot.get``)
    record: RequestRecord | None = None  # built once the request is settled, off the request path
    traceparent: str | None = None  # the client's W3C trace context header, as sent (tracing)
    # every attempt a hedge started (winner included): the losers are billed their prompt
    hedged: list[Deployment] | None = None
    rejected_nanousd: int = 0  # answers a stage refused and had asked again (``AnswerRejected``): paid
    side_nanousd: int = 0  # calls a stage made for this request (a cascade's judge): paid
    tier: str | None = None  # the tier a tiering policy chose (``x-switchgear-tier``)
    tier_reason: str | None = None  # why: a rule's name, a score and threshold, an escalation
    guards: list[GuardResult] | None = None  # what each guardrail that ran did

    @property
    def cost_nanousd(self) -> int | None:
        """What the request cost: its answer's (``answer_cost_nanousd``), every answer a stage
        refused and had asked again (``rejected_nanousd``) and every call a stage made for it
        (``side_nanousd``): they were paid for too."""
        cost = self.answer_cost_nanousd()
        more = self.rejected_nanousd + self.side_nanousd
        if more:
            return more if cost is None else cost + more
        return cost

    def answer_cost_nanousd(self) -> int | None:
        """What the answer cost: ``fixed_cost_nanousd`` when known (an early answer, a whole answer
        the engine priced), else priced from its usage and the serving deployment's prices (config
        overrides included) when asked; None when unpriced or unserved."""
        if self.fixed_cost_nanousd is not None:
            return self.fixed_cost_nanousd
        usage, deployment = self.usage, self.deployment
        if usage is None or deployment is None or deployment.info is None:
            return None
        cost = usage_cost_nanousd(usage, deployment.info.prices)
        if cost is not None and self.hedged:
            cost += self._hedge_losers_nanousd(usage, deployment)
        return cost

    def _hedge_losers_nanousd(self, usage: Usage, winner: Deployment) -> int:
        """What the hedge's other attempts cost: each is billed the request's prompt at its own
        deployment's prices (it was cancelled before it answered, or its answer came second and was
        dropped unread; its output is not known)."""
        losers = list(self.hedged or ())
        if winner in losers:
            losers.remove(winner)
        prompt = Usage(prompt_tokens=usage.prompt_tokens, completion_tokens=0)
        costs = (usage_cost_nanousd(prompt, d.info.prices) for d in losers if d.info is not None)
        return sum(cost for cost in costs if cost is not None)

    @property
    def model(self) -> str:
        """The model name the client asked for ("" before the body was read)."""
        return self.request.model if self.request is not None else ""

    def overhead_ms(self) -> float:
        """Time spent in the gateway so far, provider time excluded."""
        return max(0, perf_counter_ns() - self.started_ns - self.upstream_ns) / 1e6

    def replace_request(self, canonical: ChatRequest) -> None:
        """A stage rewrote the request (e.g. redaction): the upstream gets ``canonical``, translated
        even for a same-family provider."""
        self.canonical = canonical
        self.request_rewritten = True

    def add_header(self, name: str, value: str) -> None:
        """A response header for the client (stages: admit, answer_early, plan)."""
        if self.response_headers is None:
            self.response_headers = []
        self.response_headers.append((name.lower().encode("latin-1"), value.encode("latin-1")))

    def fail(self, exc: GatewayError) -> None:
        """Record how the request failed (the first failure wins)."""
        exc.request_id = self.request_id
        if self.error is None:
            self.error = exc
            self.status = exc.status
