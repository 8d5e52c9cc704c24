"""The stored form of a cached answer: the canonical response (never the client's bytes, so any
client API can be served from it), when it was made and what it cost, as compressed JSON.

Only the canonical answer classes are written and read back (a tag per dataclass), so an entry
read from a shared backend can never build anything else.
"""

from __future__ import annotations

import dataclasses
import zlib
from dataclasses import dataclass
from typing import Any

import orjson

from switchgear.core.types import ChatResponse, Choice, ImagePart, Message, ReasoningPart, TextPart, ToolCall
from switchgear.core.usage import Usage

_CLASSES: dict[str, type[Any]] = {
    cls.__name__: cls
    for cls in (ChatResponse, Choice, Message, TextPart, ImagePart, ReasoningPart, ToolCall, Usage)
}
_VERSION = 1


@dataclass(slots=True)
class Entry:
    response: ChatResponse
    stored_at: float  # wall clock, seconds
    cost_nanousd: int | None  # what the answer cost when it was made (what a hit saves)


def _plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        name = type(value).__name__
        if name not in _CLASSES:
            raise TypeError(f"a {name} cannot be cached")
        fields = {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
        fields["~"] = name
        return fields
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    return value


def _typed(value: Any) -> Any:
    if isinstance(value, dict):
        name = value.get("~")
        if isinstance(name, str):
            cls = _CLASSES.get(name)
            if cls is None:
                raise ValueError(f"unknown cached type {name!r}")
            return cls(**{k: _typed(v) for k, v in value.items() if k != "~"})
        return value  # a plain mapping inside a field (cache_control), kept as is
    if isinstance(value, list):
        return [_typed(item) for item in value]
    return value


def dump_entry(entry: Entry) -> bytes:
    """The entry as stored: zlib-compressed JSON."""
    plain = {"v": _VERSION, "at": entry.stored_at, "cost": entry.cost_nanousd, "r": _plain(entry.response)}
    return zlib.compress(orjson.dumps(plain), 1)


def load_entry(blob: bytes) -> Entry | None:
    """The entry a backend held, or None when it is not one this version can read."""
    try:
        plain = orjson.loads(zlib.decompress(blob))
        if plain.get("v") != _VERSION:
            return None
        response = _typed(plain["r"])
        if not isinstance(response, ChatResponse):
            return None
        return Entry(response, float(plain["at"]), plain.get("cost"))
    except (ValueError, TypeError, KeyError, zlib.error):
        return None
