"""The structured PII tier: find typed spans in a text, and mask them with typed placeholders.

``Detector(types).find(text)`` returns non-overlapping ``(start, end, type)`` spans, sorted; a
``Masker`` replaces each span with ``<EMAIL_1>``-style placeholders (one number per distinct
value and type, within one request) and can put the values back into that request's answer.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable, Iterator

from switchgear.guardrails.pii.addresses import addresses
from switchgear.guardrails.pii.patterns import FINDERS, Span, phones

# each type and the short label of its placeholders
LABELS = {
    "EMAIL_ADDRESS": "EMAIL",
    "PHONE_NUMBER": "PHONE",
    "CREDIT_CARD": "CARD",
    "IBAN_CODE": "IBAN",
    "US_SSN": "SSN",
    "IP_ADDRESS": "IP",
    "DATE_TIME": "DATE",
    "SECRET": "SECRET",
    "URL_CREDENTIALS": "URL",
    "STREET_ADDRESS": "ADDRESS",
}
TYPES = tuple(LABELS)
STRUCTURED = ("EMAIL_ADDRESS", "PHONE_NUMBER", "CREDIT_CARD", "IBAN_CODE", "US_SSN", "IP_ADDRESS")
# the fewest ASCII digits a text must hold for each type to be looked for
_MIN_DIGITS = {"CREDIT_CARD": 12, "IBAN_CODE": 8, "US_SSN": 9, "IP_ADDRESS": 3, "DATE_TIME": 4}
_NEEDS_DIGIT = frozenset(_MIN_DIGITS)
_NO_DIGITS = str.maketrans("", "", "0123456789")
_CLEAN_MAX = 65_536
RESTORE = "RESTORE"  # the span type of a placeholder whose value is put back
# placeholders as a Masker writes them (and as a model may echo them)
PLACEHOLDER = re.compile(r"<([A-Z]+)_(\d+)>")


class Detector:
    """Finds spans of the given types. Order matters when spans overlap: secrets and URLs with
    credentials first, then e-mails, IBANs, cards, SSNs, IPs, dates, addresses, phones."""

    def __init__(self, types: Iterable[str] = TYPES) -> None:
        wanted = set(types)
        unknown = wanted - set(LABELS)
        if unknown:
            raise ValueError(f"unknown PII types: {', '.join(sorted(unknown))}")
        order: tuple[str, ...] = (
            "SECRET",
            "URL_CREDENTIALS",
            "EMAIL_ADDRESS",
            "IBAN_CODE",
            "CREDIT_CARD",
            "US_SSN",
            "IP_ADDRESS",
        )
        order += ("DATE_TIME",)
        self._always: list[Callable[[str], Iterator[Span]]] = []
        self._digits: list[tuple[int, Callable[[str], Iterator[Span]]]] = []
        self._clean: set[int] = set()  # hashes of texts known to hold nothing (never the texts)
        for kind in order:
            if kind in wanted:
                if kind in _NEEDS_DIGIT:
                    self._digits.append((_MIN_DIGITS[kind], FINDERS[kind]))
                else:
                    self._always.append(FINDERS[kind])
        self._addresses = "STREET_ADDRESS" in wanted
        self._phones = "PHONE_NUMBER" in wanted
        self.types = frozenset(wanted)

    def find(self, text: str) -> list[Span]:
        """The spans found in ``text``. A text found clean is remembered by its hash (a system
        prompt, the earlier turns of a conversation sent again) and not searched again."""
        key = hash(text)
        if key in self._clean:
            return []
        spans = self.search(text)
        if not spans:
            if len(self._clean) >= _CLEAN_MAX:
                self._clean.clear()
            self._clean.add(key)
        return spans

    def search(self, text: str) -> list[Span]:
        """The spans in ``text``, searched every time (what ``find`` does on a text not seen clean)."""
        return self._find(text) if text.isascii() else self._find_folded(text)

    def _find_folded(self, text: str) -> list[Span]:
        """Non-ASCII text: searched with look-alike characters folded (NFKC: full-width digits and
        letters) and zero-width characters left out, the spans mapped back to the original text
        (so that a value written in full-width digits or split by U+200B is still found whole)."""
        folded, origin = fold(text)
        if folded == text:
            return self._find(text)
        found = self._find(folded)
        return [(origin[s], origin[e - 1] + 1, k) for s, e, k in found]

    def _find(self, text: str) -> list[Span]:
        spans: list[Span] = []
        for finder in self._always:
            _add(spans, finder(text))
        digits = len(text) - len(text.translate(_NO_DIGITS))
        if not digits:
            spans.sort()
            return spans
        for least, finder in self._digits:
            if digits >= least:
                _add(spans, finder(text))
        places = list(addresses(text)) if self._addresses else []
        if self._phones and digits >= 6:  # a house number is not a phone number
            _add(spans, phones(text, spans + places))
        _add(spans, places)
        spans.sort()
        return spans


_INVISIBLE = frozenset("\u200b\u200c\u200d\u2060\ufeff\u00ad")


def fold(text: str) -> tuple[str, list[int]]:
    """``text`` with each character NFKC-folded where it folds to one character and invisible
    characters dropped, and for each character of the result its offset in ``text``."""
    out: list[str] = []
    origin: list[int] = []
    for i, ch in enumerate(text):
        if ch in _INVISIBLE:
            continue
        folded = ch if ch.isascii() else unicodedata.normalize("NFKC", ch)
        out.append(folded if len(folded) == 1 else ch)
        origin.append(i)
    return "".join(out), origin


def _add(spans: list[Span], found: Iterable[Span]) -> None:
    """Keep the spans that overlap none already kept (earlier finders win)."""
    for span in found:
        start, end, _ = span
        if not any(s < end and start < e for s, e, _ in spans):
            spans.append(span)


class Masker:
    """One request's placeholders: ``<EMAIL_1>`` for the first distinct e-mail, and so on. The
    values stay in this object (never logged, never stored) so that they can be put back in the
    same request's answer when masking is reversible."""

    def __init__(self, detector: Detector) -> None:
        self.detector = detector
        self.values: dict[str, str] = {}  # placeholder -> value
        self._placeholders: dict[tuple[str, str], str] = {}
        self._counts: dict[str, int] = {}
        self.found: dict[str, int] = {}  # type -> count of values masked

    def placeholder(self, kind: str, value: str) -> str:
        known = self._placeholders.get((kind, value))
        if known is not None:
            return known
        label = LABELS[kind]
        number = self._counts.get(label, 0) + 1
        self._counts[label] = number
        made = f"<{label}_{number}>"
        self._placeholders[(kind, value)] = made
        self.values[made] = value
        return made

    def mask(self, text: str) -> str:
        """``text`` with every value found replaced by its placeholder."""
        return self.rewrite(text, self.detector.find(text))

    def spans(self, text: str, restore: bool = False) -> list[Span]:
        """The values to mask in ``text`` and, with ``restore``, this request's placeholders in it
        (type ``RESTORE``) to put the values back in their place."""
        spans = self.detector.find(text)
        if restore and self.values and "<" in text:
            for m in PLACEHOLDER.finditer(text):
                if m.group() in self.values:
                    start, end = m.span()
                    if not any(s < end and start < e for s, e, _ in spans):
                        spans.append((start, end, RESTORE))
            spans.sort()
        return spans

    def rewrite(self, text: str, spans: list[Span]) -> str:
        """``text`` with ``spans`` replaced: a value by its placeholder, a placeholder to restore
        by its value (both in one pass, so a restored value is never masked again)."""
        if not spans:
            return text
        out: list[str] = []
        last = 0
        for start, end, kind in spans:
            out.append(text[last:start])
            value = text[start:end]
            if kind == RESTORE:
                out.append(self.values.get(value, value))
            else:
                out.append(self.placeholder(kind, value))
                self.found[kind] = self.found.get(kind, 0) + 1
            last = end
        out.append(text[last:])
        return "".join(out)

    def restore(self, text: str) -> str:
        """This request's placeholders replaced by their values (others left as they are)."""
        if not self.values or "<" not in text:
            return text
        values = self.values
        return PLACEHOLDER.sub(lambda m: values.get(m.group(), m.group()), text)
