"""Veto rules on top of the cosine: two texts close in meaning that still need different answers.

Measured on Quora question pairs (``docs/caching.md``): most wrong hits above the threshold differ
in a number ("... in 2016" / "... in 2017") or a named thing ("... in Java" / "... in Python").
So a hit is refused when

- ``digits``: the sets of numbers in the two texts differ;
- ``entities``: ``"any"`` (the default): either text has a capitalised word (not at a sentence's
  start, not "I") that the other lacks in any case; ``"swap"``: both have one (a name swapped for
  another; one only added or dropped is left to the cosine); ``"off"``.

Which set ships is chosen by cross-validation (``tools/calibrate_semantic.py``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
_WORD = re.compile(r"[^\W\d_][\w'\u2019-]*")
_SENTENCE_END = frozenset(".?!:;\n")


@dataclass(frozen=True, slots=True)
class Features:
    """What the vetoes compare, read once per text (stored beside each entry's vector)."""

    numbers: frozenset[str]
    words: frozenset[str]  # every word, lower case
    entities: frozenset[str]  # capitalised words inside a sentence, lower case


def features(text: str) -> Features:
    numbers = frozenset(n.replace(",", "") for n in _NUMBER.findall(text))
    words: set[str] = set()
    entities: set[str] = set()
    for match in _WORD.finditer(text):
        word = match.group()
        base = re.sub(r"['\u2019]s$", "", word).lower()
        words.add(base)
        if word[0].isupper() and word != "I" and not _starts_sentence(text, match.start()):
            entities.add(base)
    return Features(numbers, frozenset(words), frozenset(entities))


def _starts_sentence(text: str, at: int) -> bool:
    i = at - 1
    while i >= 0 and text[i] in " \t\"'([\u201c\u2018":
        i -= 1
    return i < 0 or text[i] in _SENTENCE_END


@dataclass(frozen=True, slots=True)
class Vetoes:
    digits: bool = True
    entities: Literal["any", "swap", "off"] = "any"

    def refuses(self, a: Features, b: Features) -> bool:
        """Whether a hit between these two texts is refused whatever their cosine."""
        if self.digits and a.numbers != b.numbers:
            return True
        if self.entities == "off":
            return False
        a_only = a.entities - b.words
        b_only = b.entities - a.words
        if self.entities == "any":
            return bool(a_only or b_only)
        return bool(a_only and b_only)


NO_VETOES = Vetoes(digits=False, entities="off")
