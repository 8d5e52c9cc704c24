"""RouteLLM's router metrics over labelled rows: PGR curve, APGR, CPT and the 95 %-quality share.

A router orders the rows by score (highest first: most in need of the strong model); sending the
top k of n to the strong tier gives a quality (mean score of the model each row was sent to) and a
strong-call share k / n. PGR = (quality - weak) / (strong - weak); APGR is the area under PGR over
the share (trapezoid, all n + 1 points); CPT(x) is the least share whose PGR reaches x; the 95 %
share is the least share whose quality reaches 0.95 x the strong model's quality.
Pure Python, used by ``switchgear eval router`` and the training script alike.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Curve:
    """Quality for every strong-call share k / n, k = 0..n."""

    shares: list[float]
    quality: list[float]
    weak: float  # quality with every row on the weak tier
    strong: float  # ... on the strong tier

    def pgr(self) -> list[float]:
        gap = self.strong - self.weak
        if gap == 0:
            return [0.0 for _ in self.quality]
        return [(q - self.weak) / gap for q in self.quality]


def curve(scores: Sequence[float], weak: Sequence[float], strong: Sequence[float]) -> Curve:
    """The cost-quality curve of a router's ``scores`` on rows with the two tiers' outcomes."""
    n = len(scores)
    if n == 0 or len(weak) != n or len(strong) != n:
        raise ValueError("scores and outcomes must be non-empty and of equal length")
    order = sorted(range(n), key=lambda i: -scores[i])
    total = sum(weak)
    quality = [total / n]
    for i in order:
        total += strong[i] - weak[i]
        quality.append(total / n)
    return Curve([k / n for k in range(n + 1)], quality, sum(weak) / n, sum(strong) / n)


def apgr(c: Curve) -> float:
    """Area under the PGR curve over the strong-call share, 0..1."""
    pgr = c.pgr()
    area = 0.0
    for k in range(1, len(pgr)):
        area += (pgr[k] + pgr[k - 1]) / 2 * (c.shares[k] - c.shares[k - 1])
    return area


def cpt(c: Curve, target_pgr: float) -> float:
    """The least strong-call share whose PGR reaches ``target_pgr`` (1.0 if none does)."""
    for share, value in zip(c.shares, c.pgr(), strict=True):
        if value >= target_pgr - 1e-12:
            return share
    return 1.0


def share_at_quality(c: Curve, fraction_of_strong: float) -> float:
    """The least strong-call share whose quality reaches ``fraction_of_strong`` x strong quality."""
    goal = fraction_of_strong * c.strong
    for share, value in zip(c.shares, c.quality, strict=True):
        if value >= goal - 1e-12:
            return share
    return 1.0


def summary(c: Curve) -> dict[str, float]:
    """The figures ``switchgear eval router`` reports (shares as fractions)."""
    return {
        "apgr": apgr(c),
        "cpt50": cpt(c, 0.5),
        "cpt80": cpt(c, 0.8),
        "cpt95": cpt(c, 0.95),
        "strong_share_at_95": share_at_quality(c, 0.95),
    }
