"""A request's cache controls, from its headers and its body's ``cache`` field.

Headers: ``Cache-Control: no-cache`` (do not answer from the cache; the fresh answer is stored),
``no-store`` (neither read nor store), ``max-age=N`` (accept only an answer at most N seconds
old); ``x-switchgear-cache: refresh`` (like no-cache); ``x-switchgear-cache-ttl`` (how long this
answer is kept: seconds or a duration like "10m"); ``x-switchgear-cache-namespace`` (a separate
space within the tenant's); ``x-switchgear-cache-semantic: on | off`` (the semantic lookup for this
request, where ``cache.semantic`` lets requests choose). Body: ``cache: {ttl, no_cache, no_store,
namespace, max_age, semantic}`` with the same meanings (LiteLLM's names). A control that cannot be
read is refused with a 400.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from switchgear.core.errors import InvalidRequest
from switchgear.core.units import parse_duration

_NAMESPACE = re.compile(r"[\x21-\x7e]{1,128}")
_NUMBER = re.compile(r"\d+(?:\.\d+)?")
_SWITCH = {"on": True, "true": True, "1": True, "off": False, "false": False, "0": False}


@dataclass(slots=True)
class Controls:
    lookup: bool = True  # may be answered from the cache
    store: bool = True  # the fresh answer may be stored
    ttl: float | None = None  # seconds to keep this answer (None: the configured default)
    max_age: float | None = None  # accept only an answer at most this old
    namespace: str = ""
    semantic: bool | None = None  # the request's own choice of a semantic lookup (None: the model's)


DEFAULT = Controls()


def read_controls(headers: dict[bytes, bytes] | None, body: Any) -> Controls:
    """The request's controls (``DEFAULT`` when it sent none)."""
    if headers is None and body is None:
        return DEFAULT
    controls = Controls()
    if headers is not None:
        _headers(controls, headers)
    if body is not None:
        _body(controls, body)
    return controls


def _headers(controls: Controls, headers: dict[bytes, bytes]) -> None:
    directives = headers.get(b"cache-control")
    if directives is not None:
        for directive in directives.decode("latin-1").lower().split(","):
            name, _, value = directive.strip().partition("=")
            if name == "no-cache":
                controls.lookup = False
            elif name == "no-store":
                controls.lookup = controls.store = False
            elif name == "max-age":
                controls.max_age = _seconds(value.strip('"'), "Cache-Control max-age", zero=True)
    switch = headers.get(b"x-switchgear-cache")
    if switch is not None:
        mode = switch.decode("latin-1").strip().lower()
        if mode != "refresh":
            raise InvalidRequest(f"x-switchgear-cache: expected 'refresh', got {mode[:40]!r}")
        controls.lookup = False
    ttl = headers.get(b"x-switchgear-cache-ttl")
    if ttl is not None:
        controls.ttl = _seconds(ttl.decode("latin-1"), "x-switchgear-cache-ttl")
    namespace = headers.get(b"x-switchgear-cache-namespace")
    if namespace is not None:
        controls.namespace = _namespace(namespace.decode("latin-1").strip(), "x-switchgear-cache-namespace")
    semantic = headers.get(b"x-switchgear-cache-semantic")
    if semantic is not None:
        choice = semantic.decode("latin-1").strip().lower()
        if choice not in _SWITCH:
            raise InvalidRequest(f"x-switchgear-cache-semantic: expected 'on' or 'off', got {choice[:40]!r}")
        controls.semantic = _SWITCH[choice]


def _body(controls: Controls, body: Any) -> None:
    if not isinstance(body, dict):
        raise InvalidRequest("cache: must be an object {ttl, no_cache, no_store, namespace}", param="cache")
    for name, value in body.items():
        param = f"cache.{name}"
        if name in ("no_cache", "no_store"):
            if not isinstance(value, bool):
                raise InvalidRequest(f"{param}: must be true or false", param=param)
            if value:
                controls.lookup = False
                controls.store = controls.store and name == "no_cache"
        elif name in ("ttl", "max_age", "s-maxage"):
            seconds = _seconds(value, param, zero=name != "ttl")
            if name == "ttl":
                controls.ttl = seconds
            else:
                controls.max_age = seconds
        elif name == "semantic":
            if not isinstance(value, bool):
                raise InvalidRequest(f"{param}: must be true or false", param=param)
            controls.semantic = value
        elif name == "namespace":
            if not isinstance(value, str):
                raise InvalidRequest(f"{param}: must be a string", param=param)
            controls.namespace = _namespace(value, param)
        else:
            raise InvalidRequest(
                f"{param}: unknown cache control (use ttl, no_cache, no_store, namespace, max_age, semantic)",
                param=param,
            )


def _seconds(value: Any, what: str, *, zero: bool = False) -> float:
    try:
        if isinstance(value, bool):
            raise ValueError
        text = str(value).strip()
        if isinstance(value, int | float):
            seconds = float(value)
        else:
            seconds = float(text) if _NUMBER.fullmatch(text) else parse_duration(text)
    except ValueError:
        raise InvalidRequest(f"{what}: expected seconds or a duration like '10m'", param=what) from None
    if not (0 <= seconds < 1e12) or (seconds == 0 and not zero):  # NaN fails the range too
        allowed = "zero or a positive" if zero else "a positive"
        raise InvalidRequest(f"{what}: must be {allowed} number of seconds", param=what)
    return seconds


def _namespace(value: str, what: str) -> str:
    if not _NAMESPACE.fullmatch(value):
        raise InvalidRequest(f"{what}: 1-128 visible ASCII characters", param=what)
    return value
