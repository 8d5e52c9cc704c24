"""Redaction of secrets from any text that may reach a log line or an error body.

Two layers. A ``Redactor`` masks the secret values the gateway holds (every provider key, header
secret, AWS secret and session token, proxy password, the master key), built once at start-up
from the settings: one compiled alternation of the escaped values (and their URL-encoded forms),
longest first. It also masks the end of a text cut in the middle of a secret (providers' messages
are bounded before they are redacted). Then ``redact`` masks what is shaped like a credential
whether configured or not: bearer tokens, secret-looking query values, ``api_key: ...`` pairs,
``sk-...`` and ``AIza...`` keys. Both run on error paths and log lines only, never on a
successful answer.

``mask_url`` and ``url_secrets`` treat URLs: a URL printed for people (the start-up summary) has
its ``user:password@`` and secret-looking query values masked; the same parts are secrets the
redactor must know.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import TypeVar
from urllib.parse import quote, quote_plus, unquote, urlsplit

from switchgear.core.errors import GatewayError

MASK = "***"
MIN_SECRET = 8  # shorter values (placeholders such as "none" or "EMPTY") would mask ordinary words
_PARTIAL = 6  # a text ending in this many or more leading characters of a secret was cut inside it

# A query parameter whose name says it carries a credential (key, api_key, token, sig, ...).
_SECRET_NAME = re.compile(r"key|token|secret|passw|pwd|sig|auth|credential", re.IGNORECASE)
_PATTERNS = [
    (re.compile(r"(?i)\b(bearer)\s+[A-Za-z0-9._~+/=-]{6,}"), r"\1 ***"),
    (
        re.compile(
            r"(?i)([?&][^=&?\s\"'#]*(?:key|token|secret|passw|pwd|sig|auth|credential)[^=&?\s\"'#]*=)"
            r"[^&\s\"'#]+"
        ),
        r"\1***",
    ),
    (
        re.compile(r"(?i)((?:api[_-]?key|x-api-key|authorization)[\"']?\s*[:=]\s*[\"']?)[^\s\"',}]{6,}"),
        r"\1***",
    ),
    (re.compile(r"\b(sk|sk-ant|sk-proj|gsk|xai)[-_][A-Za-z0-9_-]{8,}"), r"\1-***"),
    (re.compile(r"\bAIza[0-9A-Za-z_-]{20,}"), "AIza***"),
]

E = TypeVar("E", bound=GatewayError)


def redact(text: str) -> str:
    """``text`` with bearer tokens, secret query values and key-shaped strings masked."""
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


class Redactor:
    """Masks the configured secret values, then the key-shaped patterns (``redact``)."""

    __slots__ = ("_pattern", "_secrets")

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        forms: set[str] = set()
        for secret in secrets:
            if len(secret) >= MIN_SECRET:
                forms.update((secret, quote(secret, safe=""), quote_plus(secret)))
        self._secrets = tuple(sorted(forms, key=lambda s: (-len(s), s)))  # longest first
        self._pattern = re.compile("|".join(map(re.escape, self._secrets))) if self._secrets else None

    def __len__(self) -> int:
        """How many secret forms are masked."""
        return len(self._secrets)

    def __call__(self, text: str) -> str:
        if self._pattern is not None and text:
            text = self._cut_end(self._pattern.sub(MASK, text))
        return redact(text)

    def error(self, exc: E) -> E:
        """``exc`` redacted in place: every text an upstream may have written into it (message,
        code, param, the text fields of its metadata and the messages of earlier attempts there)."""
        exc.message = self(exc.message)
        exc.args = (exc.message,)
        if exc.code:
            exc.code = self(exc.code)
        if exc.param:
            exc.param = self(exc.param)
        metadata = exc.metadata
        for name, value in metadata.items():  # what the upstream said of itself (its error type)
            if isinstance(value, str):
                metadata[name] = self(value)
        previous = metadata.get("previous_errors")
        if isinstance(previous, list):
            for entry in previous:
                if isinstance(entry, dict) and isinstance(entry.get("message"), str):
                    entry["message"] = self(entry["message"])
        return exc

    def _cut_end(self, text: str) -> str:
        """Mask a secret's leading characters at the end of ``text`` (a message cut inside it)."""
        last = text[-1]
        for secret in self._secrets:
            end = secret.rfind(last, _PARTIAL - 1, len(secret) - 1)
            while end >= _PARTIAL - 1:
                if text.endswith(secret[: end + 1]):
                    return text[: len(text) - end - 1] + MASK
                end = secret.rfind(last, _PARTIAL - 1, end)
        return text


def mask_url(url: str) -> str:
    """``url`` with the password (or a lone user token) and secret-looking query values masked."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return redact(url)
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, host = netloc.rsplit("@", 1)
        user, colon, _ = userinfo.partition(":")
        netloc = f"{user}:{MASK}@{host}" if colon else f"{MASK}@{host}"
    query = "&".join(_mask_pair(pair) for pair in parts.query.split("&")) if parts.query else ""
    masked = f"{parts.scheme}://{netloc}{parts.path}" if parts.scheme else f"{netloc}{parts.path}"
    if parts.query:
        masked += f"?{query}"
    if parts.fragment:
        masked += f"#{parts.fragment}"
    return masked


def url_secrets(url: str) -> list[str]:
    """The secrets written into ``url``: its password (or lone user token), secret query values."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return []
    found: list[str] = []
    if "@" in parts.netloc:
        userinfo = parts.netloc.rsplit("@", 1)[0]
        user, colon, password = userinfo.partition(":")
        found.append(unquote(password if colon else user))
    for pair in parts.query.split("&") if parts.query else ():
        name, equals, value = pair.partition("=")
        if equals and value and _SECRET_NAME.search(name):
            found.append(unquote(value))
    return [value for value in found if value]


def _mask_pair(pair: str) -> str:
    name, equals, value = pair.partition("=")
    return f"{name}={MASK}" if equals and value and _SECRET_NAME.search(name) else pair
