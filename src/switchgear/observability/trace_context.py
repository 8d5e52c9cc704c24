"""W3C trace context on the request path: whether a request is traced, decided once, and the
``traceparent`` each upstream attempt is sent with, so a provider that traces (vLLM, a proxy, a
collector in front of it) continues the gateway's trace.

The decision is parent-based: the client's ``traceparent`` decides when it came (``-01`` traced,
``-00`` not), else a draw against ``observability.tracing.sample_ratio``. A traced request gets its
ids here (the client's trace id or a new one, the request span's id, one id per attempt); the
tracing settle consumer makes its spans with exactly these ids after the request has finished. An
untraced request costs a random draw and nothing else; with tracing off the engine asks nothing.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, field

from switchgear.stages.base import Slot
from switchgear.stages.context import RequestContext

_TRACEPARENT = re.compile(r"^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$")


def parse_traceparent(value: str | None) -> tuple[int, int, int] | None:
    """(trace id, parent span id, flags) of a valid W3C ``traceparent``, else None."""
    if not value:
        return None
    found = _TRACEPARENT.match(value.strip().lower())
    if found is None or found.group(1) == "ff":
        return None
    trace_id, span_id = int(found.group(2), 16), int(found.group(3), 16)
    if not trace_id or not span_id or (found.group(1) == "00" and found.group(5)):
        return None
    return trace_id, span_id, int(found.group(4), 16)


def _span_id() -> int:
    return random.getrandbits(64) or 1


@dataclass(slots=True)
class TraceIds:
    """A traced request's ids: its trace, the client's span (0: none), its own span, and the span
    of each upstream attempt by the attempt's index."""

    trace_id: int
    parent_id: int
    span_id: int
    attempts: dict[int, int] = field(default_factory=dict)


NOT_TRACED = TraceIds(0, 0, 0)  # decided: this request is not traced
TRACE: Slot[TraceIds] = Slot("tracing.ids")


def decide(traceparent: str | None, ratio: float) -> TraceIds:
    """Whether a request with this ``traceparent`` is traced: its ids, or ``NOT_TRACED``."""
    parent = parse_traceparent(traceparent)
    if parent is None:
        if ratio < 1.0 and random.random() >= ratio:
            return NOT_TRACED
        return TraceIds(random.getrandbits(128) or 1, 0, _span_id())
    trace_id, parent_id, flags = parent
    if not flags & 1:
        return NOT_TRACED
    return TraceIds(trace_id, parent_id, _span_id())


class Propagation:
    """What the engine asks before each upstream attempt (only when tracing is on)."""

    __slots__ = ("ratio",)

    def __init__(self, ratio: float) -> None:
        self.ratio = ratio

    def traceparent(self, ctx: RequestContext) -> str | None:
        """The ``traceparent`` for the attempt about to be sent, or None when not traced."""
        ids = TRACE.get(ctx)
        if ids is None:
            ids = decide(ctx.traceparent, self.ratio)
            TRACE.set(ctx, ids)
        if ids is NOT_TRACED:
            return None
        span = ids.attempts[len(ctx.attempts)] = _span_id()
        return f"00-{ids.trace_id:032x}-{span:016x}-01"
