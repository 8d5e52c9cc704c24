"""``switchgear eval router`` on files the test writes: the figures by hand, the JSON keys, the
curve PNG, and plain errors for bad input."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from switchgear.cli.main import app

WEAK, STRONG = "weak-model", "strong-model"


def labelled(path: Path, rows: list[tuple[str, float, float]], answers: bool = False) -> Path:
    with gzip.open(path, "wt", encoding="utf-8") as f:
        for i, (prompt, weak, strong) in enumerate(rows):
            outcomes: dict[str, Any] = {WEAK: {"score": weak}, STRONG: {"score": strong}}
            if answers:
                outcomes[WEAK]["response"] = "He has 3 x 4 = 12 apples.\n#### 12" if weak else "About 12.5"
            f.write(json.dumps({"id": f"t/{i}", "prompt": prompt, "outcomes": outcomes}) + "\n")
    return path


def run(*args: str) -> Any:
    return CliRunner().invoke(app, ["eval", "router", *args])


def test_the_length_rule_by_hand(tmp_path: Path) -> None:
    # by length the order is row 0, row 2, row 1, row 3: quality 0.25, 0.5, 0.5, 0.75, 0.75
    rows = [("x" * 40, 0.0, 1.0), ("x" * 20, 0.0, 1.0), ("x" * 30, 1.0, 1.0), ("x" * 10, 0.0, 0.0)]
    data = labelled(tmp_path / "four.jsonl.gz", rows)
    out = run("--data", str(data), "--policy", "rules", "--json")
    assert out.exit_code == 0, out.output
    assert json.loads(out.stdout) == {
        "rows": 4, "apgr": 0.625, "cpt50": 0.25, "cpt80": 0.75, "cpt95": 0.75, "strong_share_at_95": 0.75,
    }  # fmt: skip
    png = tmp_path / "curve.png"
    table = run("--data", str(data), "--policy", "rules", "--png", str(png))
    assert table.exit_code == 0 and "APGR" in table.stdout and "0.625" in table.stdout
    assert png.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")


def test_the_cascade_escalates_failed_answers_first(tmp_path: Path) -> None:
    prompt = "How many apples does Tom have in total with 3 bags of 4?"
    rows = [(prompt, 1.0, 1.0), (prompt, 0.0, 1.0), (prompt, 1.0, 1.0), (prompt, 1.0, 1.0)]
    data = labelled(tmp_path / "math.jsonl.gz", rows, answers=True)
    out = run("--data", str(data), "--policy", "cascade", "--json")
    assert out.exit_code == 0, out.output
    assert json.loads(out.stdout)["cpt95"] == 0.25  # the one failed answer goes first and closes the gap


def test_bad_input_ends_plainly(tmp_path: Path) -> None:
    plain = labelled(tmp_path / "no-answers.jsonl.gz", [("a", 0.0, 1.0), ("b", 1.0, 1.0)])
    assert "recorded weak answers" in run("--data", str(plain), "--policy", "cascade").stderr
    assert run("--data", str(plain), "--policy", "oracle").exit_code == 2
    broken = tmp_path / "broken.jsonl"
    broken.write_text('{"prompt": "x"}\n')
    out = run("--data", str(broken))
    assert out.exit_code == 2 and "routing schema" in out.stderr
