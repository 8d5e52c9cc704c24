"""Routing strategies: ``order(candidates) -> list[Deployment]``; one strategy per file later on.

``WeightedShuffle`` spreads load over a model's deployments in proportion to their weights
(weighted sampling without replacement); the rest of the order is the fallback chain. A weight
of 0 makes a deployment a pure fallback, tried only after every weighted one.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Protocol

from switchgear.providers.base import Deployment


class Strategy(Protocol):
    def order(self, candidates: Sequence[Deployment]) -> list[Deployment]: ...


class WeightedShuffle:
    def __init__(self, rng: random.Random | None = None) -> None:
        self._rng = rng or random.Random()

    def order(self, candidates: Sequence[Deployment]) -> list[Deployment]:
        if len(candidates) <= 1:
            return list(candidates)
        weighted = [d for d in candidates if d.weight > 0]
        spare = [d for d in candidates if d.weight <= 0]
        ordered: list[Deployment] = []
        while weighted:
            total = sum(d.weight for d in weighted)
            point = self._rng.random() * total
            for i, deployment in enumerate(weighted):
                point -= deployment.weight
                if point < 0 or i == len(weighted) - 1:
                    ordered.append(weighted.pop(i))
                    break
        return ordered + spare
