"""Tests of the bundled model catalog, its lookup rules, money helpers and generator."""

from __future__ import annotations

import dataclasses
import gzip
import hashlib
import importlib.util
import json
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from types import ModuleType

import pytest

from switchgear.catalog import (
    KNOWN_VENDORS,
    Catalog,
    ModelInfo,
    Prices,
    cost_nanousd,
    parse_usd_per_mtok,
    price_per_token_str,
)

REPO_ROOT = Path(__file__).resolve().parents[3]
GENERATOR = REPO_ROOT / "tools" / "build_catalog.py"
BUNDLED = REPO_ROOT / "src" / "switchgear" / "catalog" / "data" / "models.json"
SOURCE = REPO_ROOT.parent / "shared" / "data" / "pricing" / "litellm_model_prices.json.gz"
SOURCE_SHA256 = "8943af58bf9f979c6a4bef815687117ffa341e462a41faed9be17b5c33d3dcc2"


# litellm's routing prefix per vendor (perplexity's own agent API ids do start `perplexity/`).
LITELLM_PREFIXES = {
    "together": "together_ai/",
    "fireworks": "fireworks_ai/",
    "vertex": "vertex_ai/",
    "perplexity": "perplexity/perplexity/",
}


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return Catalog.bundled()


def _generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("build_catalog", GENERATOR)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# --- bundled data ---------------------------------------------------------------------


def test_bundled_is_parsed_once(catalog: Catalog) -> None:
    assert Catalog.bundled() is catalog
    assert len(catalog) > 1000


def test_openai_gpt_4o_mini(catalog: Catalog) -> None:
    info = catalog.lookup("openai", "gpt-4o-mini")
    assert info is not None
    assert (info.vendor, info.id, info.mode) == ("openai", "gpt-4o-mini", "chat")
    assert info.context_window == 128000
    assert info.max_output_tokens == 16384
    assert info.prices == Prices(input=150000, output=600000, cache_read=75000, cache_write=None)
    assert info.tools and info.parallel_tools and info.vision and info.response_schema
    assert info.prompt_caching and not info.reasoning
    assert info.input_modalities[0] == "text" and "image" in info.input_modalities


@pytest.mark.parametrize(
    ("vendor", "model", "mode", "context", "price_in", "price_out"),
    [
        ("groq", "openai/gpt-oss-120b", "chat", 131072, 150000, 600000),
        ("anthropic", "claude-haiku-4-5-20251001", "chat", 200000, 1000000, 5000000),
        ("gemini", "gemini-2.5-flash", "chat", 1048576, 300000, 2500000),
        ("openai", "text-embedding-3-small", "embedding", 8191, 20000, 0),
        ("openai", "gpt-4o-2024-05-13", "chat", 128000, 5000000, 15000000),
        ("azure", "gpt-4.1-mini-2025-04-14", "chat", 1047576, 400000, 1600000),
        ("vertex", "claude-haiku-4-5@20251001", "chat", 200000, 1000000, 5000000),
        ("vertex", "gemini-2.5-pro", "chat", 1048576, 1250000, 10000000),
        ("bedrock", "anthropic.claude-3-5-sonnet-20241022-v2:0", "chat", 200000, 3000000, 15000000),
        ("mistral", "mistral-large-latest", "chat", 262144, 500000, 1500000),
        ("deepseek", "deepseek-chat", "chat", 131072, 280000, 420000),
        ("together", "meta-llama/Llama-3.3-70B-Instruct-Turbo", "chat", 131072, 1040000, 1040000),
        ("fireworks", "accounts/fireworks/models/deepseek-v3", "chat", 131072, 900000, 900000),
        ("xai", "grok-code-fast-1", "chat", 256000, 1000000, 2000000),
        ("cerebras", "llama3.1-8b", "chat", 128000, 100000, 100000),
        ("perplexity", "sonar-pro", "chat", 200000, 3000000, 15000000),
        ("cohere", "command-a-03-2025", "chat", 256000, 2500000, 10000000),
        ("cohere", "embed-english-v3.0", "embedding", 512, 100000, 0),
        ("ollama", "llama3", "chat", 8192, 0, 0),
    ],
)
def test_known_models(
    catalog: Catalog, vendor: str, model: str, mode: str, context: int, price_in: int, price_out: int
) -> None:
    info = catalog.lookup(vendor, model)
    assert info is not None
    assert (info.vendor, info.id, info.mode) == (vendor, model, mode)
    assert info.context_window == context
    assert (info.prices.input, info.prices.output) == (price_in, price_out)


def test_anthropic_cache_prices(catalog: Catalog) -> None:
    info = catalog.lookup("anthropic", "claude-haiku-4-5-20251001")
    assert info is not None
    assert (info.prices.cache_read, info.prices.cache_write) == (100000, 1250000)


def test_vendor_prefixes_stripped_and_vendors_known(catalog: Catalog) -> None:
    assert set(catalog.vendors()) <= KNOWN_VENDORS
    for vendor in catalog.vendors():
        for info in catalog.models(vendor):
            assert info.vendor == vendor
            assert info.mode in {"chat", "completion", "embedding", "responses"}
            assert not info.id.startswith(LITELLM_PREFIXES.get(vendor, f"{vendor}/")), info
            assert info.input_modalities and set(info.input_modalities) <= {
                "text", "image", "audio", "video", "pdf"
            }  # fmt: skip


def test_models_sorted_and_unknown_vendor_empty(catalog: Catalog) -> None:
    ids = [info.id for info in catalog.models("groq")]
    assert ids == sorted(ids) and "openai/gpt-oss-20b" in ids
    assert list(catalog.models("no-such-vendor")) == []


def test_bundled_file_is_compact_integer_only_and_attributed() -> None:
    raw = BUNDLED.read_bytes()
    assert len(raw) < 1_500_000

    def no_floats(text: str) -> None:
        raise AssertionError(f"float in models.json: {text}")

    document = json.loads(raw, parse_float=no_floats)
    assert document["meta"]["source_version"] == "litellm 1.110.2"
    assert document["meta"]["source_sha256"] == SOURCE_SHA256
    assert "false" not in raw.decode()


# --- lookup rules ---------------------------------------------------------------------


def test_date_suffix_fallback(catalog: Catalog) -> None:
    for vendor, dated, base in [
        ("openai", "gpt-4o-mini-2099-01-01", "gpt-4o-mini"),
        ("anthropic", "claude-sonnet-4-5-20990101", "claude-sonnet-4-5"),
        ("vertex", "claude-opus-4-6@20990101", "claude-opus-4-6"),
    ]:
        info = catalog.lookup(vendor, dated)
        assert info is not None and (info.vendor, info.id) == (vendor, base)
    assert catalog.lookup("openai", "gpt-4o-mini-nightly") is None


def test_exact_dated_id_beats_stripped(catalog: Catalog) -> None:
    dated = catalog.lookup("openai", "gpt-4o-2024-05-13")
    base = catalog.lookup("openai", "gpt-4o")
    assert dated is not None and base is not None and dated.prices != base.prices


def test_azure_falls_back_to_openai(catalog: Catalog) -> None:
    own = catalog.lookup("azure", "gpt-4o-mini")
    assert own is not None and own.vendor == "azure"
    borrowed = catalog.lookup("azure", "o1-pro")
    assert borrowed is not None and (borrowed.vendor, borrowed.id) == ("openai", "o1-pro")
    dated = catalog.lookup("azure", "o1-pro-2099-12-31")
    assert dated is not None and dated.id == "o1-pro"
    assert catalog.lookup("azure", "my-prod-deployment") is None


def test_known_cloud_vendor_does_not_borrow(catalog: Catalog) -> None:
    assert catalog.lookup("groq", "gpt-4o") is None
    assert catalog.lookup("together", "gpt-4o") is None


def test_local_and_unknown_vendors_borrow_by_id(catalog: Catalog) -> None:
    own = catalog.lookup("ollama", "llama3")
    assert own is not None and own.vendor == "ollama"
    for vendor, model, source in [
        ("ollama", "gpt-4o", "openai"),
        ("vllm", "claude-opus-4-7", "anthropic"),
        ("lmstudio", "gemini-2.5-pro", "gemini"),
        ("my-company-proxy", "gpt-4o-mini-2099-01-01", "openai"),
        ("llamacpp", "google/gemini-2.5-pro", "gemini"),
    ]:
        info = catalog.lookup(vendor, model)
        assert info is not None and info.vendor == source, (vendor, model)
    assert catalog.lookup("vllm", "totally-unknown-model") is None


def test_cross_vendor_preference() -> None:
    entries = [ModelInfo(vendor=v, id="m", context_window=i) for i, v in enumerate(["zeta", "gemini"])]
    assert (found := Catalog(entries).lookup("vllm", "m")) is not None and found.vendor == "gemini"
    entries += [ModelInfo(vendor="anthropic", id="m")]
    assert (found := Catalog(entries).lookup("vllm", "m")) is not None and found.vendor == "anthropic"
    entries += [ModelInfo(vendor="openai", id="m")]
    assert (found := Catalog(entries).lookup("ollama", "m")) is not None and found.vendor == "openai"


def test_openrouter_owner_prefixed_ids(catalog: Catalog) -> None:
    info = catalog.lookup("openrouter", "openai/gpt-4o")
    assert info is not None and (info.vendor, info.id) == ("openai", "gpt-4o")
    claude = catalog.lookup("openrouter", "anthropic/claude-sonnet-4.5")
    assert claude is not None and (claude.vendor, claude.id) == ("anthropic", "claude-sonnet-4-5")
    assert catalog.lookup("openrouter", "gpt-4o") is None
    assert catalog.lookup("openrouter", "nobody/model") is None


def test_vendor_aliases(catalog: Catalog) -> None:
    for alias, vendor, model in [
        ("together_ai", "together", "meta-llama/Llama-3.3-70B-Instruct-Turbo"),
        ("Vertex_AI", "vertex", "gemini-2.5-pro"),
        ("GROQ", "groq", "openai/gpt-oss-20b"),
    ]:
        info = catalog.lookup(alias, model)
        assert info is not None and info.vendor == vendor
    assert [i.id for i in catalog.models("fireworks_ai")] == [i.id for i in catalog.models("fireworks")]


# --- overrides ------------------------------------------------------------------------


def test_overrides_replace_and_extend(catalog: Catalog) -> None:
    base = catalog.lookup("openai", "gpt-4o-mini")
    assert base is not None
    cheaper = dataclasses.replace(base, prices=dataclasses.replace(base.prices, input=1, output=2))
    custom = ModelInfo(vendor="vllm", id="my-finetune", context_window=32768, prices=Prices(0, 0))
    patched = catalog.with_overrides([cheaper, custom])
    assert patched is not catalog and len(patched) == len(catalog) + 1
    got = patched.lookup("openai", "gpt-4o-mini")
    assert got is not None and (got.prices.input, got.prices.output, got.context_window) == (1, 2, 128000)
    assert patched.lookup("vllm", "my-finetune") == custom
    assert patched.lookup("openai", "gpt-4o-mini-2099-01-01") == got
    assert catalog.lookup("openai", "gpt-4o-mini") == base  # the original is untouched
    assert catalog.lookup("vllm", "my-finetune") is None
    # a custom vendor with its own override still borrows bundled ids for its other models
    acme = catalog.with_overrides([ModelInfo(vendor="acme", id="acme-1")])
    assert (borrowed := acme.lookup("acme", "gpt-4o")) is not None and borrowed.vendor == "openai"


def test_override_vendor_alias_is_normalized(catalog: Catalog) -> None:
    entry = ModelInfo(vendor="together_ai", id="x/y", context_window=10)
    found = catalog.with_overrides([entry]).lookup("together", "x/y")
    assert found == dataclasses.replace(entry, vendor="together")


# --- money ----------------------------------------------------------------------------


def test_cost_nanousd() -> None:
    assert cost_nanousd(1000, 150000) == 150000  # 1k tokens at $0.15/Mtok = $0.00015
    assert cost_nanousd(1, 150000) == 150
    assert cost_nanousd(0, 150000) == 0
    assert cost_nanousd(1, 499) == 0
    assert cost_nanousd(1, 500) == 1  # half up
    assert cost_nanousd(1, 1500) == 2
    assert cost_nanousd(1, 2500) == 3
    assert cost_nanousd(3, 167) == 1  # 0.501
    assert cost_nanousd(10**12, 10**12) == 10**21  # exact, no float
    assert cost_nanousd(123_456_789_123, 600_000_000) == 74_074_073_473_800_000
    with pytest.raises(ValueError):
        cost_nanousd(-1, 100)
    with pytest.raises(ValueError):
        cost_nanousd(1, -100)


@pytest.mark.parametrize(
    ("micro", "text"),
    [
        (150000, "0.00000015"),
        (600000, "0.0000006"),
        (2500000, "0.0000025"),
        (1, "0.000000000001"),
        (0, "0"),
        (10**12, "1"),
        (2 * 10**13, "20"),
        (12_345_678_901_234_567, "12345.678901234567"),
        (10**40 + 1, "10000000000000000000000000000.000000000001"),
    ],
)
def test_price_per_token_str(micro: int, text: str) -> None:
    assert price_per_token_str(micro) == text
    assert Decimal(text) == Decimal(f"{micro}E-12")  # exact: both built from strings


def test_parse_usd_per_mtok() -> None:
    assert parse_usd_per_mtok("0.15") == 150000
    assert parse_usd_per_mtok(" 2.50 ") == 2500000
    assert parse_usd_per_mtok("0") == 0
    assert parse_usd_per_mtok(3) == 3000000
    assert parse_usd_per_mtok(Decimal("1e-6")) == 1
    assert parse_usd_per_mtok("1E+3") == 1_000_000_000
    assert price_per_token_str(parse_usd_per_mtok("0.15")) == "0.00000015"
    for bad in ["0.0000001", "-1", "abc", "NaN", "Infinity", "", "1e30"]:
        with pytest.raises(ValueError):
            parse_usd_per_mtok(bad)
    with pytest.raises(TypeError):
        parse_usd_per_mtok(0.15)  # type: ignore[arg-type]


# --- generator ------------------------------------------------------------------------


def test_generator_price_conversion() -> None:
    gen = _generator()
    assert gen.micro_per_mtok(Decimal("1.5e-07")) == 150000
    assert gen.micro_per_mtok(Decimal("3.333333e-07")) == 333333
    assert gen.micro_per_mtok(Decimal("4e-13")) == 0
    assert gen.micro_per_mtok(Decimal("5e-13")) == 1  # half up
    assert gen.micro_per_mtok(0) == 0
    assert gen.micro_per_mtok(None) is None
    assert gen.model_id("groq", "groq/llama-3.1-8b-instant") == "llama-3.1-8b-instant"


def test_generator_select_on_synthetic_source() -> None:
    gen = _generator()
    source = {
        "sample_spec": {"mode": "one of: chat"},
        "groq/llama-3.1-8b-instant": {
            "litellm_provider": "groq",
            "mode": "chat",
            "max_input_tokens": 131072,
            "input_cost_per_token": Decimal("5e-08"),
            "output_cost_per_token": Decimal("8e-08"),
            "supports_function_calling": True,
            "supports_vision": False,
        },
        "groq/whisper": {"litellm_provider": "groq", "mode": "audio_transcription"},
        "somebody/model": {"litellm_provider": "somebody", "mode": "chat", "max_input_tokens": 1},
        "claude-latest": {"alias_of": "claude-x"},
    }
    assert gen.select(source) == {
        "groq": {
            "llama-3.1-8b-instant": {
                "context_window": 131072,
                "input": 50000,
                "mode": "chat",
                "output": 80000,
                "tools": True,
            }
        }
    }


@pytest.mark.skipif(not SOURCE.is_file(), reason="shared pricing data not present beside the repo")
def test_generator_reproduces_committed_file(tmp_path: Path) -> None:
    raw = gzip.decompress(SOURCE.read_bytes())
    assert hashlib.sha256(raw).hexdigest() == SOURCE_SHA256
    out = tmp_path / "models.json"
    subprocess.run(
        [sys.executable, str(GENERATOR), str(SOURCE), "--output", str(out)],
        check=True,
        capture_output=True,
        timeout=120,
    )
    assert out.read_bytes() == BUNDLED.read_bytes()


def test_generator_reads_a_local_file_given_on_the_command_line(tmp_path: Path) -> None:
    source = tmp_path / "model_prices.json"  # plain JSON, as litellm ships it
    source.write_text(
        json.dumps(
            {
                "gemini/gemini-think": {
                    "litellm_provider": "gemini",
                    "mode": "chat",
                    "max_input_tokens": 1000,
                    "input_cost_per_token": 3e-07,
                    "output_cost_per_token": 2.5e-06,
                    "output_cost_per_reasoning_token": 3.5e-06,
                    "supports_reasoning": True,
                }
            }
        )
    )
    out = tmp_path / "models.json"
    subprocess.run(
        [
            sys.executable,
            str(GENERATOR),
            str(source),
            "--output",
            str(out),
            "--source-version",
            "litellm 9.9.9",
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    document = json.loads(out.read_bytes())
    assert document["meta"]["source_version"] == "litellm 9.9.9"
    assert document["models"] == {
        "gemini": {
            "gemini-think": {
                "context_window": 1000,
                "input": 300000,
                "mode": "chat",
                "output": 2500000,
                "reasoning": True,
                "reasoning_output": 3500000,
            }
        }
    }
    entry = Catalog.from_json(document).lookup("gemini", "gemini-think")
    assert entry is not None and entry.reasoning
    assert entry.prices == Prices(input=300000, output=2500000, reasoning_output=3500000)
