"""Validated patterns of the structured PII tier: each finder yields ``(start, end, type)`` spans.

Each finder first checks for a cheap trigger (an ``@``, a digit, ``://``) so that ordinary text
costs a few substring tests; candidates found by a regular expression are then validated (Luhn for
cards, mod-97 for IBANs, the SSA's area/group/serial rules, ``ipaddress``, ``phonenumbers``).
"""

from __future__ import annotations

import functools
import ipaddress
import re
from collections.abc import Callable, Iterator

import phonenumbers

Span = tuple[int, int, str]

_DIGIT = re.compile(r"\d")

_EMAIL = re.compile(r"(?<![\w.+-])[A-Za-z0-9][\w.+-]{0,63}@(?:[A-Za-z0-9-]{1,63}\.)+[A-Za-z]{2,24}\b")


def emails(text: str) -> Iterator[Span]:
    if "@" not in text:
        return
    for m in _EMAIL.finditer(text):
        yield m.start(), m.end(), "EMAIL_ADDRESS"


_CARD = re.compile(r"\d(?<![\w-]\d)(?:[ -]?\d){11,18}(?![\w-])")
# issuer prefixes: Visa, Mastercard (51-55, 2221-2720), Amex, Diners, Discover, JCB (35, 2131, 1800),
# Maestro and UnionPay; other Luhn-valid numbers need the word "card" close before them
_ISSUER = re.compile(r"4|5[0-9]|6[0-9]|3[4-9]|30[0-5]|2[2-7]|2131|1800")
_CARD_CONTEXT = re.compile(r"card|visa|mastercard|amex|maestro", re.IGNORECASE)


def luhn(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i & 1:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def cards(text: str) -> Iterator[Span]:
    for m in _CARD.finditer(text):
        digits = m.group().replace(" ", "").replace("-", "")
        if not luhn(digits) or len(set(digits)) == 1:
            continue
        issuer = _ISSUER.match(digits) is not None and (digits[0] != "2" or 2221 <= int(digits[:4]) <= 2720)
        context = _CARD_CONTEXT.search(text, max(0, m.start() - 40), m.start()) is not None
        if issuer or digits[:4] in ("2131", "1800") or context:
            yield m.start(), m.end(), "CREDIT_CARD"


_IBAN = re.compile(r"\b[A-Za-z]{2}\d{2}(?: ?[A-Za-z0-9]){11,30}\b")
# length of an IBAN per country (ISO 13616 registry), for the countries that use them
_IBAN_LENGTHS = {
    "AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22, "BH": 22,
    "BR": 29, "BY": 28, "CH": 21, "CR": 22, "CY": 28, "CZ": 24, "DE": 22, "DK": 18, "DO": 28,
    "EE": 20, "EG": 29, "ES": 24, "FI": 18, "FO": 18, "FR": 27, "GB": 22, "GE": 22, "GI": 23,
    "GL": 18, "GR": 27, "GT": 28, "HR": 21, "HU": 28, "IE": 22, "IL": 23, "IQ": 23, "IS": 26,
    "IT": 27, "JO": 30, "KW": 30, "KZ": 20, "LB": 28, "LC": 32, "LI": 21, "LT": 20, "LU": 20,
    "LV": 21, "MC": 27, "MD": 24, "ME": 22, "MK": 19, "MR": 27, "MT": 31, "MU": 30, "NL": 18,
    "NO": 15, "PK": 24, "PL": 28, "PS": 29, "PT": 25, "QA": 29, "RO": 24, "RS": 22, "SA": 24,
    "SC": 31, "SE": 24, "SI": 19, "SK": 24, "SM": 27, "ST": 25, "SV": 28, "TL": 23, "TN": 24,
    "TR": 26, "UA": 29, "VA": 22, "VG": 24, "XK": 20,
}  # fmt: skip


def iban_valid(value: str) -> bool:
    value = value.replace(" ", "").upper()
    if _IBAN_LENGTHS.get(value[:2]) != len(value):
        return False
    moved = value[4:] + value[:4]
    return int("".join(str(int(c, 36)) for c in moved)) % 97 == 1


_TWO_DIGITS = re.compile(r"\d\d")


def _iban_candidates(text: str) -> Iterator[re.Match[str]]:
    """Two letters and two digits at a word start (found from the digits: quick to scan)."""
    for digits in _TWO_DIGITS.finditer(text):
        at = digits.start() - 2
        if at >= 0 and text[at : at + 2].isalpha() and (at == 0 or not text[at - 1].isalnum()):
            m = _IBAN.match(text, at)
            if m is not None:
                yield m


def ibans(text: str) -> Iterator[Span]:
    for m in _iban_candidates(text):
        value = m.group()
        # a match may run on into the next word: try the longest valid prefix ending a group
        compact = value.replace(" ", "")
        length = _IBAN_LENGTHS.get(compact[:2].upper())
        if length is None or len(compact) < length:
            continue
        end, seen = m.start(), 0
        for i, ch in enumerate(value):
            if ch != " ":
                seen += 1
            if seen == length:
                end = m.start() + i + 1
                break
        if iban_valid(text[m.start() : end]) and (end == m.end() or not text[end].isalnum()):
            yield m.start(), end, "IBAN_CODE"


_SSN = re.compile(r"(\d(?<![\w-]\d)\d\d)([- ]?)(\d{2})\2(\d{4})(?![\w-])")
_SSN_CONTEXT = re.compile(r"ssn|social security|tax id|\btin\b", re.IGNORECASE)


def ssns(text: str) -> Iterator[Span]:
    for m in _SSN.finditer(text):
        area, group, serial = m.group(1), m.group(3), m.group(4)
        if area in ("000", "666") or area[0] == "9" or group == "00" or serial == "0000":
            continue
        if m.group(2) != "-" and _SSN_CONTEXT.search(text, max(0, m.start() - 40), m.start()) is None:
            continue  # nine bare digits or spaced groups: an SSN only where the text says so
        yield m.start(), m.end(), "US_SSN"


_IPV4 = re.compile(r"\d(?<![\d.]\d)\d{0,2}\.(?:\d{1,3}\.){2}\d{1,3}(?![\d]|\.\d)")
_IPV6 = re.compile(r"(?<![\w:])(?:[0-9A-Fa-f]{0,4}:){2,7}[0-9A-Fa-f]{0,4}(?![\w:])")


def ips(text: str) -> Iterator[Span]:
    if "." in text:
        for m in _IPV4.finditer(text):
            if all(int(part) <= 255 for part in m.group().split(".")):
                yield m.start(), m.end(), "IP_ADDRESS"
    if text.count(":") >= 2:
        for m in _IPV6.finditer(text):
            value = m.group()
            if value.count(":") < 2 or sum(c.isalnum() for c in value) < 6:
                continue
            try:
                ipaddress.IPv6Address(value)
            except ValueError:
                continue
            yield m.start(), m.end(), "IP_ADDRESS"


_MONTHS = r"(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?"
_NUMERIC_DATE = re.compile(
    r"(?<![\d/.-])(?:"
    r"(?:19|20)\d\d-(?:0?[1-9]|1[0-2])-(?:0?[1-9]|[12]\d|3[01])(?:[ T]\d\d:\d\d(?::\d\d)?)?"
    r"|(?:0?[1-9]|[12]\d|3[01])[/.-](?:0?[1-9]|[12]\d|3[01])[/.-](?:19|20)\d\d"
    r")(?![\d/])"
)
_MONTH = re.compile(r"\b" + _MONTHS, re.IGNORECASE)
_NAMED_DATE = re.compile(
    rf"\b(?:(?:0?[1-9]|[12]\d|3[01]) {_MONTHS},? (?:19|20)\d\d"
    rf"|{_MONTHS} (?:0?[1-9]|[12]\d|3[01])(?:st|nd|rd|th)?,? (?:19|20)\d\d)(?!\d)",
    re.IGNORECASE,
)


_YEAR = re.compile(r"(?:19|20)\d\d")


def dates(text: str) -> Iterator[Span]:
    """Whole calendar dates (day, month and year): a date of birth, an appointment, a timestamp."""
    if _YEAR.search(text) is None:
        return
    for m in _NUMERIC_DATE.finditer(text):
        yield m.start(), m.end(), "DATE_TIME"
    if _MONTH.search(text) is not None:
        for m in _NAMED_DATE.finditer(text):
            yield m.start(), m.end(), "DATE_TIME"


_SECRET = re.compile(
    r"-----BEGIN [A-Z ]*PRIVATE KEY(?: BLOCK)?-----[\s\S]*?-----END [A-Z ]*PRIVATE KEY(?: BLOCK)?-----"
    r"|\b(?:sk-ant-[\w-]{20,}|sk-(?:proj-)?[A-Za-z0-9_-]{20,}|(?:sk|rk|pk)_(?:live|test)_[A-Za-z0-9]{16,}"
    r"|AKIA[0-9A-Z]{16}|ASIA[0-9A-Z]{16}|gh[pousr]_[A-Za-z0-9]{30,}|github_pat_\w{30,}|glpat-[\w-]{20}"
    r"|xox[abposr]-[A-Za-z0-9-]{10,}|AIza[\w-]{35}|hf_[A-Za-z0-9]{30,}"
    r"|eyJ[\w-]{8,}\.eyJ[\w-]{8,}\.[\w-]{8,})"
)


def _has_secret_hint(text: str) -> bool:
    """A quick look for the fixed prefixes of the secret formats (no regex scan)."""
    return (
        "sk-" in text or "sk_" in text or "rk_" in text or "pk_" in text or "AKIA" in text
        or "ASIA" in text or ("gh" in text and "_" in text) or "github_pat_" in text or "glpat-" in text
        or "xox" in text or "AIza" in text or "hf_" in text or "eyJ" in text or "-----BEGIN" in text
    )  # fmt: skip


def secrets(text: str) -> Iterator[Span]:
    if not _has_secret_hint(text):
        return
    for m in _SECRET.finditer(text):
        yield m.start(), m.end(), "SECRET"


_URL_CREDENTIALS = re.compile(r"\b[a-zA-Z][a-zA-Z0-9+.-]{1,15}://[^\s/:@]+:[^\s/@]+@[^\s\"'<>]+")


def url_credentials(text: str) -> Iterator[Span]:
    if "://" not in text:
        return
    for m in _URL_CREDENTIALS.finditer(text):
        yield m.start(), m.end(), "URL_CREDENTIALS"


# a run of digits and phone punctuation (fast to find), then its shape checked in full
_PHONE_RUN = re.compile(r"[+(]?\d[\d ().-]*\d(?:x\d{1,6})?")
_PHONE = re.compile(
    r"(?:\+\d{1,3}[ .-]?)?(?:\(0?\d{1,4}\)[ .-]?|\(0\) ?)?\d{1,5}(?:[ .-]?\d{1,5}){0,5}(?:x\d{1,6})?"
)
_PHONE_CONTEXT = re.compile(
    r"phone|mobile|cell|call|tel\b|fax|office|whatsapp|sms|text me|messages? to|contact|reach|registered",
    re.IGNORECASE,
)
_PHONE_AFTER = re.compile(r"[ \t-]*(?:office|fax|mobile|home|work|cell|tel)\b", re.IGNORECASE)
_NOT_PHONE = re.compile(r"licen[cs]e|passport|account|order|invoice|ticket|tracking|serial", re.IGNORECASE)


@functools.lru_cache(maxsize=4096)
def _phone_valid(value: str) -> bool:
    number = value.split("x", 1)[0]
    try:
        if number.startswith("+"):
            return phonenumbers.is_possible_number(phonenumbers.parse(number, None))
        if number.startswith("001"):
            return phonenumbers.is_valid_number(phonenumbers.parse("+" + number[2:], None))
        return phonenumbers.is_valid_number(phonenumbers.parse(number, "US"))
    except phonenumbers.NumberParseException:
        return False


def phones(text: str, taken: list[Span]) -> Iterator[Span]:
    """Digit runs shaped like phone numbers: valid for a common region, or with a phone word
    (``Phone:``, ``call``, ``fax``) in the 40 characters before them."""
    for run in _PHONE_RUN.finditer(text):
        start = run.start()
        if start and (text[start - 1].isalnum() or text[start - 1] in "+/.-_"):
            continue
        m = _PHONE.match(text, start, run.end())
        if m is None:
            continue
        end = m.end()
        after = text[end : end + 2]
        if after and (after[0].isalnum() or after[0] in "/_" or (after[0] in "-." and after[1:].isdigit())):
            continue
        value = m.group()
        digits = sum(c.isdigit() for c in value.split("x", 1)[0])
        if digits < 6 or digits > 15:
            continue
        if any(s < end and start < e for s, e, _ in taken):
            continue
        before = max(0, start - 40)
        if _NOT_PHONE.search(text, before, start) is not None:
            continue
        grouped = not value.isdigit()
        context = (
            _PHONE_CONTEXT.search(text, before, start) is not None
            or _PHONE_AFTER.match(text, end) is not None
        )
        if (context and (grouped or digits >= 7)) or (digits >= 9 and _phone_valid(value)):
            yield start, end, "PHONE_NUMBER"


FINDERS: dict[str, Callable[[str], Iterator[Span]]] = {
    "EMAIL_ADDRESS": emails,
    "CREDIT_CARD": cards,
    "IBAN_CODE": ibans,
    "US_SSN": ssns,
    "IP_ADDRESS": ips,
    "DATE_TIME": dates,
    "SECRET": secrets,
    "URL_CREDENTIALS": url_credentials,
}
