"""The gateway as ``serve`` builds it with governance on: the admin API over the runtime's database
and change feed, and changes made with ``switchgear keys`` reaching the running gateway through
Redis at once (no refresh interval to wait for)."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import openai
import pytest
import yaml
from typer.testing import CliRunner

from switchgear.cli.main import app as cli_app
from switchgear.simulator.server import SimulatorThread
from tests.fakes.governance import MASTER_KEY, GovernedGateway, Stores
from tests.fakes.redis_server import RedisServer

HI = [{"role": "user", "content": "hi"}]


@pytest.fixture
def stores(tmp_path: Path, redis_server: RedisServer) -> Stores:
    if redis_server.url is None:
        pytest.skip(redis_server.reason)
    return Stores(f"sqlite:///{tmp_path}/serve.db", redis_server.url)


@pytest.fixture
def gateway(sim: SimulatorThread, stores: Stores) -> Iterator[GovernedGateway]:
    # a refresh interval far beyond the test: only the change feed can bring a change in time
    gw = GovernedGateway(sim, stores, refresh_interval="1h").start()
    yield gw
    gw.stop()


def _chat(gw: GovernedGateway, key: str) -> int:
    client = openai.OpenAI(base_url=gw.url + "/v1", api_key=key, max_retries=0)
    try:
        client.chat.completions.create(model="metered", messages=HI)  # type: ignore[arg-type]
    except openai.APIStatusError as exc:
        return exc.status_code
    return 200


def _within(seconds: float, check: object) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():  # type: ignore[operator]
            return True
        time.sleep(0.02)
    return False


def test_a_key_made_through_the_admin_api_works_at_once(gateway: GovernedGateway) -> None:
    made = httpx.post(
        gateway.url + "/admin/keys",
        headers={"authorization": f"Bearer {MASTER_KEY}"},
        json={"name": "app", "models": ["metered"], "max_budget": "5", "rpm_limit": 100},
    )
    assert made.status_code == 201, made.text
    body = made.json()
    assert body["key"].startswith("sk-sg-")
    assert _chat(gateway, body["key"]) == 200
    shown = httpx.get(
        gateway.url + f"/admin/keys/{body['id']}", headers={"authorization": f"Bearer {MASTER_KEY}"}
    )
    assert shown.status_code == 200 and body["key"] not in shown.text


def test_cli_changes_reach_the_running_gateway_within_a_second(
    gateway: GovernedGateway, stores: Stores, tmp_path: Path
) -> None:
    config = tmp_path / "cli.yaml"
    config.write_text(
        yaml.safe_dump({"storage": {"database_url": stores.database_url, "redis_url": stores.redis_url}})
    )
    made = CliRunner().invoke(cli_app, ["keys", "create", "-c", str(config), "--name", "cli", "--json"])
    assert made.exit_code == 0, made.output
    created = json.loads(made.stdout)
    assert _within(1.0, lambda: _chat(gateway, created["key"]) == 200)
    revoked = CliRunner().invoke(cli_app, ["keys", "revoke", created["id"], "-c", str(config)])
    assert revoked.exit_code == 0, revoked.output
    assert "told through Redis" in revoked.stderr
    assert _within(1.0, lambda: _chat(gateway, created["key"]) == 401)


def test_governance_routes_answer_when_serve_builds_the_app(gateway: GovernedGateway) -> None:
    async def listed() -> int:
        async with httpx.AsyncClient() as client:
            answer = await client.get(
                gateway.url + "/admin/keys", headers={"authorization": f"Bearer {MASTER_KEY}"}
            )
            return answer.status_code

    assert asyncio.run(listed()) == 200
