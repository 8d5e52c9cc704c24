"""Rules and signals: what a tiering rule sees of a request body, and the policy's order."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from switchgear.config.tiering import TieringSettings
from switchgear.routing.tiering.policy import Policy
from switchgear.routing.tiering.rules import Facts
from switchgear.routing.tiering.signals import signals

NO_FACTS = Facts(hint=None, tags=(), team=None)


def chat(*texts: str, **extra: Any) -> dict[str, Any]:
    return {"model": "auto", "messages": [{"role": "user", "content": t} for t in texts], **extra}


def test_signals_of_the_three_chat_shapes() -> None:
    s = signals(chat("hi", "there", tools=[{"type": "function"}], response_format={"type": "json_object"}))
    assert (s.last_user, s.user_chars, s.turns, s.tools, s.json_output) == ("there", 7, 2, True, True)
    parts = {"messages": [{"role": "user", "content": [{"type": "text", "text": "a"}, {"type": "image"}]}]}
    assert signals(parts).last_user == "a"
    assert signals({"input": "plain"}).last_user == "plain"
    responses = {"input": [{"role": "user", "content": [{"type": "input_text", "text": "b"}]}]}
    assert signals(responses).last_user == "b"
    assert signals({"text": {"format": {"type": "json_schema"}}, "input": "x"}).json_output


def policy(**conf: Any) -> Policy:
    return Policy("auto", TieringSettings(**{"policy": "rules", "tiers": ["cheap", "mid", "strong"], **conf}))


def test_first_matching_rule_wins_then_the_default() -> None:
    p = policy(
        rules=[
            {"name": "team", "tier": "strong", "when": {"teams": ["research"]}},
            {"name": "math", "tier": "mid", "when": {"math": True}},
            {"name": "short", "tier": "cheap", "when": {"max_chars": 20}},
            {"name": "rx", "tier": "strong", "when": {"regex": r"(?i)\bproof\b"}},
        ],
        default="mid",
    )
    assert p.decide(signals(chat("hello")), Facts(None, (), "research")).reason == "rule team"
    d = p.decide(signals(chat("Solve 3x + 4 = 19 for x, please, step by step")), NO_FACTS)
    assert (d.tier, d.reason) == (1, "rule math")
    assert p.decide(signals(chat("hello")), NO_FACTS).reason == "rule short"
    assert p.decide(signals(chat("Give a proof of the claim that follows here")), NO_FACTS).tier == 2
    assert p.decide(signals(chat("Write a friendly letter to my aunt")), NO_FACTS).reason == "default"


def test_hint_wins_unless_turned_off() -> None:
    assert policy().decide(signals(chat("x")), Facts("strong", (), None)).tier == 2
    assert policy(honor_hint=False).decide(signals(chat("x")), Facts("strong", (), None)).tier == 0


@pytest.mark.parametrize(
    ("conf", "message"),
    [
        ({"tiers": ["a"]}, "at least 2"),
        ({"tiers": ["a", "a"]}, "listed twice"),
        ({"tiers": ["a", "b"], "rules": [{"name": "r", "tier": "c"}]}, r"rules\[0\]\.tier"),
        ({"tiers": ["a", "b"], "policy": "classifier"}, "needs a goal"),
        ({"tiers": ["a", "b"], "target_strong_share": 0.3, "quality_target": 0.9}, "not both"),
        ({"tiers": ["a", "b"], "rules": [{"name": "r", "tier": "a", "when": {"regex": "("}}]}, "regular"),
        ({"tiers": ["a", "b"], "target_strong_share": 1.5}, "less than or equal"),
    ],
)
def test_bad_settings_are_refused(conf: dict[str, Any], message: str) -> None:
    conf.setdefault("policy", "rules")
    with pytest.raises(ValidationError, match=message):
        TieringSettings(**conf)
