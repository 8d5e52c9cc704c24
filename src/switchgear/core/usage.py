"""Token usage as the gateway counts it (OpenAI Chat semantics: prompt includes cached tokens)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# Anything above this is not a real count (no context window is near it): flagged and capped.
MAX_PLAUSIBLE_TOKENS = 100_000_000


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
        return usage

    def count(self, value: Any) -> int:
        """A token count a provider reported, as a sane integer: missing is 0; negative, non-integer
        or absurd values are clamped and flag the usage ``suspicious`` (every family's reader uses this)."""
        if value is None:
            return 0
        if not isinstance(value, int) or isinstance(value, bool):
            self.suspicious = True
            return 0
        if value < 0:
            self.suspicious = True
            return 0
        if value > MAX_PLAUSIBLE_TOKENS:
            self.suspicious = True
            return MAX_PLAUSIBLE_TOKENS
        return value

    def to_openai(self) -> dict[str, Any]:
        """The OpenAI Chat ``usage`` object."""
        return {
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "total_tokens": self.total_tokens,
            "prompt_tokens_details": {
                "cached_tokens": self.cached_tokens,
                "cache_write_tokens": self.cache_write_tokens,
            },
            "completion_tokens_details": {"reasoning_tokens": self.reasoning_tokens},
        }
