"""Redaction of secrets from any text that may reach a log line or an error body."""

from __future__ import annotations

import re

_PATTERNS = [
    (re.compile(r"(?i)\b(bearer)\s+[A-Za-z0-9._~+/=-]{6,}"), r"\1 ***"),
    (re.compile(r"(?i)([?&](?:key|api[_-]?key|token|access_token|sig)=)[^&\s\"']+"), r"\1***"),
    (
        re.compile(r"(?i)((?:api[_-]?key|x-api-key|authorization)[\"']?\s*[:=]\s*[\"']?)[^\s\"',}]{6,}"),
        r"\1***",
    ),
    (re.compile(r"\b(sk|sk-ant|sk-proj|gsk|xai)[-_][A-Za-z0-9_-]{8,}"), r"\1-***"),
    (re.compile(r"\bAIza[0-9A-Za-z_-]{20,}"), "AIza***"),
]


def redact(text: str) -> str:
    """``text`` with bearer tokens, ``key=`` query values and key-shaped strings masked."""
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text
