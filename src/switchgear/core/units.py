"""Durations and sizes written as strings with units ("50ms", "30s", "2m", "1h", "256MB")."""

from __future__ import annotations

import re

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)\s*$")
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(B|KB|MB|GB|KiB|MiB|GiB)\s*$", re.IGNORECASE)
_DURATION_FACTOR = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}
_SIZE_FACTOR = {"b": 1, "kb": 1000, "mb": 1000**2, "gb": 1000**3, "kib": 1024, "mib": 1024**2, "gib": 1024**3}


def parse_duration(text: str) -> float:
    """Seconds in ``text`` such as ``"250ms"``, ``"30s"``, ``"5m"``, ``"1h"``; ValueError otherwise."""
    match = _DURATION.match(text)
    if not match:
        raise ValueError(
            f"invalid duration {text!r}: use a number with a unit, e.g. '500ms', '30s', '5m', '1h'"
        )
    return float(match.group(1)) * _DURATION_FACTOR[match.group(2)]


def parse_size(text: str) -> int:
    """Bytes in ``text`` such as ``"20MB"`` or ``"512KiB"``; ValueError otherwise."""
    match = _SIZE.match(text)
    if not match:
        raise ValueError(f"invalid size {text!r}: use a number with a unit, e.g. '512KB', '20MB', '1GiB'")
    return int(float(match.group(1)) * _SIZE_FACTOR[match.group(2).lower()])
