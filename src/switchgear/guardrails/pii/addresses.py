"""Street addresses by pattern: a house number next to a street word (``12 Baker Street``,
``Lozerlaan 172``, ``ul. Paderewskiego 85``), unit and post-box forms (``Apt. 120``, ``PSC 2905,
Box 1278``, ``P.O. Box 242``), and the lines that follow a street line (town, region, country,
postcode) while they stay short and address-like.

Every address holds a number: the finder looks at each number once, tries the forms that start
with it and the forms that end with it (on the 48 characters before it), so that text without
digits costs nothing and text with a few numbers a few anchored matches.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from switchgear.guardrails.pii.patterns import Span

# street words: English suffixes, and common continental endings of compound street names
_SUFFIXES = (
    "street|st|avenue|ave|road|rd|boulevard|blvd|lane|ln|drive|dr|court|ct|way|place|pl|terrace|square|"
    "sq|parkway|pkwy|highway|hwy|circle|cir|crescent|close|grove|gardens|row|walk|mews|hill|alley|trail|"
    "plaza|flat|str|gate"
)
_ENDINGS = (
    "vej|gade|weg|laan|plein|straat|strasse|straße|gasse|allee|platz|brücke|steenweg|vägen|"
    "veien|gatan|gränd|tie|katu|kuja|polku|tee|utca|ulica|stubben"
)
_PREFIX = (
    r"Rue|Avenue|Av\.|Via|Viale|Piazza|Rua|R\.|Calle|Carrer|Avda\.|Ctra\.|Trg|Pod|Plaza|Praça|"
    r"Largo|Chemin|Bd\.?|Hauptplatz"
)  # capitalised: "via" and "pod" are ordinary words
_WORD = r"[^\W\d_][\w'\u2019-]*\.?"
_NAME = r"[A-ZÀ-ÞΑ-ΩА-ЯŁŚŻ][\w'\u2019-]*\.?"  # a capitalised word of a street name
_NUM = r"\d{1,5}[A-Za-z]?(?!\w)"
# forms that start with the number
_FORWARD = re.compile(
    rf"{_NUM}(?: {_NUM})?[ \t]+(?:"
    rf"(?:{_NAME} ){{1,3}}(?i:{_SUFFIXES})\.?(?!\w)(?: (?:North|South|East|West))?"
    rf"|(?:(?i:rue|ul\.|avda\.|ctra\.|av\.)|{_PREFIX}) (?:{_WORD} ?){{1,4}}"
    rf"|{_WORD}(?i:{_ENDINGS}) {_NUM}"
    r")"
)
# a house-number line of a block ("20789 Allika 46", "17693 Király u. 15."): only at the start of a
# line or after a word that announces an address, since "Chapter 5 Section 2" has the same shape
_BLOCK_LINE = re.compile(
    rf"{_NUM}(?: {_NUM})?[ \t]+[A-ZÀ-ÞŁŚŻ][^\W\d_A-Z][\w'\u2019-]+"
    rf"(?: (?!(?:and|or|to|of|the|in|on|at|for|with|from|by|per)\b)[\w'\u2019-]+\.?){{0,2}} {_NUM}\.?"
)
_CUE = re.compile(
    r"(?:address|ship|send|sent|deliver|live|lives|located|reside|moving|move|mail|post|visit|following|"
    r"return|taxi|meet|corner|is)\W{0,3}(?:\w+\W{1,3}){0,2}$|(?:^|\n)[ \t>]*$",
    re.IGNORECASE,
)
# forms that end with the number, read word by word backwards from it
_UNITS = frozenset(
    ("Apt", "apt", "Apartment", "Suite", "Unit", "Flat", "Box", "PSC", "CMR", "Postbox", "Postfach")
)
_ENDING_TUPLE = tuple(_ENDINGS.split("|"))
_PREFIX_SET = frozenset(w.replace("\\", "") for w in _PREFIX.split("|")) | {
    "Bd",
    "rue",
    "ul.",
    "avda.",
    "ctra.",
}
_TOKEN = re.compile(r"\S+")


def at_len(text: str, at: int) -> int:
    """Length of the run of digits at ``at``."""
    end = at
    while end < len(text) and text[end].isdigit():
        end += 1
    return end - at


def _head(text: str, at: int) -> int:
    """Where an address that ends with the number at ``at`` starts, or -1."""
    words = [(m.start(), m.group()) for m in _TOKEN.finditer(text, max(0, at - 48), at)]
    if not words:
        return -1
    last_at, last = words[-1]
    if last_at + len(last) != at - 1 and last_at + len(last) != at:
        return -1
    key = last.strip(".,:>")
    if key in _UNITS:
        if key == "Box" and len(words) > 1 and words[-2][1].rstrip(".") in ("P.O", "PO", "P. O"):
            return words[-2][0]
        return last_at + len(last) - len(last.lstrip(">"))
    line_start = text.rfind("\n", 0, last_at) + 1
    digits = at_len(text, at)
    if (
        4 <= digits <= 6
        and text[at + digits : at + digits + 1] in ("", "\n")
        and len(key) >= 3
        and key.isalpha()
        and not text[line_start:last_at].strip(" \t>")
        and last[:1].isupper()
    ):
        return last_at  # "Estonia 62488" alone on a line of an address block: a country and postcode
    for back in range(1, min(6, len(words) + 1)):
        word_at, word = words[-back]
        if word in _PREFIX_SET:
            return word_at
        if not word[:1].isalpha():
            break
    key = key.lower()
    if key.endswith(_ENDING_TUPLE) and len(key) >= 6:
        start = last_at
        for word_at, word in reversed(words[-3:-1]):
            if not word[:1].isalpha() or word.endswith(","):
                break
            start = word_at
        return start
    return -1


_MILITARY = re.compile(r",? Box \d{3,5}(?:\s+[AD]PO A[AEP] \d{5})?")
_NUMBER = re.compile(r"\d(?<![\w/.,:$€£(-]\d)\d{0,4}[A-Za-z]?(?!\w)")
# a postcode or a line of an address block after a street line
_TAIL = re.compile(
    r"(?:[ \t]*,?\s{0,3}>?(?:apt\.?|suite|unit) \d{1,5}"
    r"|[ \t]*(?:,[ \t]*|\n[ \t>]*\n?[ \t>]*,?[ \t]*)"
    r"(?:[^\W\d_][\w'\u2019.-]*(?: [^\W\d_][\w'\u2019.-]*){0,3}|\d{4,6}(?=[ \t]*(?:\n|$))|[A-Z]{2}))"
    r"(?:[ \t]+\d{4,6})?",
    re.IGNORECASE,
)


def addresses(text: str) -> Iterator[Span]:
    covered = 0
    for number in _NUMBER.finditer(text):
        at = number.start()
        if at < covered:
            continue
        start = end = -1
        head = _head(text, at)
        if head >= 0:
            start, end = head, number.end()
            if text[start:end].lower().startswith(("psc", "unit", "cmr")):
                box = _MILITARY.match(text, end)
                if box is not None:
                    end = box.end()
        forward = _FORWARD.match(text, at)
        if forward is None and _CUE.search(text, max(0, at - 30), at) is not None:
            forward = _BLOCK_LINE.match(text, at)
        if forward is not None and forward.end() > end:
            start = at if start < 0 else start
            end = forward.end()
        if start < 0:
            continue
        for _ in range(4):  # follow an address block: a few more short lines or comma parts
            tail = _TAIL.match(text, end)
            if tail is None or tail.end() - end > 40:
                break
            end = tail.end()
        covered = end
        yield start, end, "STREET_ADDRESS"
