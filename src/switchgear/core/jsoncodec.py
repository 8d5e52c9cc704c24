"""JSON at the wire edges: compact encoding that survives big integers, decoding that keeps them
exact, and reading a provider's body as a JSON object or failing with ``UpstreamProtocolError``.

orjson is the fast path everywhere; it refuses integers beyond 64 bits (``dumps``) or turns them
into floats (``loads``), which valid JSON may hold (a client's JSON schema, a tool's input), so
both fall back to the standard library for those rare bodies.
"""

from __future__ import annotations

import json
import re
import secrets
from typing import Any

import orjson

from switchgear.core.errors import UpstreamProtocolError
from switchgear.core.money import Usd, json_default, usd_text

_LONG_NUMBER = re.compile(rb"\d{19}")  # may not fit 64 bits

# What a provider is said to have done when a body is not JSON / is JSON but not an object.
ANSWER = ("answered with a body that is not JSON", "answered with a non-object body")


def dumps(value: Any) -> bytes:
    """Compact JSON (a ``core.money.Usd`` as its bare decimal number); falls back to ``json`` for
    integers beyond 64 bits (valid JSON, rare)."""
    try:
        return orjson.dumps(value, default=json_default)
    except TypeError:
        return _slow_dumps(value)


def _slow_dumps(value: Any) -> bytes:
    """``json``'s encoding, with each ``Usd`` first written as a unique string, then unquoted."""
    amounts: dict[str, str] = {}
    tag = secrets.token_hex(8)

    def default(item: Any) -> str:
        if not isinstance(item, Usd):
            raise TypeError(f"{type(item).__name__} is not JSON serializable")
        marker = f"\x00{tag}:{item.nanousd}\x00"
        amounts[json.dumps(marker)] = usd_text(item.nanousd)
        return marker

    text = json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=default)
    for quoted, number in amounts.items():
        text = text.replace(quoted, number)
    return text.encode()


def loads_exact(raw: bytes | str) -> Any:
    """JSON with integers of any size kept exact (orjson turns those beyond 64 bits into floats).
    Raises ValueError (``json.JSONDecodeError``) on garbage."""
    data = raw.encode() if isinstance(raw, str) else raw
    if _LONG_NUMBER.search(data):
        return json.loads(data)
    return orjson.loads(data)


def sent(what: str) -> tuple[str, str]:
    """The complaints of ``load_object`` for a provider that sent ``what`` (say "a stream event")."""
    return f"sent {what} that is not JSON", f"sent {what} that is not a JSON object"


def load_json(raw: bytes, provider: str, not_json: str = ANSWER[0], *, exact: bool = False) -> Any:
    """``raw`` parsed (integers kept exact when ``exact``); else UpstreamProtocolError saying
    ``provider {provider!r} {not_json}``."""
    try:
        return loads_exact(raw) if exact else orjson.loads(raw)
    except ValueError:
        raise UpstreamProtocolError(f"provider {provider!r} {not_json}", provider=provider) from None


def load_object(
    raw: bytes, provider: str, complaints: tuple[str, str] = ANSWER, *, exact: bool = False
) -> dict[str, Any]:
    """``raw`` parsed as a JSON object; else UpstreamProtocolError naming the provider and what it
    did: ``complaints`` for a body that is not JSON, and for one that is no object."""
    value = load_json(raw, provider, complaints[0], exact=exact)
    if not isinstance(value, dict):
        raise UpstreamProtocolError(f"provider {provider!r} {complaints[1]}", provider=provider)
    return value


def is_object(payload: bytes) -> bool:
    """``payload`` is a complete JSON object (not the first half of one)."""
    try:
        return isinstance(orjson.loads(payload), dict)
    except orjson.JSONDecodeError:
        return False
