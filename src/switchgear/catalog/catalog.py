"""The bundled model catalog: what switchgear knows offline about each vendor's models.

This module owns the in-memory catalog (context windows, max output tokens, prices and
capabilities per `(vendor, model id)`), loading it once from the package file
`data/models.json` (generated from litellm's MIT price list by `tools/build_catalog.py`),
the lookup rules that map a request's vendor and model name to an entry (exact id, then
date-suffix stripping, Azure -> OpenAI, and cross-vendor fallbacks for local and unknown
vendors), per-deployment overrides, and the integer money helpers: prices are integer
micro-USD per million tokens (= USD per token x 1e12) and costs integer nano-USD, so no
float ever touches money. It imports only the standard library.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal, InvalidOperation
from functools import cache
from importlib import resources
from typing import Any

KNOWN_VENDORS = frozenset(
    {
        "openai", "azure", "anthropic", "gemini", "vertex", "bedrock", "groq", "mistral", "deepseek",
        "together", "fireworks", "openrouter", "xai", "cerebras", "perplexity", "cohere", "ollama",
    }
)  # fmt: skip
LOCAL_VENDORS = frozenset({"ollama", "vllm", "lmstudio", "llamacpp"})

# Other spellings of our vendor names (litellm's, OpenRouter's, common config typos).
_VENDOR_ALIASES: dict[str, str] = {
    "azure_openai": "azure",
    "bedrock_converse": "bedrock",
    "cohere_chat": "cohere",
    "fireworks_ai": "fireworks",
    "google": "gemini",
    "google_ai_studio": "gemini",
    "mistralai": "mistral",
    "together_ai": "together",
    "vertex_ai": "vertex",
    "x-ai": "xai",
}
# Vendors that host other vendors' models under `owner/model` ids and pass prices through.
_OWNER_PREFIXED_HOSTS = frozenset({"openrouter"})
# Order in which a bare id is searched across vendors (the rest follow alphabetically).
_CROSS_VENDOR_PREFERENCE = ("openai", "anthropic", "gemini")
# `-2024-07-18`, `-20241022` (OpenAI / Anthropic dates) and `@20241022` / `@001` (Vertex).
_DATE_SUFFIX = re.compile(r"(?:-20\d\d-\d\d-\d\d|-20\d{6}|@[\w.-]+)$")
_FLAGS = ("tools", "parallel_tools", "vision", "reasoning", "response_schema", "prompt_caching")


@dataclass(frozen=True, slots=True)
class Prices:
    """Prices in integer micro-USD per million tokens; None means unknown."""

    input: int | None = None
    output: int | None = None
    cache_read: int | None = None
    cache_write: int | None = None
    reasoning_output: int | None = None  # reasoning (thinking) output tokens; None: priced as output


@dataclass(frozen=True, slots=True)
class ModelInfo:
    """What the catalog knows about one model of one vendor."""

    vendor: str
    id: str
    mode: str = "chat"
    context_window: int | None = None
    max_output_tokens: int | None = None
    prices: Prices = field(default_factory=Prices)
    input_modalities: tuple[str, ...] = ("text",)
    tools: bool = False
    parallel_tools: bool = False
    vision: bool = False
    reasoning: bool = False
    response_schema: bool = False
    prompt_caching: bool = False


class Catalog:
    """An immutable set of ModelInfo entries indexed for per-request lookups."""

    __slots__ = ("_by_id", "_by_key", "_by_vendor")

    def __init__(self, entries: Iterable[ModelInfo] = ()) -> None:
        by_key: dict[tuple[str, str], ModelInfo] = {}
        for entry in entries:
            by_key[(entry.vendor, entry.id)] = entry
        by_vendor: dict[str, dict[str, ModelInfo]] = {}
        for key in sorted(by_key):
            by_vendor.setdefault(key[0], {})[key[1]] = by_key[key]
        order = [v for v in _CROSS_VENDOR_PREFERENCE if v in by_vendor]
        order += [v for v in by_vendor if v not in _CROSS_VENDOR_PREFERENCE]
        by_id: dict[str, ModelInfo] = {}
        for vendor in order:
            for model_id, entry in by_vendor[vendor].items():
                by_id.setdefault(model_id, entry)
        self._by_key = by_key
        self._by_vendor = by_vendor
        self._by_id = by_id

    @classmethod
    def bundled(cls) -> Catalog:
        """The catalog shipped in the package (parsed once per process)."""
        return _bundled()

    @classmethod
    def from_json(cls, document: Mapping[str, Any]) -> Catalog:
        """Build a catalog from the `models.json` structure: {"models": {vendor: {id: entry}}}."""
        models = document["models"]
        return cls(
            _entry_from_json(vendor, model_id, raw)
            for vendor, by_id in models.items()
            for model_id, raw in by_id.items()
        )

    def __len__(self) -> int:
        return len(self._by_key)

    def vendors(self) -> tuple[str, ...]:
        """Vendor names that have at least one entry, sorted."""
        return tuple(sorted(self._by_vendor))

    def models(self, vendor: str) -> Iterable[ModelInfo]:
        """All entries of one vendor, sorted by id (empty for an unknown vendor)."""
        return tuple(self._by_vendor.get(_normalize_vendor(vendor), {}).values())

    def with_overrides(self, entries: Iterable[ModelInfo]) -> Catalog:
        """A new catalog where `entries` replace same (vendor, id) entries or are added.

        An entry replaces the whole bundled entry; to change only some fields, start from
        `dataclasses.replace(catalog.lookup(vendor, id), ...)`. Vendor aliases are normalized.
        """
        merged = dict(self._by_key)
        for entry in entries:
            vendor = _normalize_vendor(entry.vendor)
            merged[(vendor, entry.id)] = entry if vendor == entry.vendor else replace(entry, vendor=vendor)
        return Catalog(merged.values())

    def lookup(self, vendor: str, model: str) -> ModelInfo | None:
        """The entry for `model` as served by `vendor`, or None.

        Tries the exact (vendor, id); then the id without a date suffix; then, for Azure
        (whose deployment names are user-chosen), OpenAI's ids; for local and unknown
        vendors, the same id at any vendor (OpenAI, then Anthropic, then Gemini, then the
        rest); for OpenRouter-style hosts and local/unknown vendors, `owner/model` ids at
        the owner's vendor. A fallback hit keeps its own `vendor`, so callers can tell that
        the entry (and its prices) were borrowed.
        """
        hit = self._by_key.get((vendor, model))
        if hit is not None:
            return hit
        return self._fallback(_normalize_vendor(vendor), model)

    def _fallback(self, vendor: str, model: str) -> ModelInfo | None:
        undated = _DATE_SUFFIX.sub("", model)
        candidates = (model,) if undated in ("", model) else (model, undated)
        for candidate in candidates:
            hit = self._by_key.get((vendor, candidate))
            if hit is not None:
                return hit
        if vendor == "azure":
            for candidate in candidates:
                hit = self._by_key.get(("openai", candidate))
                if hit is not None:
                    return hit
            return None
        local_or_unknown = vendor in LOCAL_VENDORS or vendor not in KNOWN_VENDORS
        if local_or_unknown:
            for candidate in candidates:
                hit = self._by_id.get(candidate)
                if hit is not None:
                    return hit
        if (local_or_unknown or vendor in _OWNER_PREFIXED_HOSTS) and "/" in model:
            return self._owner_prefixed(model)
        return None

    def _owner_prefixed(self, model: str) -> ModelInfo | None:
        """`openai/gpt-4o` -> (openai, gpt-4o); OpenRouter's `anthropic/claude-3.5-x` -> `claude-3-5-x`."""
        owner, _, rest = model.partition("/")
        owner = _normalize_vendor(owner)
        if owner not in self._by_vendor or owner in _OWNER_PREFIXED_HOSTS or "/" in rest:
            return None
        if owner == "anthropic":
            rest = rest.replace(".", "-")
        return self._fallback(owner, rest)


def _normalize_vendor(vendor: str) -> str:
    lowered = vendor.strip().lower()
    return _VENDOR_ALIASES.get(lowered, lowered)


def _optional_int(value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"expected an integer, got {value!r}")
    return value


def _entry_from_json(vendor: str, model_id: str, raw: Mapping[str, Any]) -> ModelInfo:
    prices = Prices(
        input=_optional_int(raw.get("input")),
        output=_optional_int(raw.get("output")),
        cache_read=_optional_int(raw.get("cache_read")),
        cache_write=_optional_int(raw.get("cache_write")),
        reasoning_output=_optional_int(raw.get("reasoning_output")),
    )
    flags = {name: raw.get(name) is True for name in _FLAGS}
    return ModelInfo(
        vendor=vendor,
        id=model_id,
        mode=str(raw["mode"]),
        context_window=_optional_int(raw.get("context_window")),
        max_output_tokens=_optional_int(raw.get("max_output_tokens")),
        prices=prices,
        input_modalities=tuple(str(m) for m in raw.get("input_modalities", ("text",))),
        **flags,
    )


@cache
def _bundled() -> Catalog:
    data = resources.files("switchgear.catalog").joinpath("data", "models.json").read_bytes()
    return Catalog.from_json(json.loads(data))


def cost_nanousd(tokens: int, price_micro_per_mtok: int) -> int:
    """Cost in integer nano-USD of `tokens` at a price in micro-USD per million tokens.

    tokens x price / 1000, rounded half up, in integer arithmetic (exact for any size).
    """
    if tokens < 0 or price_micro_per_mtok < 0:
        raise ValueError("tokens and price must be non-negative")
    return (tokens * price_micro_per_mtok + 500) // 1000


def price_per_token_str(price_micro_per_mtok: int) -> str:
    """Exact decimal USD-per-token string, e.g. 150000 -> "0.00000015" (no exponent, no trailing 0)."""
    text = format(Decimal(f"{price_micro_per_mtok}E-12"), "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("", "-0") else text


def parse_usd_per_mtok(value: str | int | Decimal) -> int:
    """USD per million tokens as a decimal string ("0.15") -> integer micro-USD per million tokens.

    Floats are refused (quote the number in YAML); more precision than one micro-USD and
    negative values raise ValueError.
    """
    if isinstance(value, bool) or not isinstance(value, str | int | Decimal):
        raise TypeError(f"price must be a decimal string, not {type(value).__name__}: {value!r}")
    try:
        amount = Decimal(value.strip() if isinstance(value, str) else value)
    except InvalidOperation:
        raise ValueError(f"not a decimal number: {value!r}") from None
    sign, digits, exponent = amount.as_tuple()
    if not isinstance(exponent, int) or sign:
        raise ValueError(f"price must be a non-negative finite number: {value!r}")
    coefficient = int("".join(map(str, digits)) or "0")
    shift = exponent + 6  # USD -> micro-USD, exactly (no context rounding)
    if shift > 24:
        raise ValueError(f"price is implausibly large: {value!r}")
    scale: int = 10 ** abs(shift)
    if shift >= 0:
        return coefficient * scale
    micro, remainder = divmod(coefficient, scale)
    if remainder:
        raise ValueError(f"price has more precision than 1 micro-USD per million tokens: {value!r}")
    return micro
