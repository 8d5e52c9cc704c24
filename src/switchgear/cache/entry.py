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

from switchgear.core.types import (
    ChatResponse,
    Choice,
    ImagePart,
    Message,
    ReasoningPart,
    TextPart,
    TokenLogprob,
    ToolCall,
)
from switchgear.core.usage import Usage

_CLASSES: tuple[type[Any], ...] = (
    ChatResponse,
    Choice,
    Message,
    TextPart,
    ImagePart,
    ReasoningPart,
    ToolCall,
    Usage,
    TokenLogprob,  # appended: the tags before it are those of entries already stored
)
_TAG = {cls: i for i, cls in enumerate(_CLASSES)}
_FIELDS = {cls: tuple(f.name for f in dataclasses.fields(cls)) for cls in _CLASSES}
_VERSION = 2
_COMPRESS_FROM = 1024  # smaller entries are stored as plain JSON (compressing them saves little)
_PLAIN, _ZLIB = b"j", b"z"


@dataclass(slots=True)
class Entry:
    response: ChatResponse
    stored_at: float  # wall clock, seconds
    cost_nanousd: int | None  # what the answer cost when it was made (what a hit saves)


def _plain(value: Any) -> Any:
    """A canonical object as JSON-ready data: each dataclass as {"~": its tag, "a": its fields}."""
    kind = type(value)
    names = _FIELDS.get(kind)
    if names is not None:
        return {"~": _TAG[kind], "a": [_plain(getattr(value, name)) for name in names]}
    if kind is list or kind is tuple:
        return [_plain(item) for item in value]
    if dataclasses.is_dataclass(value):
        raise TypeError(f"a {kind.__name__} cannot be cached")
    return value


def _typed(value: Any) -> Any:
    if type(value) is dict:
        tag = value.get("~")
        if type(tag) is int and 0 <= tag < len(_CLASSES):
            return _CLASSES[tag](*[_typed(item) for item in value["a"]])
        return value  # a plain mapping inside a field (cache_control), kept as is
    if type(value) is list:
        return [_typed(item) for item in value]
    return value


def dump_entry(entry: Entry) -> bytes:
    """The entry as stored: JSON, zlib-compressed from 1 KB on (a one-byte prefix says which)."""
    data = orjson.dumps([_VERSION, entry.stored_at, entry.cost_nanousd, _plain(entry.response)])
    if len(data) < _COMPRESS_FROM:
        return _PLAIN + data
    return _ZLIB + zlib.compress(data, 1)


def load_entry(blob: bytes) -> Entry | None:
    """The entry a backend held, or None when it is not one this version can read."""
    try:
        kind, data = blob[:1], blob[1:]
        if kind == _ZLIB:
            data = zlib.decompress(data)
        elif kind != _PLAIN:
            return None
        version, stored_at, cost, plain = orjson.loads(data)
        if version != _VERSION:
            return None
        response = _typed(plain)
        if not isinstance(response, ChatResponse):
            return None
        return Entry(response, float(stored_at), cost if type(cost) is int else None)
    except (ValueError, TypeError, KeyError, IndexError, zlib.error):
        return None
