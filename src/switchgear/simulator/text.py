"""Deterministic content generation for the simulated providers.

Everything a simulated answer contains is derived from the request alone, never from a clock or a
random generator, so the same request always yields the same text, the same chunk boundaries,
the same tool-call arguments, logprobs and embeddings — which is what lets a test reassemble a
streamed answer and compare it byte for byte with the non-streamed one. The helpers here know
nothing about any wire format: they produce plain strings, lists and numbers that the wire
modules wrap in their own JSON shapes.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
import re
import struct
from collections.abc import Sequence
from typing import Any

import orjson

ECHO_PREFIX = "Hello! You said: "
ECHO_LIMIT = 200
_WORD = re.compile(r"\s*\S+")


def dumps(value: Any) -> bytes:
    """JSON-encode compactly; falls back to the stdlib for integers beyond 64 bits."""
    try:
        return orjson.dumps(value)
    except (orjson.JSONEncodeError, TypeError):
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()


def digest(*parts: object) -> bytes:
    """A stable SHA-256 digest of the parts' ``repr``s."""
    hasher = hashlib.sha256()
    for part in parts:
        hasher.update(repr(part).encode())
        hasher.update(b"\x00")
    return hasher.digest()


def stable_id(prefix: str, *parts: object, length: int = 24) -> str:
    """A deterministic identifier such as ``call_1a2b...`` derived from the parts."""
    return prefix + digest(*parts).hex()[:length]


def content_text(content: Any) -> str:
    """The plain text of a message ``content``: a string, or the text parts of a list of parts."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        texts = [
            str(part.get("text", ""))
            for part in content
            if isinstance(part, dict) and isinstance(part.get("text"), str)
        ]
        return " ".join(texts)
    return ""


def echo_reply(user_text: str | None) -> str:
    """The default answer: an echo of the (first 200 characters of the) last user message."""
    if not user_text:
        return "Hello! How can I help you today?"
    return ECHO_PREFIX + user_text[:ECHO_LIMIT]


def count_words(text: str) -> int:
    """Whitespace-separated words: the simulator's notion of a token count."""
    return len(text.split())


def word_pieces(text: str) -> list[str]:
    """Split into words, each carrying its leading whitespace; ``"".join`` gives ``text`` back."""
    pieces = _WORD.findall(text)
    if not pieces:
        return [text] if text else []
    consumed = sum(len(piece) for piece in pieces)
    if consumed < len(text):
        pieces[-1] += text[consumed:]
    return pieces


def split_even(text: str, count: int) -> list[str]:
    """Cut ``text`` into ``count`` contiguous, nearly equal slices (fewer if ``text`` is shorter)."""
    count = max(1, min(count, len(text)))
    if not text:
        return []
    size, extra = divmod(len(text), count)
    out: list[str] = []
    start = 0
    for index in range(count):
        end = start + size + (1 if index < extra else 0)
        out.append(text[start:end])
        start = end
    return out


def chunk_text(text: str, chunks: int | None) -> list[str]:
    """The pieces a stream carries: one per word by default, else ``chunks`` pieces.

    With ``chunks`` at most the word count, whole words are grouped; with more, the text is cut
    evenly by characters. The concatenation of the pieces is always exactly ``text``.
    """
    words = word_pieces(text)
    if chunks is None or chunks == len(words):
        return words
    if chunks < len(words):
        size, extra = divmod(len(words), chunks)
        groups: list[str] = []
        start = 0
        for index in range(chunks):
            end = start + size + (1 if index < extra else 0)
            groups.append("".join(words[start:end]))
            start = end
        return groups
    return split_even(text, chunks)


def apply_stop(text: str, stop: Any) -> tuple[str, bool]:
    """Cut ``text`` at the earliest occurrence of any stop string; report whether it was cut."""
    stops = [stop] if isinstance(stop, str) else [s for s in stop or [] if isinstance(s, str)]
    positions = [text.find(s) for s in stops if s and s in text]
    if not positions:
        return text, False
    return text[: min(positions)], True


def find_stop(text: str, stops: Sequence[str]) -> tuple[str, str | None]:
    """Cut ``text`` at the earliest stop string; return the kept text and the stop that matched.

    When two stop strings match at the same position, the first one listed wins.
    """
    best: tuple[int, str] | None = None
    for stop in stops:
        position = text.find(stop) if stop else -1
        if position >= 0 and (best is None or position < best[0]):
            best = (position, stop)
    if best is None:
        return text, None
    return text[: best[0]], best[1]


def thought_text(user_text: str | None) -> str:
    """The deterministic reasoning a "thinking" answer shows before its content."""
    if not user_text:
        return "The user sent no text, so a short greeting is the right answer."
    excerpt = " ".join(user_text.split()[:12])
    return f'The user wrote "{excerpt}", so I will repeat the message back to them.'


def signature(*parts: object) -> str:
    """An opaque, deterministic base64 signature (thinking blocks, thought parts)."""
    return base64.b64encode(digest("signature", *parts) * 2).decode()


def truncate_words(text: str, limit: int | None) -> tuple[str, bool]:
    """Keep at most ``limit`` words; report whether anything was dropped."""
    if limit is None:
        return text, False
    words = word_pieces(text)
    if len(words) <= limit:
        return text, False
    return "".join(words[: max(limit, 0)]), True


def logprob_of(token: str, position: int, rank: int = 0) -> float:
    """A plausible, deterministic log-probability (more negative for lower ranks)."""
    fraction = int.from_bytes(digest(token, position, rank)[:4], "big") / 2**32
    return round(-(fraction * 0.5 + rank * 1.5), 6)


def alternatives(token: str, count: int) -> list[str]:
    """``count`` alternative tokens for the ``top_logprobs`` of ``token`` (the token itself first)."""
    out = [token]
    stem = token.strip() or token
    for rank in range(1, count):
        out.append(f"{token[: len(token) - len(token.lstrip())]}{stem}_{rank}")
    return out[:count]


def placeholder(schema: Any, name: str = "value", depth: int = 0) -> Any:
    """A minimal value satisfying a JSON-schema fragment (type, enum, const, nested properties)."""
    if not isinstance(schema, dict):
        return name
    if "const" in schema:
        return schema["const"]
    enum = schema.get("enum")
    if isinstance(enum, list) and enum:
        return enum[0]
    for combinator in ("anyOf", "oneOf", "allOf"):
        branches = schema.get(combinator)
        if isinstance(branches, list) and branches:
            for branch in branches:
                if not (isinstance(branch, dict) and branch.get("type") == "null"):
                    return placeholder(branch, name, depth)
            return None
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind is None and "properties" in schema:
        kind = "object"
    if kind == "object":
        return placeholder_object(schema, depth + 1) if depth < 6 else {}
    if kind == "array":
        minimum = schema.get("minItems", 0)
        count = minimum if isinstance(minimum, int) and minimum > 0 else 0
        return [placeholder(schema.get("items"), name, depth + 1) for _ in range(count)]
    if kind == "integer":
        return int(schema.get("minimum", 1)) if isinstance(schema.get("minimum"), int | float) else 1
    if kind == "number":
        minimum = schema.get("minimum")
        return float(minimum) if isinstance(minimum, int | float) else 1.5
    if kind == "boolean":
        return True
    if kind == "null":
        return None
    return f"sample {name}"


def placeholder_object(schema: Any, depth: int = 0) -> dict[str, Any]:
    """An object with every declared (and every required) property set to a placeholder."""
    if not isinstance(schema, dict):
        return {}
    properties = schema.get("properties")
    props: dict[str, Any] = properties if isinstance(properties, dict) else {}
    required = schema.get("required")
    names = list(props)
    if isinstance(required, list):
        names += [r for r in required if isinstance(r, str) and r not in props]
    return {key: placeholder(props.get(key), key, depth) for key in names}


def embedding(key: object, dimensions: int) -> list[float]:
    """A deterministic unit vector of ``dimensions`` floats derived from a hash of ``key``."""
    values: list[float] = []
    block = 0
    while len(values) < dimensions:
        raw = digest(key, block)
        values.extend((int.from_bytes(raw[i : i + 4], "big") / 2**31) - 1.0 for i in range(0, 32, 4))
        block += 1
    values = values[:dimensions]
    norm = math.sqrt(sum(v * v for v in values)) or 1.0
    # Round through float32 so the float and base64 encodings carry identical numbers.
    return [struct.unpack("<f", struct.pack("<f", v / norm))[0] for v in values]


def pack_float32(values: Sequence[float]) -> bytes:
    """Little-endian float32 bytes, as OpenAI's ``encoding_format: base64`` carries them."""
    return struct.pack(f"<{len(values)}f", *values)
