"""The cascade's self-checks on a cheap tier's answer: each returns why it fails, or None.

All are plain string work (tens of microseconds): invalid JSON when JSON was asked, a refusal, an
empty or cut-off answer, and a math check — the final answer (after a ``####`` or "answer is"
marker, else the last number) must be an integer, and every ``a op b = c`` written in it must hold.
The logprob check (``logprob_failure``) reads the answer's token logprobs when its provider sent
them.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import orjson

from switchgear.config.tiering import CascadeChecks
from switchgear.core.types import TokenLogprob

_REFUSAL = re.compile(
    r"^\s*(?:i'?m sorry|i am sorry|sorry,|i apologi[sz]e|unfortunately,)?[^.!?\n]{0,40}?"
    r"\b(?:i (?:can(?:no|')t|am unable to|'m unable to|won'?t|am not able to)|as an ai\b)",
    re.IGNORECASE,
)
_NUMBER = r"-?\d[\d,]*(?:\.\d+)?"
_FINAL = re.compile(r"(?:####|answer is|answer:)\s*\$?\s*(" + _NUMBER + r")", re.IGNORECASE)
_ANY_NUMBER = re.compile(_NUMBER)
_OPS = r"+*/x\u00d7\u00f7-"
# exactly "a op b = c": not the tail of a longer chain ("5 * 10 * 1.2 = 60", "(1 - 0.3) * 100")
# nor the head of one ("= 12 * 3")
_EQUATION = re.compile(
    r"(?<![\w.,)("
    + _OPS
    + r"])(?<![)("
    + _OPS
    + r"] )\$?("
    + _NUMBER
    + r")\s*(["
    + _OPS
    + r"])\s*\$?("
    + _NUMBER
    + r")\s*=\s*\$?\s*("
    + _NUMBER
    + r")(?![\d.])(?!\s*[("
    + _OPS
    + r"]\s*\$?\d)"
)
_MATHY = re.compile(r"\b(?:how many|how much|calculate|compute|total|percent|cost)\b", re.IGNORECASE)


def _number(text: str) -> float | None:
    try:
        return float(text.replace(",", ""))
    except ValueError:
        return None


def final_answer(text: str) -> str | None:
    """The answer's final number: after its last marker, else its last number."""
    marked = _FINAL.findall(text)
    if marked:
        return str(marked[-1])
    numbers = _ANY_NUMBER.findall(text)
    return str(numbers[-1]) if numbers else None


def math_failure(text: str, *, marker: bool = False) -> str | None:
    """Why a worked math answer looks wrong, or None (``marker``: it must mark its final answer)."""
    if marker and not _FINAL.search(text):
        return "no final-answer marker"
    final = final_answer(text)
    if final is None:
        return "no final number"
    value = _number(final)
    if value is None or value != int(value):
        return "final answer not an integer"
    for a, op, b, c in _EQUATION.findall(text):
        x, y, z = _number(a), _number(b), _number(c)
        if x is None or y is None or z is None:
            continue
        if op == "+":
            got = x + y
        elif op == "-":
            got = x - y
        elif op in "*x\u00d7":
            got = x * y
        elif y == 0:
            continue
        else:
            got = x / y
        if abs(got - z) > max(0.01, abs(z) * 1e-6) and abs(round(got, 2) - z) > 0.011:
            return "arithmetic does not hold"
    return None


def is_math_prompt(prompt: str) -> bool:
    """A question whose answer is a number: a math word and a number in the prompt."""
    return bool(_MATHY.search(prompt)) and bool(_ANY_NUMBER.search(prompt))


def failure(
    text: str,
    *,
    finish_reason: str | None,
    json_asked: bool,
    prompt: str,
    checks: CascadeChecks,
) -> str | None:
    """Why the cheap tier's answer should not be served, or None to serve it."""
    if checks.empty and (not text.strip() or finish_reason in ("length", "max_tokens")):
        return "empty answer" if not text.strip() else "truncated answer"
    if checks.invalid_json and json_asked:
        try:
            orjson.loads(text)
        except orjson.JSONDecodeError:
            return "invalid JSON"
    if checks.refusal and _REFUSAL.search(text[:300]):
        return "refusal"
    if checks.math and is_math_prompt(prompt):
        reason = math_failure(text, marker=checks.math_marker)
        if reason is not None:
            return reason
    return None


def mean_logprob(tokens: Sequence[TokenLogprob] | None) -> float | None:
    """The mean log probability of the answer's tokens; None when there are none to read (the
    provider sent no logprobs, or the answer has no content tokens)."""
    if not tokens:
        return None
    return sum(t.logprob for t in tokens) / len(tokens)


def logprob_failure(tokens: Sequence[TokenLogprob] | None, minimum: float) -> str | None:
    """Why the answer is too unsure of itself (its mean token logprob is below ``minimum``), or
    None — also when there are no logprobs to read: the check is then skipped."""
    mean = mean_logprob(tokens)
    if mean is None or mean >= minimum:
        return None
    return f"mean logprob {mean:.2f} < {minimum:g}"
