"""``switchgear eval cache``: labelled pairs replayed through the configured semantic cache (the
built-in embedder for real); a table per threshold, or one JSON object; bad input is a clear
error, never a traceback."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import orjson
import pytest
import yaml
from typer.testing import CliRunner

from switchgear.cli.main import app
from switchgear.config import Settings

PAIRS = [
    {
        "id": "1",
        "a": "How do I learn Python quickly?",
        "b": "How can I learn Python quickly?",
        "duplicate": True,
    },
    {
        "id": "2",
        "a": "What is the capital of France?",
        "b": "What is the capital city of France?",
        "duplicate": True,
    },
    {"id": "3", "a": "Why is the sky blue?", "b": "How do plants grow?", "duplicate": False},
    {"id": "4", "a": "Best cars of 2016?", "b": "Best cars of 2017?", "duplicate": False},
    {"id": "5", "a": "Is Java hard to learn?", "b": "Is Python hard to learn?", "duplicate": False},
]


def write_pairs(path: Path) -> Path:
    with gzip.open(path, "wt", encoding="utf-8") as out:
        for pair in PAIRS:
            out.write(json.dumps(pair) + "\n")
    return path


def test_json_reports_the_configured_setting(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app, ["eval", "cache", "--pairs", str(write_pairs(tmp_path / "p.jsonl.gz")), "--json"]
    )
    assert result.exit_code == 0, result.output
    found = orjson.loads(result.stdout)
    assert set(found) == {"pairs", "threshold", "recall", "false_hit_rate", "precision"}
    assert found["pairs"] == 5 and found["recall"] == 1.0 and found["false_hit_rate"] == 0.0
    assert found["precision"] == 1.0


def test_a_configured_threshold_and_the_table(tmp_path: Path) -> None:
    config = tmp_path / "c.yaml"
    config.write_text(
        yaml.safe_dump(
            {"cache": {"exact": {"enabled": True}, "semantic": {"threshold": 0.999, "vetoes": False}}}
        )
    )
    pairs = str(write_pairs(tmp_path / "p.jsonl.gz"))
    found = orjson.loads(
        CliRunner().invoke(app, ["eval", "cache", "--pairs", pairs, "--json", "-c", str(config)]).stdout
    )
    assert found["threshold"] == 0.999 and found["recall"] == 0.0  # no paraphrase is that close
    table = CliRunner().invoke(app, ["eval", "cache", "--pairs", pairs, "-c", str(config)])
    assert table.exit_code == 0 and "0.999 (configured)" in table.stdout and "false-hit rate" in table.stdout


def test_bad_input_is_a_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"a": "x"}\n')
    result = CliRunner().invoke(app, ["eval", "cache", "--pairs", str(bad)])
    assert result.exit_code == 2 and "expected {a, b, duplicate}" in result.output
    missing = CliRunner().invoke(app, ["eval", "cache", "--pairs", str(tmp_path / "none.jsonl")])
    assert missing.exit_code == 2 and "Traceback" not in missing.output


def test_the_semantic_cache_needs_the_exact_cache() -> None:
    with pytest.raises(ValueError, match=r"cache.semantic needs cache.exact.enabled"):
        Settings.model_validate({"cache": {"semantic": {"enabled": True}}})
    model = {
        "name": "m",
        "deployments": [{"provider": "p", "model": "x"}],
        "cache": {"semantic": {"enabled": True}},
    }
    with pytest.raises(ValueError, match=r"cache.semantic needs cache.exact.enabled"):
        Settings.model_validate({"providers": {"p": {"type": "openai", "api_key": "k"}}, "models": [model]})
    with pytest.raises(ValueError, match=r"cache.semantic.embedder: 'nope' is neither"):
        Settings.model_validate(
            {"cache": {"exact": {"enabled": True}, "semantic": {"enabled": True, "embedder": "nope"}}}
        )
