"""The stage protocol: optional hooks at the fixed points of a request's life.

A stage subclasses ``Stage`` and overrides only the hooks it needs; the engine looks once, at
start-up, at which hooks each stage overrides and calls only those (a point with no stage costs
one falsy check per request). The points, in the order a request meets them::

    admit            after authentication, before anything is decoded for an upstream:
                     refuse (raise a GatewayError) or attach facts to the context
    answer_early     produce the whole answer without an upstream (a cache hit, a mock)
    plan             filter and reorder the candidate deployments
    attempt_outcome  told each upstream attempt's deployment, status, latency, error class
    stream_transform / answer_transform
                     see, hold back, rewrite or end the decoded answer (canonical events or a
                     whole response) on its way to the client
    wrap_relay / body_transform
                     the same on the client's bytes (a stream relay wrapped, a whole body), with
                     no decoding: same-family passthrough stays byte-for-byte
    settle           the finished request's record, in batches, off the request path

Rules: a hook never blocks the event loop (CPU-heavy work goes to an executor, I/O is awaited
with a timeout); ``attempt_outcome`` and stream transforms are synchronous and must be cheap;
``settle`` runs in a background task and may be slow without slowing any request. A hook that
raises anything but a ``GatewayError`` fails that request with an internal error (logged with its
request id); it never stops the worker.

A stage that reads the decoded request sets ``reads_request``; one that reads or rewrites the
answer sets ``reads_answer`` (which turns same-family byte passthrough off while it is configured:
answers are decoded into canonical events and encoded again for the client).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar, Generic, Protocol, TypeVar

from switchgear.core.types import ChatResponse, StreamEvent

if TYPE_CHECKING:
    from switchgear.providers.base import Deployment, StreamRelay
    from switchgear.stages.context import Attempt, RequestContext
    from switchgear.stages.record import RequestRecord

T = TypeVar("T")

HOOKS = (
    "admit",
    "answer_early",
    "plan",
    "attempt_outcome",
    "stream_transform",
    "answer_transform",
    "wrap_relay",
    "body_transform",
    "settle",
)


@dataclass(slots=True)
class EarlyAnswer:
    """An answer made without an upstream: a whole response, or the events of a replayable stream.

    The engine encodes it in the client's format, streamed or not as the client asked.
    ``cache`` is what the response header ``x-switchgear-cache`` and the record say (e.g. "HIT").
    """

    response: ChatResponse | None = None
    events: Sequence[StreamEvent] | None = None
    cache: str | None = None


class StreamTransform(Protocol):
    """Sees a translated stream's canonical events chunk by chunk, in order.

    ``feed`` returns the events to pass on now (hold some back by returning fewer, rewrite by
    returning others); ``finish`` returns what was held back once the upstream has ended. Raising
    a GatewayError ends the stream with an in-band error event in the client's format.
    """

    def feed(self, events: list[StreamEvent]) -> list[StreamEvent]: ...

    def finish(self) -> list[StreamEvent]: ...


class Stage:
    """Base of every stage: each hook does nothing until a subclass overrides it."""

    name: ClassVar[str] = "stage"
    reads_request: ClassVar[bool] = False  # needs the decoded (canonical) request
    reads_answer: ClassVar[bool] = False  # needs (or rewrites) the decoded answer / stream events

    async def admit(self, ctx: RequestContext) -> None:
        """Refuse with a GatewayError, or attach facts to ``ctx`` (a slot, a tag, a header)."""

    async def answer_early(self, ctx: RequestContext) -> EarlyAnswer | None:
        """An answer that needs no upstream, or None to go on."""
        return None

    async def plan(self, ctx: RequestContext, candidates: list[Deployment]) -> list[Deployment]:
        """The candidates to try, in order (filtered, reordered; never a new deployment object
        the router does not know, so that health and statistics stay keyed right)."""
        return candidates

    def attempt_outcome(self, ctx: RequestContext, attempt: Attempt) -> None:
        """One upstream attempt finished (answered, committed a stream, or failed). Synchronous."""

    def stream_transform(self, ctx: RequestContext) -> StreamTransform | None:
        """A transform for this request's stream (needs ``reads_answer``), or None."""
        return None

    async def answer_transform(self, ctx: RequestContext, response: ChatResponse) -> ChatResponse:
        """Inspect or rewrite a whole answer (needs ``reads_answer``); raise to refuse it."""
        return response

    def wrap_relay(self, ctx: RequestContext, relay: StreamRelay) -> StreamRelay:
        """A relay around ``relay`` that sees (holds back, rewrites, ends) the client's stream bytes
        chunk by chunk; works on passthrough streams, no decoding. Return ``relay`` to skip."""
        return relay

    async def body_transform(self, ctx: RequestContext, body: bytes) -> bytes:
        """Inspect or rewrite a whole answer's bytes as the client will get them; raise to refuse."""
        return body

    async def settle(self, records: Sequence[RequestRecord]) -> None:
        """Finished requests, in batches, in a background task (never on the request path)."""

    async def start(self) -> None:
        """Called once when the worker starts (open connections, start background tasks)."""

    async def close(self) -> None:
        """Called once when the worker stops."""


def overrides(stage: Stage, hook: str) -> bool:
    """Whether ``stage`` implements ``hook`` (rather than inheriting the no-op)."""
    return getattr(type(stage), hook) is not getattr(Stage, hook)


class Slot(Generic[T]):
    """A typed place for a stage's per-request facts on the context (no string-keyed bags)::

    RESERVATION: Slot[Reservation] = Slot("budget.reservation")
    RESERVATION.set(ctx, reservation) ... RESERVATION.get(ctx)
    """

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def set(self, ctx: RequestContext, value: T) -> None:
        if ctx.slots is None:
            ctx.slots = {}
        ctx.slots[self] = value

    def get(self, ctx: RequestContext | RequestRecord) -> T | None:
        """This stage's fact on a request, or None; also on its settle record."""
        if ctx.slots is None:
            return None
        value: T | None = ctx.slots.get(self)
        return value

    def __repr__(self) -> str:
        return f"Slot({self.name!r})"
