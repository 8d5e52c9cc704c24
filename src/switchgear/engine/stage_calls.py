"""Calls a stage makes to a configured model on behalf of the request it serves — a cascade's
judge — served by the engine itself (``Engine.serve_inner``: routing, fail-over, prices), with the
calling request's principal and an id derived from its own. Bound to the stages once the engine
exists (they are made before it)."""

from __future__ import annotations

import asyncio

import orjson

from switchgear.core.errors import GatewayError
from switchgear.engine.answers import Answer
from switchgear.engine.inbound import prepare
from switchgear.engine.pipeline import Engine
from switchgear.routing.tiering.cascade import Cascade
from switchgear.routing.tiering.judge import Reply
from switchgear.stages.context import RequestContext


class EngineAsk:
    """``routing.tiering.judge.Ask`` through an engine: one user message to ``model``, its
    answer's text and what it cost (also when it failed after an answer was paid for)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    async def __call__(
        self, model: str, prompt: str, max_tokens: int, within_s: float, outer: RequestContext
    ) -> Reply:
        body = {
            "model": model,
            "messages": [{"role": "user", "content": prompt}],
            "max_tokens": max_tokens,
            "temperature": 0,
        }
        ctx = RequestContext(request_id=f"{outer.request_id}-judge", api="chat", principal=outer.principal)
        try:
            answer = await asyncio.wait_for(self.engine.serve_inner(ctx, prepare("chat", body)), within_s)
        except TimeoutError:
            return Reply(None, ctx.cost_nanousd or 0, "timeout")
        except GatewayError as exc:
            return Reply(None, ctx.cost_nanousd or 0, exc.code or exc.type)
        cost = ctx.cost_nanousd or 0
        if not isinstance(answer, Answer) or answer.status != 200:
            return Reply(None, cost, "no answer")
        try:
            text = orjson.loads(answer.body)["choices"][0]["message"]["content"]
        except (orjson.JSONDecodeError, KeyError, IndexError, TypeError):
            return Reply(None, cost, "unreadable answer")
        return Reply(text if isinstance(text, str) else "", cost)


def bind_stage_calls(engine: Engine) -> None:
    """Give the stages that call models (a cascade with a judge) their way through ``engine``."""
    for stage in engine.chain.stages:
        if isinstance(stage, Cascade):
            stage.ask = EngineAsk(engine)
