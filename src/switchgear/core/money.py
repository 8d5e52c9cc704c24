"""Money as clients see it: integer nano-USD rendered as exact USD decimals, in text and in JSON.

The gateway keeps costs in integer nano-USD (``catalog.costs``); clients get USD, as OpenRouter
gives ``usage.cost``. ``usd_text`` writes the exact decimal (``123000`` -> ``"0.000123"``, never an
exponent or a float's rounding), and a ``Usd`` placed in a document is written as that bare JSON
number by ``jsoncodec.dumps`` (or by ``orjson.dumps`` given ``default=json_default``).
``insert_cost`` adds ``"cost"`` to the usage object of an encoded JSON document in its bytes, when
they alone say safely where (``core.usage.with_cost`` re-encodes the document otherwise).
"""

from __future__ import annotations

from typing import Any

import orjson

_NANO = 1_000_000_000
_SPACE = frozenset(b" \t\r\n")


def usd_text(nanousd: int) -> str:
    """The exact decimal USD amount of ``nanousd`` nano-USD: 123000 -> "0.000123", 0 -> "0"."""
    whole, fraction = divmod(nanousd, _NANO)
    if not fraction:
        return str(whole)
    return f"{whole}.{fraction:09d}".rstrip("0")


class Usd:
    """An amount of money in a JSON document, written as the exact decimal number it is."""

    __slots__ = ("nanousd",)

    def __init__(self, nanousd: int) -> None:
        self.nanousd = nanousd

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Usd) and other.nanousd == self.nanousd

    def __hash__(self) -> int:
        return hash(self.nanousd)

    def __repr__(self) -> str:
        return f"Usd({usd_text(self.nanousd)})"


def json_default(value: Any) -> orjson.Fragment:
    """orjson's ``default``: a ``Usd`` as a bare decimal number; anything else is refused."""
    if isinstance(value, Usd):
        return orjson.Fragment(usd_text(value.nanousd).encode())
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def _skip_space(data: bytes, at: int) -> int:
    while at < len(data) and data[at] in _SPACE:
        at += 1
    return at


def insert_cost(payload: bytes, cost: str) -> bytes | None:
    """``payload`` with ``"cost": <cost>`` first in the object under its only ``"usage"`` key, or
    None when the bytes alone cannot say where that is safely (the caller re-encodes then).

    Safe means: ``"usage"`` occurs once, not after a backslash (inside a string), followed by
    ``:`` and ``{`` (a key holding an object); and ``"cost"`` occurs nowhere (no key to duplicate).
    Inside a JSON string a quote is always escaped, so the one unescaped ``"usage"`` before a
    colon is the key itself.
    """
    key = payload.find(b'"usage"')
    if key <= 0 or payload[key - 1] == 0x5C or b'"cost"' in payload:
        return None
    if payload.find(b'"usage"', key + 7) >= 0:
        return None
    colon = _skip_space(payload, key + 7)
    if colon >= len(payload) or payload[colon] != 0x3A:
        return None
    brace = _skip_space(payload, colon + 1)
    if brace >= len(payload) or payload[brace] != 0x7B:
        return None
    after = _skip_space(payload, brace + 1)
    separator = b"" if after < len(payload) and payload[after] == 0x7D else b","
    return b"".join((payload[: brace + 1], b'"cost":', cost.encode(), separator, payload[brace + 1 :]))
