"""Per-request state carried down the pipeline (ids, timings, what was tried)."""

from __future__ import annotations

from dataclasses import dataclass, field
from time import perf_counter_ns

from switchgear.core.errors import UpstreamError


@dataclass(slots=True)
class RequestContext:
    request_id: str
    api: str  # inbound API: "chat", "completions", "embeddings"
    started_ns: int = field(default_factory=perf_counter_ns)
    upstream_ns: int = 0  # time spent waiting on providers (excluded from the gateway's overhead)
    attempts: int = 0
    failures: list[UpstreamError] = field(default_factory=list)

    def overhead_ms(self) -> float:
        """Time spent in the gateway so far, provider time excluded."""
        return max(0, perf_counter_ns() - self.started_ns - self.upstream_ns) / 1e6
