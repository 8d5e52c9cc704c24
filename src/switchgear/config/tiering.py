"""The settings of a tiered model (``models[].tiering``): which cheaper or stronger model serves
each request, decided per request by a policy (docs/tiering.md).

::

    models:
      - name: auto
        tiering:
          policy: classifier          # rules | classifier | cascade
          tiers: [cheap, strong]      # configured model names, cheapest first
          target_strong_share: 0.4    # or quality_target: 0.95 (classifier)
          rules:                      # first match wins, before the policy's own decision
            - {name: code, when: {code: true}, tier: strong}

A rule's ``when`` holds conditions that must all be true; a rule with no condition always matches.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator, model_validator

from switchgear.core.units import parse_duration


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


def _seconds(value: Any) -> Any:
    if isinstance(value, bool):
        raise ValueError("a duration is a string with a unit, e.g. '10s'")
    return parse_duration(value) if isinstance(value, str) else value


JUDGE_PROMPT = (
    "You are grading an assistant's answer to a user's question. Reply PASS if the answer is "
    "correct, complete and does what the question asks, or FAIL if it does not. Your reply must "
    "start with the single word PASS or FAIL.\n\nQuestion:\n{question}\n\nAnswer:\n{answer}"
)


class RuleConditions(_Model):
    """What a request must show for a rule to match (every condition given must hold)."""

    min_chars: int | None = Field(default=None, ge=0)  # the user messages' text, in characters
    max_chars: int | None = Field(default=None, ge=0)
    code: bool | None = None  # code detector (fences, keywords, operators)
    math: bool | None = None  # math detector (symbols, numbers, math words)
    keywords: list[str] = []  # any of these words or phrases, case-insensitive
    regex: str | None = None  # a Python regular expression searched in the last user message
    hint: str | None = None  # the request's ``x-switchgear-tier-hint`` header equals this
    tags: list[str] = []  # the request carries any of these tags
    teams: list[str] = []  # the calling key belongs to any of these teams
    min_turns: int | None = Field(default=None, ge=1)  # at least this many user messages
    tools: bool | None = None  # the request offers tools
    json_output: bool | None = None  # the request asks for JSON (response_format)

    @field_validator("regex")
    @classmethod
    def _compiles(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                re.compile(value)
            except re.error as exc:
                raise ValueError(f"not a valid regular expression: {exc}") from None
        return value


class TierRule(_Model):
    name: str = Field(min_length=1, max_length=64)
    tier: str = Field(min_length=1)  # one of the tiers
    when: RuleConditions = RuleConditions()


class CascadeChecks(_Model):
    """What makes the cheap tier's answer fail and the request escalate to the next tier."""

    invalid_json: bool = True  # invalid JSON when JSON was asked
    refusal: bool = True  # "I can't help with that" and the like
    empty: bool = True  # empty answer, or cut off by the token limit
    math: bool = True  # a final number missing, not an integer, or arithmetic that does not hold
    # math answers must give their final answer after a marker ("####", "answer is", "answer:"):
    # on when the prompts ask for one (GSM8K-style), else an unmarked answer would escalate
    math_marker: bool = False
    # math answers that pass the checks: escalate this share of them, those with the highest gain
    # by the shipped learned cascade (it reads the answer and the prompt; docs/tiering.md)
    learned_share: float | None = Field(default=None, gt=0, le=1)
    # escalate when the answer's mean token logprob is below this (the cheap tier is asked for
    # logprobs; skipped where its provider sends none, e.g. Anthropic)
    min_mean_logprob: float | None = Field(default=None, lt=0)
    judge: JudgeSettings | None = None  # a model grades the answers that pass every other check


class JudgeSettings(_Model):
    """A model asked to grade a cheap answer that passed the other checks: PASS keeps it, FAIL
    (or no verdict, an error, a timeout) escalates."""

    model: str = Field(min_length=1)  # a configured model without tiering
    # ``{question}`` (the last user message) and ``{answer}`` (the cheap answer's text)
    prompt: str = JUDGE_PROMPT
    timeout: Annotated[float, BeforeValidator(_seconds), Field(gt=0)] = 10.0
    max_tokens: int = Field(default=16, ge=1)  # the verdict comes first: a few tokens suffice

    @field_validator("prompt")
    @classmethod
    def _placeholders(cls, value: str) -> str:
        missing = [p for p in ("{question}", "{answer}") if p not in value]
        if missing:
            raise ValueError(f"the judge prompt must contain {' and '.join(missing)}")
        return value


class TieringSettings(_Model):
    policy: Literal["rules", "classifier", "cascade"] = "classifier"
    tiers: list[str] = Field(min_length=2)  # configured model names, cheapest first
    rules: list[TierRule] = []
    # the classifier's goal: at most this share of calls to the strongest tier, or the least share
    # that keeps this fraction of the strongest tier's quality on the calibration data
    target_strong_share: float | None = Field(default=None, ge=0, le=1)
    quality_target: float | None = Field(default=None, gt=0, le=1)
    honor_hint: bool = True  # an ``x-switchgear-tier-hint`` naming a tier chooses it outright
    default: str | None = None  # ``rules``: the tier when no rule matches (else the cheapest)
    cascade: CascadeChecks = CascadeChecks()
    model_path: str | None = None  # another classifier file (tools/train_tiering.py); else the shipped one

    @model_validator(mode="after")
    def _consistent(self) -> TieringSettings:
        problems: list[str] = []
        if len(set(self.tiers)) != len(self.tiers):
            problems.append("tiers: a model is listed twice")
        known = set(self.tiers)
        for i, rule in enumerate(self.rules):
            if rule.tier not in known:
                problems.append(f"rules[{i}].tier: {rule.tier!r} is not one of the tiers {self.tiers}")
        if self.default is not None and self.default not in known:
            problems.append(f"default: {self.default!r} is not one of the tiers {self.tiers}")
        if self.target_strong_share is not None and self.quality_target is not None:
            problems.append("give target_strong_share or quality_target, not both")
        if self.policy == "classifier" and self.target_strong_share is None and self.quality_target is None:
            problems.append("policy classifier needs a goal: target_strong_share or quality_target")
        if problems:
            raise ValueError("; ".join(problems))
        return self
