"""``switchgear replay`` on a spend log the test writes (SQLite and PostgreSQL): the bill by model
and team, as logged and under other prices and another tiering goal, computed by hand."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml
from click.testing import Result
from typer.testing import CliRunner

from switchgear.cli.main import app
from switchgear.storage import Database, SpendRow
from switchgear.storage.payloads import record_payloads
from switchgear.storage.rows import Payload
from switchgear.storage.spend import record_spend
from tests.fakes.admin import database_url

NOV = datetime(2026, 11, 4, 9, tzinfo=UTC)


async def cli(*args: str) -> Result:
    return await asyncio.to_thread(CliRunner().invoke, app, list(args))


def config(tmp_path: Path, db: Database) -> str:
    path = tmp_path / "gateway.yaml"

    def plain(name: str, model: str, given: str, out: str) -> dict[str, Any]:
        pricing = {"input": given, "output": out}
        return {"name": name, "deployments": [{"provider": "p", "model": model, "pricing": pricing}]}

    tiering = {"policy": "classifier", "tiers": ["cheap", "strong"], "target_strong_share": 0.4}
    code_rule = {"name": "code", "tier": "strong", "when": {"code": True}}
    routed = {
        "name": "routed",
        "tiering": {"policy": "rules", "tiers": ["cheap", "strong"], "rules": [code_rule]},
    }
    made: dict[str, Any] = {
        "storage": {"database_url": database_url(db), "migrate_on_start": False},
        "providers": {"p": {"type": "openai", "base_url": "http://127.0.0.1:9/v1", "api_key": "x"}},
        "models": [plain("cheap", "cheap-m", "1", "2"), plain("strong", "strong-m", "10", "30"),
                   {"name": "auto", "tiering": tiering}, routed],
    }  # fmt: skip
    path.write_text(yaml.safe_dump(made))
    return str(path)


def row(
    request_id: str,
    model: str,
    team: str | None,
    served: str,
    tokens: tuple[int, int],
    cost: int,
    tier: str | None = None,
    reason: str | None = None,
    when: datetime = NOV,
) -> SpendRow:
    return SpendRow(
        request_id=request_id, created_at=when, model=model, team_id=team, provider="p",
        deployment=served, prompt_tokens=tokens[0], completion_tokens=tokens[1], cost_nanousd=cost,
        tier=tier, tier_reason=reason,
    )  # fmt: skip


async def test_replay_gives_the_hand_computed_bill(tmp_path: Path, db: Database) -> None:
    await record_spend(db, [
        # 1,000 in x 10 USD/M + 500 out x 30 USD/M = 0.01 + 0.015 USD
        row("r1", "strong", "team-a", "strong-m", (1000, 500), 25_000_000),
        row("r2", "auto", "team-a", "strong-m", (2000, 1000), 50_000_000, "strong", "score 0.700 > 0.549"),
        row("r3", "auto", "team-b", "cheap-m", (1000, 1000), 3_000_000, "cheap", "score 0.300 <= 0.549"),
        row("r4", "cheap", "team-b", "cheap-m", (1000, 0), 1_000_000, when=datetime(2026, 12, 1, tzinfo=UTC)),
        row("r5", "auto", None, "strong-m", (1000, 0), 10_000_000, "strong", "rule code"),
    ])  # fmt: skip
    out = await cli("replay", "-c", config(tmp_path, db), "--since", "2026-11-01", "--until", "2026-11-30",
                    "--price", "p/strong-m=5,15", "--tier-share", "auto=0", "--json")  # fmt: skip
    assert out.exit_code == 0, out.output
    bill = json.loads(out.stdout)
    # projected: r1 at 5/15 = 0.005 + 0.0075; r2 re-decided to the cheap tier at 1/2 = 0.002 + 0.002;
    # r3 stays cheap = 0.003; r5 (a rule's choice) stays strong at 5/15 = 0.005; r4 is out of range
    assert bill["total"] == {
        "name": "total", "requests": 4, "actual_usd": "0.088", "projected_usd": "0.0245", "unpriced": 0,
    }  # fmt: skip
    by_model = {m["name"]: (m["actual_usd"], m["projected_usd"]) for m in bill["by_model"]}
    assert by_model == {"auto": ("0.063", "0.012"), "strong": ("0.025", "0.0125")}
    by_team = {t["name"]: (t["actual_usd"], t["projected_usd"]) for t in bill["by_team"]}
    assert by_team == {"team-a": ("0.075", "0.0165"), "team-b": ("0.003", "0.003"), "-": ("0.01", "0.005")}


async def test_replay_without_changes_reprices_at_configured_prices(tmp_path: Path, db: Database) -> None:
    await record_spend(db, [row("s1", "strong", "t", "strong-m", (1000, 500), 25_000_000)])
    out = await cli("replay", "-c", config(tmp_path, db), "--since", "2026-11-01", "--until", "2026-11-30")
    assert out.exit_code == 0, out.output
    assert "0.025" in out.stdout and "team" in out.stdout


async def test_bad_options_end_plainly(tmp_path: Path, db: Database) -> None:
    path = config(tmp_path, db)
    for args, message in (
        (("--price", "p/strong-m=cheap"), "USD per million"),
        (("--reroute", "strong=nowhere"), "not a configured model"),
        (("--tier-share", "strong=0.3"), "classifier"),
        (("--tier-share", "auto=2"), "between 0 and 1"),
        (("--since", "yesterday"), "--since"),
    ):
        out = await cli("replay", "-c", path, *args)
        assert out.exit_code == 2 and message in out.stderr, (args, out.output)


def body(text: str) -> str:
    return json.dumps({"model": "strong", "messages": [{"role": "user", "content": text}]})


async def test_logged_prompts_decide_a_tiered_reroute_and_repeats_hit_the_cache(
    tmp_path: Path, db: Database
) -> None:
    later = [NOV + timedelta(minutes=i) for i in range(4)]
    await record_spend(db, [
        row("p1", "strong", "t", "strong-m", (1000, 0), 10_000_000, when=later[0]),
        row("p2", "strong", "t", "strong-m", (1000, 0), 10_000_000, when=later[1]),  # p1 again
        row("p3", "strong", "t", "strong-m", (1000, 0), 10_000_000, when=later[2]),
        row("p4", "strong", "t", "strong-m", (1000, 0), 10_000_000, when=later[3]),  # no payload
    ])  # fmt: skip
    code = "Fix it:\n```python\ndef f(x): return x+\n```"
    await record_payloads(db, [
        Payload("p1", later[0], None, body("hi"), None, False),
        Payload("p2", later[1], None, body("hi"), None, False),
        Payload("p3", later[2], None, body(code), None, False),
    ])  # fmt: skip
    out = await cli("replay", "-c", config(tmp_path, db), "--since", "2026-11-04", "--until", "2026-11-04",
                    "--reroute", "strong=routed", "--cache", "--json")  # fmt: skip
    assert out.exit_code == 0, out.output
    # p1: "hi" -> the default (cheap) tier, 1,000 x 1 USD/M; p2: a repeat, from the cache;
    # p3: code -> the strong tier, 1,000 x 10 USD/M; p4: no logged prompt to decide on: unpriced
    total = json.loads(out.stdout)["total"]
    assert total == {
        "name": "total",
        "requests": 4,
        "actual_usd": "0.03",
        "projected_usd": "0.011",
        "unpriced": 1,
    }
