"""The cascade's judge check: a configured model grades a cheap answer that passed every other
check, and its verdict keeps the answer (PASS) or escalates it (FAIL).

The judge is asked through the gateway's own engine (``Ask``, bound at start-up by
``engine.stage_calls``: routing, fail-over and prices as for any request), with one user message
made from the prompt template, the request's last user message and the answer. Its reply must
start with PASS or FAIL; anything else, an error or a timeout escalates too (the check fails
toward quality). What the call cost is added to the graded request's cost
(``RequestContext.side_nanousd``), whatever its verdict.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from switchgear.config.tiering import JudgeSettings
from switchgear.stages.context import RequestContext

_VERDICT = re.compile(r"^\W*(PASS|FAIL)\b", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Reply:
    """What the judge model answered: its text, or why there is none; and what the call cost."""

    text: str | None
    cost_nanousd: int = 0  # 0 when unpriced or unanswered
    error: str | None = None  # "timeout", an error code


# model, prompt, max tokens, timeout in seconds, the graded request's context
Ask = Callable[[str, str, int, float, RequestContext], Awaitable[Reply]]


def judge_prompt(template: str, question: str, answer: str) -> str:
    """The template with its two placeholders filled (the texts may hold braces: no ``format``)."""
    return template.replace("{answer}", answer).replace("{question}", question)


def verdict(text: str) -> bool | None:
    """True for a reply that starts with PASS, False for FAIL (any case, after punctuation or
    markdown), None for anything else."""
    found = _VERDICT.match(text)
    return None if found is None else found.group(1).upper() == "PASS"


async def judge_failure(
    ask: Ask | None, settings: JudgeSettings, ctx: RequestContext, question: str, answer: str
) -> str | None:
    """Why the judge escalates the answer ("judge", "judge error: ..."), or None when it passes;
    the call's cost goes onto ``ctx``."""
    if ask is None:
        return "judge error: not bound to an engine"
    prompt = judge_prompt(settings.prompt, question, answer)
    reply = await ask(settings.model, prompt, settings.max_tokens, settings.timeout, ctx)
    ctx.side_nanousd += reply.cost_nanousd
    if reply.text is None:
        return f"judge error: {reply.error or 'no answer'}"
    passed = verdict(reply.text)
    if passed is None:
        return "judge error: no verdict"
    return None if passed else "judge"
