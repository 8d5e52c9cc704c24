"""Build switchgear's bundled model catalog from litellm's MIT-licensed price list.

This developer tool (never imported or run by the gateway) owns the translation from
litellm's `model_prices_and_context_window` JSON to the compact, committed file
`src/switchgear/catalog/data/models.json`: it maps litellm's `litellm_provider` values to
switchgear vendor names, keeps only chat/completion/embedding/responses models of the
supported vendors, strips litellm's routing prefixes from ids, converts USD-per-token
floats to exact integer micro-USD per million tokens, drops false flags and absent
fields, and writes sorted, byte-stable output so that re-running it on the same source
reproduces the committed file exactly.

Usage: python tools/build_catalog.py [SOURCE] [--output PATH] [--source-version TEXT]
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import re
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SOURCE = REPO_ROOT / ".." / "shared" / "data" / "pricing" / "litellm_model_prices.json.gz"
DEFAULT_OUTPUT = REPO_ROOT / "src" / "switchgear" / "catalog" / "data" / "models.json"
FORMAT_VERSION = 1

KEPT_MODES = frozenset({"chat", "completion", "embedding", "responses"})

# litellm_provider value -> switchgear vendor name.
PROVIDER_TO_VENDOR: dict[str, str] = {
    "openai": "openai",
    "text-completion-openai": "openai",
    "azure": "azure",
    "azure_text": "azure",
    "anthropic": "anthropic",
    "gemini": "gemini",
    "vertex_ai": "vertex",
    "vertex_ai-language-models": "vertex",
    "vertex_ai-text-models": "vertex",
    "vertex_ai-embedding-models": "vertex",
    "vertex_ai-anthropic_models": "vertex",
    "vertex_ai-mistral_models": "vertex",
    "vertex_ai-llama_models": "vertex",
    "vertex_ai-deepseek_models": "vertex",
    "vertex_ai-openai_models": "vertex",
    "vertex_ai-qwen_models": "vertex",
    "vertex_ai-zai_models": "vertex",
    "vertex_ai-ai21_models": "vertex",
    "vertex_ai-minimax_models": "vertex",
    "vertex_ai-moonshot_models": "vertex",
    "bedrock": "bedrock",
    "bedrock_converse": "bedrock",
    "groq": "groq",
    "mistral": "mistral",
    "deepseek": "deepseek",
    "together_ai": "together",
    "fireworks_ai": "fireworks",
    "fireworks_ai-embedding-models": "fireworks",
    "openrouter": "openrouter",
    "xai": "xai",
    "cerebras": "cerebras",
    "perplexity": "perplexity",
    "cohere": "cohere",
    "cohere_chat": "cohere",
    "ollama": "ollama",
}

# Key prefixes litellm puts in front of a vendor's model ids (stripped from our ids).
VENDOR_KEY_PREFIXES: dict[str, tuple[str, ...]] = {
    "openai": ("openai/", "text-completion-openai/"),
    "azure": ("azure/", "azure_text/"),
    "anthropic": ("anthropic/",),
    "gemini": ("gemini/",),
    "vertex": ("vertex_ai/",),
    "bedrock": ("bedrock/converse/", "bedrock/"),
    "groq": ("groq/",),
    "mistral": ("mistral/",),
    "deepseek": ("deepseek/",),
    "together": ("together_ai/",),
    "fireworks": ("fireworks_ai/",),
    "openrouter": ("openrouter/",),
    "xai": ("xai/",),
    "cerebras": ("cerebras/",),
    "perplexity": ("perplexity/",),
    "cohere": ("cohere_chat/", "cohere/"),
    "ollama": ("ollama/",),
}

# Bedrock keys `bedrock/<region>/<model>` carry regional prices for a model whose plain id
# clients send; they only fill gaps, in this region order (then alphabetical).
BEDROCK_REGION_RE = re.compile(r"^(?:[a-z]{2}(?:-gov)?-[a-z]+-\d|invoke)/")
BEDROCK_REGION_PREFERENCE = ("us-east-1/", "us-west-2/", "invoke/")

# Flags copied as-is (true only) from litellm's supports_* fields.
FLAG_FIELDS: dict[str, str] = {
    "tools": "supports_function_calling",
    "parallel_tools": "supports_parallel_function_calling",
    "vision": "supports_vision",
    "reasoning": "supports_reasoning",
    "response_schema": "supports_response_schema",
    "prompt_caching": "supports_prompt_caching",
}
PRICE_FIELDS: dict[str, str] = {
    "input": "input_cost_per_token",
    "output": "output_cost_per_token",
    "cache_read": "cache_read_input_token_cost",
    "cache_write": "cache_creation_input_token_cost",
    "reasoning_output": "output_cost_per_reasoning_token",
}
MODALITY_ORDER = ("text", "image", "audio", "video", "pdf")
MODALITY_FLAGS: dict[str, tuple[str, ...]] = {
    "image": ("supports_vision", "supports_image_input"),
    "audio": ("supports_audio_input",),
    "video": ("supports_video_input",),
    "pdf": ("supports_pdf_input",),
}
MICRO_PER_MTOK_PER_USD_PER_TOKEN = Decimal(10) ** 12


def micro_per_mtok(value: Any) -> int | None:
    """USD per token (exact decimal from the source text) -> integer micro-USD per million tokens."""
    if value is None or isinstance(value, bool):
        return None
    if not isinstance(value, int | Decimal):
        raise TypeError(f"price is not a number: {value!r}")
    scaled = Decimal(value) * MICRO_PER_MTOK_PER_USD_PER_TOKEN
    return int(scaled.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def positive_int(value: Any) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        return None
    return value


def input_modalities(spec: dict[str, Any]) -> list[str]:
    declared = spec.get("supported_modalities")
    found = {str(m) for m in declared} if isinstance(declared, list) and declared else {"text"}
    for modality, fields in MODALITY_FLAGS.items():
        if any(spec.get(field) is True for field in fields):
            found.add(modality)
    return [m for m in MODALITY_ORDER if m in found]


def convert(spec: dict[str, Any]) -> dict[str, Any] | None:
    """One litellm entry -> our compact entry, or None when it carries nothing useful."""
    entry: dict[str, Any] = {"mode": spec["mode"]}
    context = positive_int(spec.get("max_input_tokens")) or positive_int(spec.get("max_tokens"))
    if context is not None:
        entry["context_window"] = context
    max_output = positive_int(spec.get("max_output_tokens"))
    if max_output is not None:
        entry["max_output_tokens"] = max_output
    for ours, theirs in PRICE_FIELDS.items():
        price = micro_per_mtok(spec.get(theirs))
        if price is not None:
            entry[ours] = price
    if "input" not in entry and "output" not in entry and context is None:
        return None
    modalities = input_modalities(spec)
    if modalities != ["text"]:
        entry["input_modalities"] = modalities
    for ours, theirs in FLAG_FIELDS.items():
        if spec.get(theirs) is True:
            entry[ours] = True
    return entry


def model_id(vendor: str, key: str) -> str:
    for prefix in VENDOR_KEY_PREFIXES.get(vendor, ()):
        if key.startswith(prefix):
            return key[len(prefix) :]
    return key


def key_rank(vendor: str, key: str, model: str) -> tuple[int, int, str]:
    """Sort key choosing which litellm key wins when several map to one (vendor, id)."""
    if vendor == "bedrock" and model != model_id(vendor, key):
        region = model_id(vendor, key)[: -len(model)]
        preferred = BEDROCK_REGION_PREFERENCE.index(region) if region in BEDROCK_REGION_PREFERENCE else 99
        return (1, preferred, key)
    prefixed = any(key.startswith(p) for p in VENDOR_KEY_PREFIXES.get(vendor, ()))
    return (0, 0 if prefixed else 1, key)


def select(source: dict[str, Any]) -> dict[str, dict[str, dict[str, Any]]]:
    chosen: dict[tuple[str, str], tuple[tuple[int, int, str], dict[str, Any]]] = {}
    for key in sorted(source):
        spec = source[key]
        if not isinstance(spec, dict) or spec.get("mode") not in KEPT_MODES or "alias_of" in spec:
            continue
        vendor = PROVIDER_TO_VENDOR.get(str(spec.get("litellm_provider")))
        if vendor is None:
            continue
        model = model_id(vendor, key)
        if vendor == "together" and model.startswith("together-ai-"):
            continue  # size-tier price buckets, not models
        if vendor == "bedrock":
            if "commitment/" in model or model.startswith(("claude_platform/", "*/")):
                continue  # provisioned throughput and a non-Bedrock-runtime API
            model = BEDROCK_REGION_RE.sub("", model)
        entry = convert(spec)
        if entry is None:
            continue
        rank = key_rank(vendor, key, model)
        previous = chosen.get((vendor, model))
        if previous is None or rank < previous[0]:
            chosen[(vendor, model)] = (rank, entry)
    models: dict[str, dict[str, dict[str, Any]]] = {}
    for (vendor, model), (_, entry) in sorted(chosen.items()):
        models.setdefault(vendor, {})[model] = entry
    return models


def dump(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def render(meta: dict[str, Any], models: dict[str, dict[str, dict[str, Any]]]) -> str:
    """Valid JSON with one model per line, so that diffs of regenerated files stay readable."""
    lines = ["{", f'"meta":{dump(meta)},', '"models":{']
    vendors = sorted(models)
    for v_index, vendor in enumerate(vendors):
        lines.append(f"{dump(vendor)}:{{")
        ids = sorted(models[vendor])
        for m_index, model in enumerate(ids):
            comma = "," if m_index < len(ids) - 1 else ""
            lines.append(f"{dump(model)}:{dump(models[vendor][model])}{comma}")
        lines.append("}," if v_index < len(vendors) - 1 else "}")
    lines.extend(["}", "}"])
    return "\n".join(lines) + "\n"


def source_version(source_path: Path) -> str:
    notes = source_path.parent / "SOURCE.txt"
    if notes.is_file():
        match = re.search(r"litellm version ([0-9][\w.]*)", notes.read_text(encoding="utf-8"))
        if match:
            return f"litellm {match.group(1)}"
    return "litellm (unknown version)"


def build(source_path: Path, version: str | None = None) -> str:
    raw = source_path.read_bytes()
    if source_path.suffix == ".gz":
        raw = gzip.decompress(raw)
    source = json.loads(raw, parse_float=Decimal)
    meta = {
        "format": FORMAT_VERSION,
        "license": "MIT (litellm)",
        "source": "litellm/model_prices_and_context_window_backup.json",
        "source_sha256": hashlib.sha256(raw).hexdigest(),
        "source_version": version or source_version(source_path),
        "units": {"prices": "integer micro-USD per million tokens", "tokens": "tokens"},
    }
    return render(meta, select(source))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("source", nargs="?", type=Path, default=DEFAULT_SOURCE, help="litellm JSON, .gz ok")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT, help="where to write models.json")
    parser.add_argument("--source-version", default=None, help='e.g. "litellm 1.110.2" (default: SOURCE.txt)')
    args = parser.parse_args(argv)
    text = build(args.source.resolve(), args.source_version)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_bytes(text.encode("utf-8"))
    counts = {vendor: len(ids) for vendor, ids in json.loads(text)["models"].items()}
    summary = ", ".join(f"{vendor} {n}" for vendor, n in counts.items())
    print(f"wrote {args.output}: {len(text.encode())} bytes, {sum(counts.values())} models ({summary})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
