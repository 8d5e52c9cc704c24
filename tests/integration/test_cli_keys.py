"""``switchgear keys`` and ``switchgear spend`` end to end on a real database (SQLite and
PostgreSQL), through the command line as a user types it."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from pathlib import Path

import yaml
from click.testing import Result
from typer.testing import CliRunner

from switchgear.cli.main import app
from switchgear.keys.material import digest
from switchgear.storage import Database, SpendRow
from switchgear.storage.audit import list_audit
from switchgear.storage.keys import get_key_by_hash
from switchgear.storage.spend import record_spend
from tests.fakes.admin import database_url


async def cli(*args: str) -> Result:
    """Run the command in a thread: it starts an event loop of its own, as it does in a shell."""
    return await asyncio.to_thread(CliRunner().invoke, app, list(args))


def _config(tmp_path: Path, db: Database) -> str:
    path = tmp_path / "gateway.yaml"
    path.write_text(
        yaml.safe_dump({"storage": {"database_url": database_url(db), "migrate_on_start": False}})
    )
    return str(path)


async def test_keys_create_list_rotate_revoke(tmp_path: Path, db: Database) -> None:
    config = _config(tmp_path, db)
    made = await cli("keys", "create", "-c", config, "--name", "ci", "--max-budget", "12.5",
                               "--model", "fast", "--rpm-limit", "30")  # fmt: skip
    assert made.exit_code == 0, made.output
    secret = next(line for line in made.stdout.splitlines() if line.startswith("sk-sg-"))
    stored = await get_key_by_hash(db, digest(secret))
    assert (
        stored is not None and stored.limits.max_budget_microusd == 12_500_000 and stored.models == ["fast"]
    )
    listed = await cli("keys", "list", "-c", config, "--json")
    assert listed.exit_code == 0 and secret not in listed.stdout
    assert [k["id"] for k in json.loads(listed.stdout)["data"]] == [stored.id]
    table = await cli("keys", "list", "-c", config)
    assert stored.id in table.stdout and secret not in table.stdout
    rotated = await cli("keys", "rotate", stored.id, "-c", config, "--grace", "1h", "--json")
    assert rotated.exit_code == 0, rotated.output
    new = json.loads(rotated.stdout)
    assert new["key"].startswith("sk-sg-") and new["rotated_from"] == stored.id
    revoked = await cli("keys", "revoke", new["id"], "-c", config, "--json")
    assert revoked.exit_code == 0 and json.loads(revoked.stdout)["status"] == "revoked"
    assert "next refresh" in revoked.stderr
    actions = [(e.actor, e.action) for e in await list_audit(db, object_kind="key")]
    assert actions == [("cli", "revoke"), ("cli", "rotate"), ("cli", "create")]


async def test_bad_input_and_missing_keys_end_plainly(tmp_path: Path, db: Database) -> None:
    config = _config(tmp_path, db)
    bad = await cli("keys", "create", "-c", config, "--max-budget", "-3")
    assert bad.exit_code == 2 and "max-budget" in bad.stderr and "negative" in bad.stderr
    missing = await cli("keys", "revoke", "key_0000", "-c", config)
    assert missing.exit_code == 1 and "key not found" in missing.stderr
    assert (await cli("spend", "-c", config, "--by", "planet")).exit_code == 2


async def test_spend_by_model_over_a_range(tmp_path: Path, db: Database) -> None:
    when = datetime(2026, 11, 4, 9, tzinfo=UTC)
    await record_spend(db, [
        SpendRow(request_id="a", created_at=when, model="fast", cost_nanousd=2_000_000_000),
        SpendRow(request_id="b", created_at=when, model="priced", cost_nanousd=500_000_000),
        SpendRow(request_id="c", created_at=datetime(2026, 12, 1, tzinfo=UTC), model="fast", cost_nanousd=9),
    ])  # fmt: skip
    config = _config(tmp_path, db)
    out = await cli("spend", "-c", config, "--by", "model", "--start", "2026-11-01", "--end",
                              "2026-11-30", "--json")  # fmt: skip
    assert out.exit_code == 0, out.output
    report = json.loads(out.stdout)
    assert [(g["group"], g["spend"]) for g in report["data"]] == [("fast", 2.0), ("priced", 0.5)]
    assert report["total_cost_nanousd"] == 2_500_000_000
    table = await cli("spend", "-c", config, "--by", "model", "--start", "2026-11-01", "--end", "2026-11-30")
    assert "priced" in table.stdout and "total 2.5 USD" in table.stdout
