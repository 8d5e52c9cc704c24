"""The cascade's second half, at the *answer transform* point: a cheap tier's whole answer that
fails a check (``checks.failure``) is not served; the request escalates to the next tier.

Escalation raises ``Escalated`` (an upstream failure the router fails over on, which does not
count against the deployment's health): the engine moves to the next candidate, which the tiering
stage planned to be the next tier. What the refused answer cost is kept and added to the served
answer's cost, so the bill counts both calls. Only whole answers are checked: streams are not
cascaded (the tiering stage sends them to the cheapest tier).
"""

from __future__ import annotations

from time import monotonic

from switchgear.core.errors import UpstreamError
from switchgear.core.money import usd_text
from switchgear.core.types import ChatResponse
from switchgear.routing.router import Router
from switchgear.routing.tiering.checks import failure
from switchgear.routing.tiering.signals import signals
from switchgear.routing.tiering.stage import CHOSEN, set_tier
from switchgear.stages.base import Slot, Stage
from switchgear.stages.context import RequestContext

REFUSED_COST: Slot[int] = Slot("tiering.refused_cost")  # nano-USD of answers escalated away from


class Escalated(UpstreamError):
    """The cheap tier answered, but its answer failed the cascade's check."""

    code = "tier_escalated"
    retryable = True


class Cascade(Stage):
    name = "tiering.cascade"
    reads_answer = True

    def __init__(self, router: Router) -> None:
        self.router = router

    async def answer_transform(self, ctx: RequestContext, response: ChatResponse) -> ChatResponse:
        chosen = CHOSEN.get(ctx)
        if chosen is None or ctx.request is None:
            return response
        policy, _ = chosen
        refused = REFUSED_COST.get(ctx)
        if refused:
            _add_cost(ctx, refused)
        if policy.kind != "cascade" or ctx.deployment is None:
            return response
        tier = self._tier_of(policy.tiers, ctx)
        if tier is None or tier == len(policy.tiers) - 1:
            return response
        choice = response.choices[0] if response.choices else None
        text = choice.message.text() if choice is not None else ""
        s = signals(ctx.request.body)
        reason = failure(
            text,
            finish_reason=choice.finish_reason if choice is not None else None,
            json_asked=s.json_output,
            prompt=s.last_user,
            checks=policy.settings.cascade,
        )
        if reason is None:
            return response
        if not self.router.pool(policy.tiers[tier + 1]).order(monotonic(), False):
            set_tier(ctx, policy.tiers[tier], f"not escalated ({reason}): next tier unavailable")
            return response
        REFUSED_COST.set(ctx, (refused or 0) + (ctx.fixed_cost_nanousd or 0))
        ctx.fixed_cost_nanousd = None  # the next answer is priced on its own, then the two added
        set_tier(ctx, policy.tiers[tier + 1], f"escalated: {reason}")
        provider = ctx.deployment.provider.name
        raise Escalated(f"tier {policy.tiers[tier]!r} answered, but: {reason}", provider=provider)

    def _tier_of(self, tiers: tuple[str, ...], ctx: RequestContext) -> int | None:
        deployment = ctx.deployment
        for i, name in enumerate(tiers):
            pool = self.router.known(name)
            if pool is not None and deployment is not None and pool.holds(deployment):
                return i
        return None


def _add_cost(ctx: RequestContext, refused: int) -> None:
    if ctx.fixed_cost_nanousd is None:
        return
    ctx.fixed_cost_nanousd += refused
    if ctx.response_headers:
        ctx.response_headers = [h for h in ctx.response_headers if h[0] != b"x-switchgear-cost"]
    ctx.add_header("x-switchgear-cost", usd_text(ctx.fixed_cost_nanousd))
