"""``Prepared``: the cheap first look at a client's request that every stage and the engine share."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from switchgear.providers.base import Endpoint


@dataclass(frozen=True, slots=True)
class Preferences:
    """A request's ``provider`` object (OpenRouter's names; ``routing.preferences`` reads and
    applies it): provider names from the gateway's ``providers:``; prices in micro-USD per million
    tokens, as the catalog keeps them."""

    order: tuple[str, ...] = ()
    only: frozenset[str] | None = None
    ignore: frozenset[str] = frozenset()
    allow_fallbacks: bool = True
    sort: Literal["price", "latency", "throughput"] | None = None
    max_prompt: int | None = None
    max_completion: int | None = None


@dataclass(slots=True)
class Prepared:
    """The public model name, streaming, whether the client wants usage in its stream, and the
    gateway's own fallback list (taken out of the body); the body itself, parsed."""

    api: Endpoint
    body: dict[str, Any]
    model: str
    stream: bool
    wants_usage: bool
    fallbacks: list[str]
    raw: bytes | None = None  # the body as sent, while it still equals ``body`` (passthrough keeps its bytes)
    tags: tuple[str, ...] = ()  # the body's ``tags`` (a gateway control, not forwarded)
    cache: Any = None  # the body's ``cache`` controls (a gateway control, not forwarded)
    provider: Preferences | None = None  # the body's ``provider`` object and the model's suffix
