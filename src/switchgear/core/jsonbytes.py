"""Editing a JSON request body as bytes, so that what a provider receives is what the client sent.

Passthrough to a same-family provider changes only the model name. Re-serialising the parsed body
would also change spacing, key escapes and number spellings; ``swap_model`` replaces the value of
the top-level ``"model"`` in place instead, and says when it cannot do so safely.
"""

from __future__ import annotations

import json
import re

import orjson


def swap_model(raw: bytes, old: str, new: str) -> bytes | None:
    """``raw`` with its top-level ``"model": old`` changed to ``new``, or None when that cannot be
    done unambiguously (then the caller re-serialises the parsed body)."""
    new_json = orjson.dumps(new)
    for spelling in {orjson.dumps(old), json.dumps(old).encode()}:
        matches = list(re.finditer(rb'"model"\s*:\s*' + re.escape(spelling), raw))
        if len(matches) != 1:
            continue
        end = matches[0].end()
        edited = raw[: end - len(spelling)] + new_json + raw[end:]
        try:
            parsed = orjson.loads(edited)
        except orjson.JSONDecodeError:
            return None
        if isinstance(parsed, dict) and parsed.get("model") == new:
            return edited
    return None
