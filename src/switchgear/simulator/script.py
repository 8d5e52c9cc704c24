"""The behaviour script of one simulated request, shared by every wire family.

A request's behaviour (delays, chunking, scripted errors, stalls, disconnects, usage overrides...)
is read from two places with the same parameter names: ``x-sim-<name>`` request headers (dashes
and underscores are interchangeable, so ``x-sim-ttfb-ms`` is ``ttfb_ms``) and ``;key=value``
segments appended to the model name (``sim-small;status=429;retry_after=2``), whose values are
URL-decoded so ``%3B`` can carry a ``;``. A header wins over the same parameter in the model
name. Unknown names and unparsable values raise :class:`ScriptError`, which the wire modules
turn into a 400 naming the parameter, so a typo in a test fails loudly instead of silently
doing nothing.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from typing import Any
from urllib.parse import unquote

HEADER_PREFIX = "x-sim-"


class ScriptError(ValueError):
    """An unknown script parameter or a value that does not parse."""

    def __init__(self, name: str, message: str) -> None:
        super().__init__(message)
        self.name = name
        self.message = message


@dataclass(frozen=True)
class Script:
    """Every scriptable behaviour; ``None`` means "not scripted, behave normally"."""

    latency_ms: float = 0.0
    ttfb_ms: float = 0.0
    gap_ms: float = 0.0
    chunks: int | None = None
    content: str | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    usage: str | None = None
    status: int | None = None
    retry_after: str | None = None
    error_body: str | None = None
    error_type: str | None = None
    error_message: str | None = None
    error_code: str | None = None
    fail_times: int | None = None
    fail_key: str | None = None
    stall_after: int | None = None
    disconnect_after: int | None = None
    malformed_after: int | None = None
    tool_calls: tuple[str, ...] | None = None
    finish_reason: str | None = None
    echo_headers: bool = False
    cache_read: int | None = None
    cache_write: int | None = None
    error_after: int | None = None
    safety: str | None = None
    drip_after: int | None = None

    @property
    def wants_error(self) -> bool:
        """Whether the script asks for an error answer (possibly only the first ``fail_times``)."""
        if self.status is not None:
            return self.status >= 400
        return any(
            value is not None
            for value in (self.error_body, self.error_type, self.error_message, self.error_code)
        ) or (self.fail_times is not None)

    @property
    def error_status(self) -> int:
        """The HTTP status of the scripted error (500 when only error details were scripted)."""
        return self.status if self.status is not None and self.status >= 400 else 500


def _non_negative_float(raw: str) -> float:
    value = float(raw)
    if not math.isfinite(value) or value < 0:
        raise ValueError("must be a non-negative number")
    return value


def non_negative_int(raw: str) -> int:
    """A count that may be zero (``ValueError`` otherwise)."""
    value = int(raw)
    if value < 0:
        raise ValueError("must be a non-negative integer")
    return value


def _positive_int(raw: str) -> int:
    value = int(raw)
    if value < 1:
        raise ValueError("must be a positive integer")
    return value


def _status(raw: str) -> int:
    value = int(raw)
    if not 100 <= value <= 599:
        raise ValueError("must be an HTTP status between 100 and 599")
    return value


def _usage(raw: str) -> str:
    if raw.lower() != "none":
        raise ValueError("the only accepted value is 'none'")
    return "none"


def _names(raw: str) -> tuple[str, ...]:
    names = tuple(part.strip() for part in raw.split(",") if part.strip())
    if not names:
        raise ValueError("must name at least one function")
    return names


def _flag(raw: str) -> bool:
    lowered = raw.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off", ""):
        return False
    raise ValueError("must be 1/0, true/false, yes/no or on/off")


def _text(raw: str) -> str:
    return raw


def _safety(raw: str) -> str | None:
    lowered = raw.strip().lower()
    if lowered in ("prompt", "response"):
        return lowered
    try:
        return "response" if _flag(lowered) else None
    except ValueError:
        raise ValueError("must be 1/0 (true/false...), 'response' or 'prompt'") from None


PARSERS: dict[str, Callable[[str], Any]] = {
    "latency_ms": _non_negative_float,
    "ttfb_ms": _non_negative_float,
    "gap_ms": _non_negative_float,
    "chunks": _positive_int,
    "content": _text,
    "prompt_tokens": int,
    "completion_tokens": int,
    "usage": _usage,
    "status": _status,
    "retry_after": _text,
    "error_body": _text,
    "error_type": _text,
    "error_message": _text,
    "error_code": _text,
    "fail_times": non_negative_int,
    "fail_key": _text,
    "stall_after": non_negative_int,
    "disconnect_after": non_negative_int,
    "malformed_after": non_negative_int,
    "tool_calls": _names,
    "finish_reason": _text,
    "echo_headers": _flag,
    "cache_read": int,
    "cache_write": int,
    "error_after": non_negative_int,
    "safety": _safety,
    "drip_after": non_negative_int,
}

assert set(PARSERS) == {field.name for field in fields(Script)}


def normalise_name(name: str) -> str:
    """``TTFB-ms`` -> ``ttfb_ms``: the canonical spelling of a parameter name."""
    return name.strip().lower().replace("-", "_")


def split_model(model: str) -> tuple[str, dict[str, str]]:
    """Split ``name;k=v;k2=v2`` into the bare model name and its URL-decoded parameters."""
    name, _, rest = model.partition(";")
    params: dict[str, str] = {}
    for segment in rest.split(";"):
        if not segment.strip():
            continue
        key, sep, value = segment.partition("=")
        if not sep:
            raise ScriptError(
                key.strip(),
                f"Simulator parameter {key.strip()!r} in the model name needs a value (key=value)",
            )
        params[normalise_name(key)] = unquote(value)
    return name, params


def header_params(headers: Mapping[str, str]) -> dict[str, str]:
    """The ``x-sim-*`` headers of a request, keyed by canonical parameter name."""
    params: dict[str, str] = {}
    for key, value in headers.items():
        lowered = key.lower()
        if lowered.startswith(HEADER_PREFIX):
            params[normalise_name(lowered[len(HEADER_PREFIX) :])] = value
    return params


def build_script(params: Mapping[str, str]) -> Script:
    """Validate and convert raw parameters; raise :class:`ScriptError` on the first bad one."""
    values: dict[str, Any] = {}
    for name, raw in params.items():
        parser = PARSERS.get(name)
        if parser is None:
            known = ", ".join(sorted(PARSERS))
            raise ScriptError(name, f"Unknown simulator parameter {name!r}; known parameters: {known}")
        values[name] = parse_value(name, raw, parser, verbatim=name in ("content", "error_body"))
    return Script(**values)


def parse_value(name: str, raw: str, parser: Callable[[str], Any], *, verbatim: bool = False) -> Any:
    """One parameter's value (stripped unless ``verbatim``); :class:`ScriptError` naming it if bad."""
    try:
        return parser(raw if verbatim else raw.strip())
    except ValueError as exc:
        detail = str(exc) if not str(exc).startswith("invalid literal") else "must be an integer"
        raise ScriptError(name, f"Invalid value {raw!r} for simulator parameter {name!r}: {detail}") from None


def read_script(headers: Mapping[str, str], model: str | None) -> tuple[str | None, Script, dict[str, str]]:
    """Return (bare model name, script, merged raw parameters) for one request."""
    name: str | None = None
    params: dict[str, str] = {}
    if model is not None:
        name, params = split_model(model)
    params.update(header_params(headers))
    return name, build_script(params), params


def fail_key(model: str, params: Mapping[str, str]) -> str:
    """The default ``fail_times`` key: the model and every raw parameter, in name order."""
    return "|".join([model, *(f"{k}={v}" for k, v in sorted(params.items()))])


def scripted(
    headers: Mapping[str, str],
    model: str | None,
    refuse: Callable[[ScriptError], Exception],
    *,
    key_model: str | None = None,
) -> tuple[str | None, Script, str]:
    """(bare model name, script, default fail key); a bad script raises ``refuse(error)``.

    The fail key is built on ``model`` (``key_model`` when given), so a wire family only says
    how it refuses a bad parameter in its own error shape.
    """
    try:
        name, script, params = read_script(headers, model)
    except ScriptError as exc:
        raise refuse(exc) from None
    return name, script, fail_key(key_model or model or "", params)
