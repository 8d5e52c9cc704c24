"""``switchgear replay``'s core: what logged requests would have cost under another configuration.

Nothing is sent to a provider. Each logged request keeps its token counts; what changes is the
deployment that would serve it and that deployment's prices:

- ``prices``: other prices (USD per million tokens) for a deployment (``provider/model`` as
  logged, or the bare model id);
- ``reroute``: requests for one public model served instead by another configured model;
- ``tier_thresholds``: a tiered model's classifier goal replayed at another strong-call share — the
  logged ``tier_reason`` keeps each request's score ("score 0.612 > 0.549"), so the request is
  re-decided against the new threshold without its prompt (requests whose tier came from a hint,
  a rule or an escalation keep their tier);
- ``deciders``: requests rerouted to a tiered model are decided by its policy on their logged
  prompt (payload logging on); without a logged prompt they cannot be and count as unpriced;
- ``cache``: an exact repeat of an earlier request (same team, model and logged request body) is
  a cache hit and costs nothing (needs payload logging; rows in arrival order).

A request that was not priced (unknown prices) is counted apart, in ``unpriced``, on both sides.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from switchgear.catalog.catalog import Prices
from switchgear.catalog.costs import usage_cost_nanousd
from switchgear.core.usage import Usage

_SCORE = re.compile(r"^score (-?\d+(?:\.\d+)?) ")
_UNDECIDED = "\x00undecided"  # a tiered target without the prompt to decide on: unpriced


@dataclass(frozen=True, slots=True)
class Logged:
    """One spend-log row, as the replay reads it."""

    model: str  # as the client asked for it
    team: str | None
    served: str | None  # "provider/model" that served it (None: nobody)
    usage: Usage
    cost_nanousd: int | None
    tier: str | None = None
    tier_reason: str | None = None
    body: str | None = None  # the logged request body (JSON text), when payloads were logged


@dataclass(frozen=True, slots=True)
class Target:
    """Where a request would go: the ``provider/model`` label and its prices."""

    label: str
    prices: Prices


@dataclass(frozen=True, slots=True)
class Scenario:
    prices: Mapping[str, Prices] = field(default_factory=dict)  # label or model id -> prices
    reroute: Mapping[str, str] = field(default_factory=dict)  # public model -> public model
    tier_thresholds: Mapping[str, float] = field(default_factory=dict)  # tiered model -> threshold
    # tiered model -> its policy's tier for a logged request body (None: cannot decide)
    deciders: Mapping[str, Callable[[Logged], str | None]] = field(default_factory=dict)
    cache: bool = False  # exact repeats (same team, model, body) are cache hits


@dataclass(slots=True)
class Line:
    requests: int = 0
    actual_nanousd: int = 0
    projected_nanousd: int = 0
    unpriced: int = 0


@dataclass(slots=True)
class Bill:
    by_model: dict[str, Line] = field(default_factory=dict)
    by_team: dict[str, Line] = field(default_factory=dict)
    total: Line = field(default_factory=Line)


def logged_score(reason: str | None) -> float | None:
    """The classifier score a logged ``tier_reason`` carries, or None."""
    found = _SCORE.match(reason or "")
    return float(found.group(1)) if found else None


def replay(
    rows: Iterable[Logged],
    scenario: Scenario,
    *,
    first_of: Callable[[str], Target | None],
    tiers_of: Callable[[str], tuple[str, ...] | None],
    catalog: Callable[[str], Prices | None],
) -> Bill:
    """The bill of ``rows`` as logged and under ``scenario``.

    ``first_of(model)``: the first deployment of a configured public model; ``tiers_of(model)``:
    a tiered model's tiers (cheapest first); ``catalog(label)``: the prices the gateway knows for a
    served ``provider/model`` label.
    """
    bill = Bill()
    seen: set[tuple[str | None, str, str]] = set()
    for row in rows:
        key = (row.team, row.model, row.body) if scenario.cache and row.body is not None else None
        if key is not None and key in seen:
            projected: int | None = 0  # answered from the cache
        else:
            projected = _projected(row, scenario, first_of, tiers_of, catalog)
            if key is not None:
                seen.add(key)
        for line in (
            bill.total,
            bill.by_model.setdefault(row.model, Line()),
            bill.by_team.setdefault(row.team or "-", Line()),
        ):
            line.requests += 1
            if row.cost_nanousd is None or projected is None:
                line.unpriced += 1
                continue
            line.actual_nanousd += row.cost_nanousd
            line.projected_nanousd += projected
    return bill


def _projected(
    row: Logged,
    scenario: Scenario,
    first_of: Callable[[str], Target | None],
    tiers_of: Callable[[str], tuple[str, ...] | None],
    catalog: Callable[[str], Prices | None],
) -> int | None:
    if row.served is None:
        return row.cost_nanousd  # nobody served it: it cost what it cost (nothing, or a refusal)
    label = row.served
    prices: Prices | None = None
    retarget = _retarget(row, scenario, tiers_of)
    if retarget is not None:
        target = first_of(retarget)
        if target is None:
            return None
        label, prices = target.label, target.prices
    override = scenario.prices.get(label) or scenario.prices.get(label.partition("/")[2])
    if override is not None:
        prices = override
    if prices is None:
        prices = catalog(label)
    if prices is None:
        return None
    return usage_cost_nanousd(row.usage, prices)


def _retarget(
    row: Logged, scenario: Scenario, tiers_of: Callable[[str], tuple[str, ...] | None]
) -> str | None:
    """The public model that would serve ``row`` instead, or None (the same deployment)."""
    rerouted = scenario.reroute.get(row.model)
    if rerouted is not None:
        decide = scenario.deciders.get(rerouted)
        if decide is None:
            return rerouted
        return decide(row) or _UNDECIDED
    threshold = scenario.tier_thresholds.get(row.model)
    score = logged_score(row.tier_reason)
    if threshold is None or score is None:
        return None
    tiers = tiers_of(row.model)
    if not tiers:
        return None
    chosen = tiers[-1] if score > threshold else tiers[0]
    return None if chosen == row.tier else chosen
