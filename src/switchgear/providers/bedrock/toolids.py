"""Tool-call ids across the Bedrock boundary: a deterministic, reversible mapping.

Bedrock's ``toolUseId`` is ``[a-zA-Z0-9_.:-]{1,64}`` and Claude behind it wants
``[a-zA-Z0-9_-]``; so ids inside ``[a-zA-Z0-9_-]{1,64}`` pass unchanged and any other id (and any
id that already starts with the prefix, so the mapping stays one-to-one) is sent as
``sgb_`` + its UTF-8 bytes in unpadded URL-safe base64: reversible without any table, up to 45
bytes. A longer id is sent as ``sgh_`` + 48 hex digits of its SHA-256 (deterministic, so a call
and its result still match, but not reversible). The same client id maps to the same Bedrock id in
every request; ``from_bedrock`` undoes ``sgb_`` ids in answers and leaves every other id alone.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re

_PLAIN = re.compile(r"[A-Za-z0-9_-]{1,64}")
_ENCODED = "sgb_"
_HASHED = "sgh_"
_MAX_ENCODED = 45  # bytes: 4 + ceil(45 * 4 / 3) = 64 characters


def to_bedrock(call_id: str) -> str:
    """The ``toolUseId`` to send for a client's tool-call id."""
    if _PLAIN.fullmatch(call_id) and not call_id.startswith((_ENCODED, _HASHED)):
        return call_id
    raw = call_id.encode("utf-8")
    if len(raw) <= _MAX_ENCODED:
        return _ENCODED + base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")
    return _HASHED + hashlib.sha256(raw).hexdigest()[:48]


def from_bedrock(tool_use_id: str) -> str:
    """The client-facing id of a ``toolUseId`` Bedrock answered with."""
    if not tool_use_id.startswith(_ENCODED):
        return tool_use_id
    body = tool_use_id[len(_ENCODED) :]
    try:
        call_id = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return tool_use_id
    # Only what ``to_bedrock`` produces is undone (the decoder skips stray characters).
    return call_id if to_bedrock(call_id) == tool_use_id else tool_use_id
