"""Tiering rules: named conditions on a request, compiled once; the first that matches names a tier.

Detectors (``code``, ``math``) reuse the classifier's rule features' patterns, so a rule and the
classifier agree on what code and math look like.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from switchgear.config.tiering import RuleConditions, TierRule
from switchgear.routing.tiering import features
from switchgear.routing.tiering.signals import Signals


@dataclass(frozen=True, slots=True)
class Facts:
    """The request's metadata a rule may test besides its text."""

    hint: str | None
    tags: tuple[str, ...]
    team: str | None


def looks_like_code(text: str) -> bool:
    return "```" in text or features.code_markers(text) >= 2


def looks_like_math(text: str) -> bool:
    symbols = features.math_symbols(text)
    if symbols >= 2 or "\\frac" in text:
        return True
    return bool(features.DIGIT.search(text)) and not features.MATH_WORDS.isdisjoint(features.words_of(text))


class Rule:
    __slots__ = ("conditions", "keywords", "name", "regex", "tags", "teams", "tier")

    def __init__(self, rule: TierRule) -> None:
        self.name = rule.name
        self.tier = rule.tier
        self.conditions: RuleConditions = rule.when
        when = rule.when
        self.keywords = (
            re.compile(r"\b(?:" + "|".join(re.escape(k.lower()) for k in when.keywords) + r")\b")
            if when.keywords
            else None
        )
        self.regex = re.compile(when.regex) if when.regex is not None else None
        self.tags = frozenset(when.tags)
        self.teams = frozenset(when.teams)

    def matches(self, s: Signals, facts: Facts) -> bool:
        when = self.conditions
        checks = (
            when.min_chars is None or s.user_chars >= when.min_chars,
            when.max_chars is None or s.user_chars <= when.max_chars,
            when.min_turns is None or s.turns >= when.min_turns,
            when.tools is None or s.tools == when.tools,
            when.json_output is None or s.json_output == when.json_output,
            when.hint is None or facts.hint == when.hint,
            not self.tags or not self.tags.isdisjoint(facts.tags),
            not self.teams or facts.team in self.teams,
        )
        if not all(checks):
            return False
        text = s.last_user
        if self.keywords is not None and self.keywords.search(text.lower()) is None:
            return False
        if self.regex is not None and self.regex.search(text) is None:
            return False
        if when.code is not None and looks_like_code(text) != when.code:
            return False
        return when.math is None or looks_like_math(text) == when.math


def first_match(rules: Sequence[Rule], s: Signals, facts: Facts) -> Rule | None:
    for rule in rules:
        if rule.matches(s, facts):
            return rule
    return None
