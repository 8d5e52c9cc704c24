"""The cascade's checks that read more than the answer's text: the mean token logprob and the
judge's verdict (its prompt, its reply, what an error or a missing verdict means, its bill)."""

from __future__ import annotations

import pytest

from switchgear.config.tiering import JUDGE_PROMPT, JudgeSettings
from switchgear.core.types import ChatRequest, Message, TextPart, TokenLogprob
from switchgear.routing.tiering.cascade import _question
from switchgear.routing.tiering.checks import logprob_failure, mean_logprob
from switchgear.routing.tiering.judge import Reply, judge_failure, judge_prompt, verdict
from switchgear.stages.context import RequestContext


def tokens(*logprobs: float) -> list[TokenLogprob]:
    return [TokenLogprob(f"t{i}", lp) for i, lp in enumerate(logprobs)]


def test_the_mean_logprob_is_the_mean_over_the_tokens() -> None:
    assert mean_logprob(tokens(-0.5, -1.5, -4.0)) == pytest.approx(-2.0)
    assert mean_logprob(tokens(0.0)) == 0.0


def test_no_logprobs_has_no_mean() -> None:
    assert mean_logprob(None) is None  # the provider sent none
    assert mean_logprob([]) is None  # an answer without content tokens


def test_the_logprob_check_escalates_below_its_minimum_only() -> None:
    assert logprob_failure(tokens(-1.0, -2.68), -1.2) == "mean logprob -1.84 < -1.2"
    assert logprob_failure(tokens(-1.2), -1.2) is None  # at the minimum: kept
    assert logprob_failure(tokens(-0.1, -0.3), -1.2) is None
    assert logprob_failure(None, -1.2) is None  # nothing to read: the check is skipped


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        ("PASS", True),
        ("pass - the answer is right", True),
        ("**FAIL**: wrong capital", False),
        ("Fail.", False),
        ("  \nPASS", True),
        ("PASSING", None),
        ("The answer is wrong. FAIL", None),  # the verdict must come first
        ("", None),
    ],
)
def test_the_verdict_is_the_replys_first_word(reply: str, expected: bool | None) -> None:
    assert verdict(reply) is expected


def test_the_prompt_holds_the_question_and_the_answer_verbatim() -> None:
    prompt = judge_prompt(JUDGE_PROMPT, "Is {x} a set?", "Yes: {answer} {1, 2}")
    assert "Question:\nIs {x} a set?" in prompt and "Answer:\nYes: {answer} {1, 2}" in prompt


def test_a_prompt_template_needs_both_placeholders() -> None:
    with pytest.raises(ValueError, match=r"must contain \{answer\}"):
        JudgeSettings(model="judge", prompt="Grade this: {question}")
    assert JudgeSettings(model="judge", timeout="250ms").timeout == 0.25  # type: ignore[arg-type]


class Asker:
    def __init__(self, reply: Reply) -> None:
        self.reply = reply
        self.asked: list[tuple[str, str, int, float]] = []

    async def __call__(
        self, model: str, prompt: str, max_tokens: int, within_s: float, ctx: RequestContext
    ) -> Reply:
        self.asked.append((model, prompt, max_tokens, within_s))
        return self.reply


@pytest.mark.parametrize(
    ("reply", "reason"),
    [
        (Reply("PASS", 700), None),
        (Reply("FAIL", 700), "judge"),
        (Reply("Maybe", 700), "judge error: no verdict"),
        (Reply(None, 0, "timeout"), "judge error: timeout"),
    ],
)
async def test_the_judge_decides_and_its_cost_goes_onto_the_request(reply: Reply, reason: str | None) -> None:
    ctx = RequestContext(request_id="r1", api="chat")
    ask = Asker(reply)
    settings = JudgeSettings(model="judge", timeout="3s")  # type: ignore[arg-type]
    assert await judge_failure(ask, settings, ctx, "2+2?", "4") == reason
    assert ctx.side_nanousd == reply.cost_nanousd
    assert ask.asked == [("judge", judge_prompt(JUDGE_PROMPT, "2+2?", "4"), 16, 3.0)]


async def test_a_judge_not_bound_to_an_engine_escalates() -> None:
    ctx = RequestContext(request_id="r1", api="chat")
    reason = await judge_failure(None, JudgeSettings(model="judge"), ctx, "q", "a")
    assert reason == "judge error: not bound to an engine"


def test_the_requests_cost_includes_what_a_stage_paid_for() -> None:
    ctx = RequestContext(request_id="r1", api="chat")
    assert ctx.cost_nanousd is None
    ctx.side_nanousd = 500
    assert ctx.cost_nanousd == 500
    ctx.fixed_cost_nanousd, ctx.rejected_nanousd = 1_000, 20
    assert ctx.cost_nanousd == 1_520


def test_the_judge_sees_the_question_as_rewritten_by_a_guardrail() -> None:
    ctx = RequestContext(request_id="r1", api="chat")
    assert _question(ctx, "my SSN is 123-45-6789") == "my SSN is 123-45-6789"
    redacted = [Message("user", [TextPart("hi")]), Message("user", [TextPart("my SSN is <SSN>")])]
    ctx.replace_request(ChatRequest(model="auto", messages=redacted))
    assert _question(ctx, "my SSN is 123-45-6789") == "my SSN is <SSN>"
