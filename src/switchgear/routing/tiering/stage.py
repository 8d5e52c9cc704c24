"""The tiering stage: at the *plan* point, a tiered model's request goes to the tier its policy
picks (``policy.Policy``); the response says which and why.

The router plans a tiered model as its tiers in order (cheapest first) followed by its own
fallbacks; this stage puts the chosen tier's plan first (its deployments in its strategy's order,
then its own fallbacks) and keeps the rest after it, so a tier that fails falls back like any
deployment. For a ``cascade`` the plan is one deployment of each tier up to the strongest (whose
whole plan follows), so that an escalated answer goes to the next tier, not to a sibling of the
cheap deployment. The choice goes to ``ctx.tier`` / ``ctx.tier_reason`` (access and spend logs)
and to the ``x-switchgear-tier`` and ``x-switchgear-tier-reason`` response headers.
"""

from __future__ import annotations

from collections.abc import Mapping
from time import monotonic

from switchgear.providers.base import Deployment
from switchgear.routing.router import Router
from switchgear.routing.tiering.policy import Decision, Policy
from switchgear.routing.tiering.rules import Facts
from switchgear.routing.tiering.signals import signals
from switchgear.stages.base import Slot, Stage
from switchgear.stages.context import RequestContext

TIER_HINT: Slot[str] = Slot("tiering.hint")  # the request's x-switchgear-tier-hint (server sets it)
CHOSEN: Slot[tuple[Policy, Decision]] = Slot("tiering.decision")

HEADER_TIER = "x-switchgear-tier"
HEADER_REASON = "x-switchgear-tier-reason"


def set_tier(ctx: RequestContext, tier: str, reason: str) -> None:
    """Record the tier on the context and in the response headers (replacing earlier values)."""
    ctx.tier, ctx.tier_reason = tier, reason
    names = (HEADER_TIER.encode(), HEADER_REASON.encode())
    if ctx.response_headers:
        ctx.response_headers = [h for h in ctx.response_headers if h[0] not in names]
    ctx.add_header(HEADER_TIER, _latin(tier))
    ctx.add_header(HEADER_REASON, _latin(reason))


def _latin(text: str) -> str:
    return text.encode("ascii", "replace").decode("ascii")


class Tiering(Stage):
    name = "tiering"

    def __init__(self, router: Router, policies: Mapping[str, Policy]) -> None:
        self.router = router
        self.policies = dict(policies)

    async def plan(self, ctx: RequestContext, candidates: list[Deployment]) -> list[Deployment]:
        request = ctx.request
        policy = self.policies.get(request.model) if request is not None else None
        if policy is None or request is None:
            return candidates
        facts = Facts(hint=TIER_HINT.get(ctx), tags=ctx.tags, team=ctx.principal.team_id)
        stream = request.stream
        if policy.kind == "cascade" and stream:
            decision = policy.decide(signals(request.body), facts)
            if decision.reason.startswith("cascade"):
                decision = Decision(decision.tier, "cascade off for streams: cheapest")
        else:
            decision = policy.decide(signals(request.body), facts)
        CHOSEN.set(ctx, (policy, decision))
        set_tier(ctx, policy.tiers[decision.tier], decision.reason)
        if policy.kind == "cascade" and not stream:
            return self._cascade_plan(policy, decision.tier, candidates, request.stream)
        first = self.router.plan(policy.tiers[decision.tier], stream=stream, request=request)
        return _then(first, candidates)

    def _cascade_plan(
        self, policy: Policy, start: int, candidates: list[Deployment], stream: bool
    ) -> list[Deployment]:
        plan: list[Deployment] = []
        last = len(policy.tiers) - 1
        for i in range(start, last):
            ordered = self.router.pool(policy.tiers[i]).order(monotonic(), stream)
            plan.extend(ordered[:1])
        plan.extend(self.router.plan(policy.tiers[last], stream=stream))
        return _then(plan, candidates)


def _then(first: list[Deployment], rest: list[Deployment]) -> list[Deployment]:
    """``first``, then what of ``rest`` it does not already hold (same objects: health keys)."""
    seen = {id(d) for d in first}
    return first + [d for d in rest if id(d) not in seen]
