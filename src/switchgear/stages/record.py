"""The settle record: one immutable ``RequestRecord`` per finished request, however it finished.

Built from the ``RequestContext`` once the response is complete (or failed, or the client left)
and handed to every settle consumer (access log, spend log, metrics) through the settle queues.
It carries no prompt, no answer text and no secret.
"""

from __future__ import annotations

from dataclasses import dataclass
from time import perf_counter_ns
from typing import TYPE_CHECKING, Any

from switchgear.core.usage import Usage
from switchgear.stages.context import Attempt, GuardResult, Principal, RequestContext

if TYPE_CHECKING:
    from switchgear.stages.base import Slot

CANCELLED_STATUS = 499  # nginx's "client closed request"


@dataclass(slots=True, eq=False)
class RequestRecord:
    """Treat as immutable: every consumer receives the same object (not frozen only because a
    frozen dataclass costs microseconds more to build, on every request)."""

    request_id: str
    api: str
    model: str  # as the client asked for it
    provider: str | None  # who served it (None: nobody did)
    served_model: str | None  # the provider's model id
    status: int  # the outcome: 200, the error's status (also after an in-band stream error), 499
    error_type: str | None  # the error's code or type, None on success
    error: str | None  # the error message as the client saw it
    in_band: bool  # the failure came after the response had started (a stream ended with an error)
    cancelled: bool
    stream: bool
    principal: Principal
    end_user: str | None
    tags: tuple[str, ...]
    attempts: tuple[Attempt, ...]
    usage: Usage | None
    cost_nanousd: int | None
    cache: str | None
    started_at: float  # wall clock, seconds since the epoch
    duration_ms: float
    ttfb_ms: float | None  # until the first byte went to the client
    overhead_ms: float  # time in the gateway, provider time excluded
    slots: dict[Slot[Any], Any] | None = None  # the stages' own facts (``Slot.get``), as on the context
    traceparent: str | None = None  # the client's W3C trace context header, unchecked
    tier: str | None = None  # the tier a tiering policy chose, and why
    tier_reason: str | None = None
    guards: tuple[GuardResult, ...] = ()  # what each guardrail that ran did (never the values)

    @property
    def suspicious_usage(self) -> bool:
        """The provider reported negative or absurd token counts (they were clamped)."""
        return self.usage is not None and self.usage.suspicious

    @classmethod
    def of(cls, ctx: RequestContext) -> RequestRecord:
        """The record of a finished request, built once (consumers share it)."""
        record = ctx.record
        if record is None:
            record = ctx.record = cls.from_context(ctx)
        return record

    @classmethod
    def from_context(cls, ctx: RequestContext) -> RequestRecord:
        ended = ctx.ended_ns or perf_counter_ns()
        request = ctx.request
        deployment = ctx.deployment
        error = ctx.error
        status = CANCELLED_STATUS if ctx.cancelled and error is None else ctx.status
        return cls(
            request_id=ctx.request_id,
            api=ctx.api,
            model=ctx.model,
            provider=deployment.provider.name if deployment is not None else None,
            served_model=deployment.model if deployment is not None else None,
            status=status,
            error_type=(error.code or error.type) if error is not None else None,
            error=error.message if error is not None else None,
            in_band=error is not None and ctx.first_byte_ns > 0,
            cancelled=ctx.cancelled,
            stream=request.stream if request is not None else False,
            principal=ctx.principal,
            end_user=ctx.end_user,
            tags=ctx.tags,
            attempts=tuple(ctx.attempts),
            usage=ctx.usage,
            cost_nanousd=ctx.cost_nanousd,
            cache=ctx.cache,
            started_at=ctx.started_at,
            duration_ms=(ended - ctx.started_ns) / 1e6,
            ttfb_ms=(ctx.first_byte_ns - ctx.started_ns) / 1e6 if ctx.first_byte_ns else None,
            overhead_ms=max(0, ended - ctx.started_ns - ctx.upstream_ns) / 1e6,
            slots=ctx.slots,
            traceparent=ctx.traceparent,
            tier=ctx.tier,
            tier_reason=ctx.tier_reason,
            guards=tuple(ctx.guards) if ctx.guards else (),
        )
