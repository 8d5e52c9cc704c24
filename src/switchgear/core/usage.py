"""Token usage as the gateway counts it (OpenAI Chat semantics: prompt includes cached tokens).

One rule for every provider and path: a reported count is read by ``Usage.count`` (missing is 0;
negative or not a whole number is 0; above ``MAX_PLAUSIBLE_TOKENS`` is capped there; either flags
the usage ``suspicious``), and the cache counts are bounded by the prompt, reasoning by the
completion (``Usage.bound``). Whatever JSON parser read the number, the result is the same: a
whole number written as a float (``12.0``, or the ``1e+20`` a 64-bit parser makes of a larger
integer) counts as that number. When a provider's usage was suspicious, the answers passed through
to clients carry the recorded numbers instead of the provider's (``restate`` / ``restate_json``),
so the client and the settle record always agree; sane usage is never touched. ``with_cost`` adds
the request's price (``usage.cost`` in USD, as OpenRouter reports it) to a provider's JSON.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from switchgear.core.jsoncodec import dumps, loads_exact
from switchgear.core.money import Usd, insert_cost, usd_text

# Anything above this is not a real count (no context window is near it): flagged and capped.
MAX_PLAUSIBLE_TOKENS = 100_000_000

# Where each recorded number goes in a provider's usage object: a path of keys -> the number.
Counts = dict[tuple[str, ...], int]


def whole(value: Any) -> int | None:
    """The whole number a reported count holds (an int, or a float without a fraction), else None."""
    if isinstance(value, int):
        return None if isinstance(value, bool) else value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return None


@dataclass(slots=True)
class Usage:
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached_tokens: int = 0
    cache_write_tokens: int = 0
    reasoning_tokens: int = 0
    reported: bool = False  # the provider reported it (False: missing or estimated)
    suspicious: bool = False  # the provider reported negative or absurd numbers; they were clamped

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    @classmethod
    def from_openai(cls, raw: Any) -> Usage:
        """Read an OpenAI-shaped ``usage`` object, clamping negative or absurd values."""
        if not isinstance(raw, dict):
            return cls()
        usage = cls(reported=True)
        usage.prompt_tokens = usage.count(raw.get("prompt_tokens"))
        usage.completion_tokens = usage.count(raw.get("completion_tokens"))
        details = raw.get("prompt_tokens_details")
        if isinstance(details, dict):
            usage.cached_tokens = usage.count(details.get("cached_tokens"))
            usage.cache_write_tokens = usage.count(details.get("cache_write_tokens"))
        details = raw.get("completion_tokens_details")
        if isinstance(details, dict):
            usage.reasoning_tokens = usage.count(details.get("reasoning_tokens"))
        return usage.bound()

    def count(self, value: Any) -> int:
        """A token count a provider reported, as a sane integer: missing is 0; negative, non-integer
        or absurd values are clamped and flag the usage ``suspicious`` (every family's reader uses this)."""
        if type(value) is int:  # the common case, first (a bool is not an int here)
            number: int | None = value
        elif value is None:
            return 0
        else:
            number = whole(value)
        if number is None or number < 0:
            self.suspicious = True
            return 0
        if number > MAX_PLAUSIBLE_TOKENS:
            self.suspicious = True
            return MAX_PLAUSIBLE_TOKENS
        return number

    def bound(self) -> Usage:
        """Parts no larger than their whole: cache reads and writes within the prompt, reasoning
        within the completion; a provider that says otherwise is flagged and cut (every reader
        ends with this)."""
        if self.cached_tokens + self.cache_write_tokens > self.prompt_tokens:
            self.suspicious = True
            self.cached_tokens = min(self.cached_tokens, self.prompt_tokens)
            self.cache_write_tokens = self.prompt_tokens - self.cached_tokens
        if self.reasoning_tokens > self.completion_tokens:
            self.suspicious = True
            self.reasoning_tokens = self.completion_tokens
        return self

    def to_openai(self, cost: int | None = None) -> dict[str, Any]:
        """The OpenAI Chat ``usage`` object; with ``cost`` (nano-USD, priced) as ``cost`` in USD."""
        body: dict[str, Any] = {
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "total_tokens": self.total_tokens,
            "prompt_tokens_details": {
                "cached_tokens": self.cached_tokens,
                "cache_write_tokens": self.cache_write_tokens,
            },
            "completion_tokens_details": {"reasoning_tokens": self.reasoning_tokens},
        }
        if cost is not None:
            body["cost"] = Usd(cost)
        return body

    def openai_counts(self) -> Counts:
        """Where ``from_openai`` read each number (the total follows the two it sums)."""
        return {
            ("prompt_tokens",): self.prompt_tokens,
            ("completion_tokens",): self.completion_tokens,
            ("total_tokens",): self.total_tokens,
            ("prompt_tokens_details", "cached_tokens"): self.cached_tokens,
            ("prompt_tokens_details", "cache_write_tokens"): self.cache_write_tokens,
            ("completion_tokens_details", "reasoning_tokens"): self.reasoning_tokens,
        }


def restate(raw: dict[str, Any], counts: Counts) -> dict[str, Any]:
    """A copy of a provider's usage object with each count in ``counts`` set to the recorded number.
    Only counts the object holds change (absent or null ones stay so); other fields are kept."""
    out = dict(raw)
    for path, number in counts.items():
        target = out
        for key in path[:-1]:
            inner = target.get(key)
            if not isinstance(inner, dict):
                break
            inner = dict(inner)
            target[key] = inner
            target = inner
        else:
            if target.get(path[-1]) is not None:
                target[path[-1]] = number
    return out


def restate_json(payload: bytes, at: tuple[str, ...], counts: Counts) -> bytes | None:
    """A provider's JSON document (an answer, a stream event's data) with the usage object found
    under the keys ``at`` restated; None when it holds no such object or nothing changes."""
    document = loads_exact(payload)
    parent = document
    for key in at[:-1]:
        parent = parent.get(key) if isinstance(parent, dict) else None
    usage = parent.get(at[-1]) if isinstance(parent, dict) else None
    if not isinstance(usage, dict):
        return None
    restated = restate(usage, counts)
    if restated == usage:
        return None
    parent[at[-1]] = restated
    return dumps(document)


def with_cost(payload: bytes, at: tuple[str, ...], nanousd: int) -> bytes:
    """A JSON document (an answer, a stream event's data) with ``"cost"`` (USD) in the usage object
    found under the keys ``at``: inserted in the bytes when they alone say where (``money.
    insert_cost``), else the document re-encoded with it (an existing ``cost`` is replaced).

    Call it only for a document whose usage was read from ``at`` (``Usage.reported``): the bytes'
    one ``"usage"`` key is then that object's. The document as it was when it holds none there."""
    inserted = insert_cost(payload, usd_text(nanousd))
    if inserted is not None:
        return inserted
    document = loads_exact(payload)
    parent = document
    for key in at[:-1]:
        parent = parent.get(key) if isinstance(parent, dict) else None
    usage = parent.get(at[-1]) if isinstance(parent, dict) else None
    if not isinstance(usage, dict):
        return payload
    parent[at[-1]] = {**usage, "cost": Usd(nanousd)}
    return dumps(document)
