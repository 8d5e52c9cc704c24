"""A pool: the deployments one model name stands for, their health, and the strategy that orders them."""

from __future__ import annotations

from dataclasses import dataclass, field

from switchgear.providers.base import Deployment
from switchgear.routing.health import Health
from switchgear.routing.strategy import Strategy

_MIN_SAMPLES = 20  # before a p95 means anything


@dataclass(slots=True)
class Pool:
    name: str
    deployments: tuple[Deployment, ...]
    health: tuple[Health, ...]  # one per deployment, same order
    strategy: Strategy
    retries: int = 0
    fallbacks: tuple[str, ...] = ()
    context_window_fallbacks: tuple[str, ...] = ()
    content_policy_fallbacks: tuple[str, ...] = ()
    context_window: int | None = None  # the smallest of its deployments', when known
    routing: str = "weighted"  # the strategy's config name
    hedge: float | str | None = None  # seconds, "p95", or None (no hedging)
    members: frozenset[int] = field(init=False, repr=False, compare=False)  # ids of ``deployments``

    def __post_init__(self) -> None:
        self.members = frozenset(id(d) for d in self.deployments)

    def hedge_after(self, stream: bool) -> float | None:
        """Seconds without a first byte after which a second attempt starts; None: not now (off,
        or ``p95`` with too few samples yet)."""
        hedge = self.hedge
        if hedge is None or isinstance(hedge, float | int):
            return hedge
        samples = sorted(s for h in self.health for s in (h.recent_ttft if stream else h.recent))
        if len(samples) < _MIN_SAMPLES:
            return None
        return samples[int(len(samples) * 0.95)] / 1000

    def order(self, now: float, stream: bool) -> list[Deployment]:
        """The usable deployments (breaker closed or ready to probe, not cooling down) in the
        strategy's order; empty when none is."""
        health = self.health
        if len(health) == 1:  # most models: nothing to order
            return [self.deployments[0]] if health[0].usable(now) else []
        usable = [i for i in range(len(health)) if health[i].usable(now)]
        if not usable:
            return []
        deployments = self.deployments
        return [deployments[i] for i in self.strategy.order(deployments, health, usable, now, stream)]

    def holds(self, deployment: Deployment) -> bool:
        return id(deployment) in self.members  # the objects live as long as the pool
