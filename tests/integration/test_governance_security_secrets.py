"""Secrets rows K1 and K3 of BAD-INPUTS.md with governance on: a canary provider key and canary
virtual keys go through a run at DEBUG (answers, streams, upstream errors that echo the provider
key, a timeout, refusals, rotation, revocation); afterwards neither is in the logs, any answer, any
byte of the database file (keys, spend log, audit log, budgets) or any value in Redis. Row K2
(an upstream error echoing ``key=<canary>``) is ``test_secrets.py``."""

from __future__ import annotations

import glob
import logging
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from redis import Redis

from switchgear.simulator.server import SimulatorThread
from tests.conftest import UPSTREAM_KEY
from tests.fakes.governance import MASTER_KEY, GovernedGateway, Stores
from tests.fakes.redis_server import RedisServer
from tests.fakes.security import ScriptedGateway, admin_routes, hot_routes


def _quote(text: str) -> str:
    return "".join(f"%{byte:02X}" for byte in text.encode())


LEAKY = [
    {
        "name": "echoes-key",
        "deployments": [
            {
                "provider": "sim",
                "model": f"sim-small;status=401;error_message={_quote(f'bad key={UPSTREAM_KEY}')}",
            }
        ],
    },
    {"name": "times-out", "deployments": [{"provider": "sim", "model": "sim-small;latency_ms=5000"}]},
]
CHAT = {"messages": [{"role": "user", "content": "hi"}]}


@pytest.fixture
def run(
    sim: SimulatorThread, tmp_path: Path, redis_server: RedisServer, caplog: pytest.LogCaptureFixture
) -> Iterator[tuple[GovernedGateway, str]]:
    caplog.set_level(logging.DEBUG)
    path = f"{tmp_path}/secrets.db"
    stores = Stores(f"sqlite:///{path}", redis_server.url)
    gw = ScriptedGateway(
        sim,
        stores,
        LEAKY,
        config={
            "upstream": {"timeouts": {"connect": "2s", "first_byte": "1s", "chunk_gap": "1s", "total": "5s"}}
        },
        spend_log={"flush_interval": 0.05},
    ).start()
    yield gw, path
    gw.stop()


def _request(http: httpx.Client, token: str, model: str, **extra: object) -> httpx.Response:
    return http.post(
        "/v1/chat/completions", json={"model": model, **CHAT, **extra}, headers={"x-api-key": token}
    )


def _everything_in_redis(url: str) -> bytes:
    client = Redis.from_url(url)
    found = []
    try:
        for name in client.scan_iter(match="sg:*", count=1000):
            kind = client.type(name)
            found.append(name)
            if kind == b"string":
                found.append(client.get(name) or b"")
            elif kind == b"hash":
                found += [k + b"=" + v for k, v in client.hgetall(name).items()]
            elif kind == b"zset":
                found += [m for m, _ in client.zrange(name, 0, -1, withscores=True)]
            elif kind == b"list":
                found += client.lrange(name, 0, -1)
            elif kind == b"set":
                found += list(client.smembers(name))
    finally:
        client.close()
    return b"\n".join(found)


def test_k1_canary_keys_are_nowhere_after_a_run_at_debug(
    run: tuple[GovernedGateway, str],
    sim: SimulatorThread,
    redis_server: RedisServer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    gw, path = run
    answers: list[str] = []
    master = {"authorization": f"Bearer {MASTER_KEY}"}
    with httpx.Client(base_url=gw.url, timeout=15) as http:
        made = http.post(
            "/admin/keys", json={"name": "canary", "max_budget": "0.01", "tpm_limit": 100000}, headers=master
        )
        assert made.status_code == 201
        canary, key_id = made.json()["key"], made.json()["id"]
        answers.append(made.text.replace(canary, ""))  # shown once, by design: everywhere else it is a leak
        outcomes = [
            _request(http, canary, "metered").status_code,
            _request(http, canary, "metered", stream=True).status_code,
            _request(http, canary, "echoes-key").status_code,
            _request(http, canary, "times-out").status_code,
            _request(http, canary, "all-down").status_code,
            _request(http, canary, "metered", max_tokens=1_000_000).status_code,  # over the budget
            _request(http, canary[:-2] + "zz", "metered").status_code,  # a near miss
            _request(http, canary + "x", "metered").status_code,
        ]
        assert outcomes[:2] == [200, 200] and outcomes[5:] == [429, 401, 401], outcomes
        assert all(status >= 400 for status in outcomes[2:5]), outcomes
        rotated = http.post(f"/admin/keys/{key_id}/rotate", json={"grace_period": "1h"}, headers=master)
        assert rotated.status_code == 201
        second = rotated.json()["key"]
        answers.append(rotated.text.replace(second, ""))
        assert _request(http, second, "metered").status_code == 200
        assert _request(http, canary, "metered").status_code == 200  # in its grace period
        assert http.delete(f"/admin/keys/{rotated.json()['id']}", headers=master).status_code == 200
        assert _request(http, second, "metered").status_code == 401
        openapi = http.get("/admin/openapi.json").json()
        for method, route, _ in admin_routes(openapi, fill=key_id):
            if method == "GET":
                answers.append(http.get(route, headers=master).text)
        answers.append(http.get("/admin/requests?limit=1000", headers=master).text)
        answers.append(http.get("/admin/audit", headers=master).text)
    gw.stop()  # the spend log and the durable counters are written on the way out
    stored = b"".join(Path(f).read_bytes() for f in glob.glob(path + "*"))
    assert b"spend_log" in stored and key_id.encode() in stored  # the search below reads real data
    redis = _everything_in_redis(redis_server.url) if redis_server.url else b""
    logs = caplog.text
    assert "DEBUG" in logs or caplog.records
    for secret in (canary, second, UPSTREAM_KEY):
        tail = secret[-24:]  # the part past any display prefix
        for where, text in (("logs", logs), ("answers", "\n".join(answers))):
            assert secret not in text and tail not in text, f"{where} hold a canary"
        assert secret.encode() not in stored and tail.encode() not in stored, "the database holds a canary"
        assert tail.encode() not in redis, "Redis holds a canary"
        assert tail not in "".join(r.getMessage() for r in caplog.records)
    assert UPSTREAM_KEY in str([r.headers for r in sim.requests])  # the provider did get its key


def test_k3_no_admin_or_model_route_returns_a_provider_key(run: tuple[GovernedGateway, str]) -> None:
    gw, _ = run
    master = {"authorization": f"Bearer {MASTER_KEY}"}
    with httpx.Client(base_url=gw.url, timeout=15) as http:
        key = http.post("/admin/keys", json={}, headers=master).json()
        openapi = http.get("/admin/openapi.json").json()
        gets = [route for method, route, _ in admin_routes(openapi, fill=key["id"]) if method == "GET"]
        gets += [path for method, path in hot_routes(gw.thread.app) if method == "GET"]
        gets += ["/v1/models/echoes-key", "/models", "/admin/openapi.json", "/admin/docs"]
        assert "/admin/status" in gets and "/v1/models" in gets
        seen = 0
        for route in gets:
            response = http.get(route, headers=master)
            assert response.status_code in (200, 404), (route, response.text)
            seen += response.status_code == 200
            for secret in (UPSTREAM_KEY, "sim-secret", "AKIDSIMULATOR", key["key"]):
                assert secret not in response.text, (route, secret)
        assert seen >= 10
