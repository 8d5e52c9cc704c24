"""Cheap prompt features for tiering: rule features and a TF-IDF bag of word 1-2-grams.

Pure Python (no numpy at run time), a few tens of microseconds per prompt. The same functions
feed the training script (``tools/train_tiering.py``) and the gateway, so a model never sees
features computed another way than the ones it was trained on.

``rule_features`` returns a fixed-order list of floats (``RULE_NAMES``); ``ngrams`` returns the
sublinear term counts of lower-cased word unigrams and bigrams, which the model's vocabulary
(idf per term) turns into an L2-normalised TF-IDF vector.
"""

from __future__ import annotations

import math
import re

_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")
DIGIT = re.compile(r"\d")
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
_MATH_CHARS = "=+*/^<>%√∑∫π≤≥±"
_MATH_NAMES = re.compile(r"\\(?:frac|sqrt)|\b(?:sqrt|log|sin|cos)\b")
_CODE_STRINGS = ("```", "#include", "==", "!=", "&&", "||", "->")
_CODE_WORDS = re.compile(r"\b(?:def |class |import |return\b|function\b)")
_CODE_CALL = re.compile(r"\w\(\)")
_CODE_LINE_END = re.compile(r"[{};][ \t]*$", re.MULTILINE)
MATH_WORDS = frozenset(
    [
        "calculate",
        "compute",
        "solve",
        "equation",
        "integer",
        "integers",
        "probability",
        "derivative",
        "integral",
        "sum",
        "product",
        "percent",
        "ratio",
        "average",
        "total",
        "remainder",
        "prime",
        "polynomial",
        "matrix",
        "function",
        "value",
        "find",
        "degree",
        "root",
        "roots",
        "modulo",
        "mod",
        "divisible",
        "area",
        "volume",
        "speed",
        "rate",
    ]
)
_MATH_PHRASES = ("how many", "how much")
_REASONING_WORDS = frozenset(
    [
        "why",
        "explain",
        "prove",
        "justify",
        "compare",
        "reason",
        "infer",
        "implies",
        "therefore",
        "argument",
        "assumption",
        "conclusion",
        "valid",
        "fallacy",
    ]
)
_REASONING_PHRASES = ("must be true", "most likely", "best explains", "least likely")
_LAW_WORDS = frozenset(
    ["court", "plaintiff", "defendant", "statute", "contract", "law", "constitutional", "jury"]
)
_MEDICAL_WORDS = frozenset(["patient", "diagnosis", "mg", "symptoms", "clinical", "disease", "treatment"])
_TRUE_FALSE = frozenset(("true", "false"))
# each listed word's column in the word counts
_WORD_KIND = {
    **dict.fromkeys(MATH_WORDS, 0),
    **dict.fromkeys(_REASONING_WORDS, 1),
    **dict.fromkeys(_LAW_WORDS, 2),
    **dict.fromkeys(_MEDICAL_WORDS, 3),
    **dict.fromkeys(_TRUE_FALSE, 4),
}
_NEGATION = re.compile(r"\b(?:NOT|EXCEPT|LEAST|FALSE|INCORRECT|never)\b")
_STATEMENT = re.compile(r"Statement 1|Statement 2|\|")
_OPTIONS = re.compile(r"^[A-D][.)] ", re.MULTILINE)
_UPPER = re.compile(r"[A-Z]")

RULE_NAMES: tuple[str, ...] = (
    "log_chars",
    "log_words",
    "log_lines",
    "digit_share",
    "log_digits",
    "log_numbers",
    "log_max_number",
    "log_math_symbols",
    "log_code_markers",
    "log_math_words",
    "log_reasoning_words",
    "negations",
    "statement_form",
    "options",
    "which_of_following",
    "true_false",
    "long_word_share",
    "upper_share",
    "mean_word_length",
    "questions",
    "law_words",
    "medical_words",
)


def _log_count(pattern: re.Pattern[str], text: str) -> float:
    return math.log1p(len(pattern.findall(text)))


def math_symbols(text: str) -> int:
    """Operators, relations and math function names (plain counts, no backtracking)."""
    return sum(text.count(c) for c in _MATH_CHARS) + len(_MATH_NAMES.findall(text))


def code_markers(text: str) -> int:
    """Code fences, operators, keywords, calls ``f()`` and lines ending in ``{ } ;``."""
    found = sum(text.count(marker) for marker in _CODE_STRINGS)
    return (
        found
        + len(_CODE_WORDS.findall(text))
        + len(_CODE_CALL.findall(text))
        + len(_CODE_LINE_END.findall(text))
    )


def words_of(text: str) -> list[str]:
    """The prompt's lower-cased words (the tokens of both the rules and the n-grams)."""
    return _WORD.findall(text.lower())


def rule_features(text: str, words: list[str] | None = None) -> list[float]:
    """The rule features of a prompt, in ``RULE_NAMES`` order (``words``: ``words_of(text)``)."""
    lower = text.lower()
    if words is None:
        words = _WORD.findall(lower)
    chars = len(text) or 1
    n_words = len(words) or 1
    numbers = _NUMBER.findall(text)
    biggest = max((float(n.replace(",", "")) for n in numbers[:64] if _safe_float(n)), default=0.0)
    digits = len(DIGIT.findall(text))
    kinds = [0, 0, 0, 0, 0]
    long_words = 0
    letters = 0
    for word in words:
        kind = _WORD_KIND.get(word)
        if kind is not None:
            kinds[kind] += 1
        size = len(word)
        letters += size
        if size >= 10 and word.isalpha():
            long_words += 1
    kinds[0] += sum(lower.count(p) for p in _MATH_PHRASES)
    kinds[1] += sum(lower.count(p) for p in _REASONING_PHRASES)
    return [
        math.log1p(len(text)),
        math.log1p(len(words)),
        math.log1p(text.count("\n")),
        digits / chars,
        math.log1p(digits),
        math.log1p(len(numbers)),
        math.log1p(min(biggest, 1e12)),
        math.log1p(math_symbols(text)),
        math.log1p(code_markers(text)),
        math.log1p(kinds[0]),
        math.log1p(kinds[1]),
        _log_count(_NEGATION, text),
        1.0 if _STATEMENT.search(text) else 0.0,
        1.0 if len(_OPTIONS.findall(text)) >= 2 else 0.0,
        1.0 if "which of the following" in lower else 0.0,
        math.log1p(kinds[4]),
        long_words / n_words,
        len(_UPPER.findall(text)) / chars,
        letters / n_words,
        math.log1p(text.count("?")),
        math.log1p(kinds[2]),
        math.log1p(kinds[3]),
    ]


def _safe_float(token: str) -> bool:
    try:
        float(token.replace(",", ""))
    except ValueError:
        return False
    return True


def ngrams(text: str, words: list[str] | None = None) -> dict[str, float]:
    """Sublinear term frequencies (1 + log count) of the prompt's word unigrams and bigrams."""
    if words is None:
        words = _WORD.findall(text.lower())
    counts: dict[str, int] = {}
    for i, word in enumerate(words):
        counts[word] = counts.get(word, 0) + 1
        if i:
            bigram = words[i - 1] + " " + word
            counts[bigram] = counts.get(bigram, 0) + 1
    return {term: 1.0 + math.log(count) for term, count in counts.items()}
