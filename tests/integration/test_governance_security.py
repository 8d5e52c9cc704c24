"""Authentication rows A1-A4 of BAD-INPUTS.md over real sockets, with governance on: every route of
the live inventory refuses a missing or hostile key without touching the database or the
simulator; a near miss of a real key is answered exactly like an unknown one; a revoked key stops
working on another gateway sharing Redis within a second."""

from __future__ import annotations

import asyncio
import hashlib
import statistics
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from switchgear.simulator.server import SimulatorThread
from tests.fakes.governance import MASTER_KEY, GovernedGateway, Stores
from tests.fakes.postgres import PostgresServer
from tests.fakes.redis_server import RedisServer
from tests.fakes.security import (
    HOT_BODIES,
    ScriptedGateway,
    admin_routes,
    hot_routes,
    raw_request,
    row_counts,
    status_of,
)

CHAT = HOT_BODIES["/chat/completions"]


@pytest.fixture
def sqlite_gateway(sim: SimulatorThread, tmp_path: Path) -> Iterator[tuple[GovernedGateway, str]]:
    path = f"{tmp_path}/security.db"
    gw = ScriptedGateway(sim, Stores(f"sqlite:///{path}", None), spend_log={"flush_interval": 0.05}).start()
    yield gw, path
    gw.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def any_gateway(
    request: pytest.FixtureRequest, sim: SimulatorThread, tmp_path: Path
) -> Iterator[GovernedGateway]:
    if request.param == "sqlite":
        gw = ScriptedGateway(sim, Stores(f"sqlite:///{tmp_path}/a2.db", None)).start()
        yield gw
        gw.stop()
        return
    server: PostgresServer = request.getfixturevalue("postgres_server")
    name = f"sg_sec_{time.monotonic_ns()}"
    url = asyncio.run(server.create_database(name))
    gw = ScriptedGateway(sim, Stores(url, None)).start()
    yield gw
    gw.stop()
    asyncio.run(server.drop_database(name))


def _make_key(gw: GovernedGateway, **fields: object) -> dict[str, str]:
    made = httpx.post(
        gw.url + "/admin/keys", json=fields, headers={"authorization": f"Bearer {MASTER_KEY}"}, timeout=10
    )
    assert made.status_code == 201, made.text
    found: dict[str, str] = made.json()
    return found


def _inventory(gw: GovernedGateway) -> list[tuple[str, str]]:
    openapi = httpx.get(gw.url + "/admin/openapi.json", timeout=10).json()
    routes = hot_routes(gw.thread.app) + [(m, p) for m, p, _ in admin_routes(openapi)]
    assert len(routes) >= 38  # 8 hot routes and 30 of the admin API
    return routes


def _send(http: httpx.Client, method: str, path: str, headers: dict[str, str]) -> httpx.Response:
    body = HOT_BODIES.get(path.removeprefix("/v1"))
    if body is None and method in ("POST", "PATCH", "PUT"):
        body = {}
    return http.request(method, path, json=body, headers=headers)


def _wait_written(path: str, table: str, count: int, timeout: float = 5.0) -> int:
    deadline = time.monotonic() + timeout
    while (found := row_counts(path)[table]) < count and time.monotonic() < deadline:
        time.sleep(0.02)
    return found


def test_a1_every_route_without_a_key_is_401_with_no_write_and_no_upstream_call(
    sqlite_gateway: tuple[GovernedGateway, str], sim: SimulatorThread
) -> None:
    gw, path = sqlite_gateway
    routes = _inventory(gw)
    assert {p for m, p in routes if m == "POST"} >= {"/v1" + p for p in HOT_BODIES}
    before, upstream = row_counts(path), len(sim.requests)
    with httpx.Client(base_url=gw.url, timeout=10) as http:
        for method, route in routes:
            response = _send(http, method, route, {})
            assert response.status_code == 401, (method, route, response.text)
            error = response.json()["error"]
            assert error["type"] == "authentication_error" and "missing API key" in error["message"]
        time.sleep(0.5)  # ten spend-log flush intervals
        assert row_counts(path) == before
        assert len(sim.requests) == upstream
        # the counts above can move: an authenticated request is written and reaches the simulator
        assert (
            http.post("/v1/chat/completions", json=CHAT, headers={"x-api-key": MASTER_KEY}).status_code == 200
        )
    assert _wait_written(path, "spend_log", before["spend_log"] + 1) == before["spend_log"] + 1
    assert len(sim.requests) == upstream + 1


HOSTILE = [
    "' OR 1=1--",
    "' UNION SELECT key_hash FROM virtual_keys--",
    "'; SELECT pg_sleep(5);--",
    "x'); DROP TABLE virtual_keys;--",
    "sk-sg-' OR '1'='1",
    "sk-sg-" + "A" * 43 + "' OR 1=1--",
]


def test_a2_sql_payloads_in_the_key_are_401_fast_and_never_echoed(
    any_gateway: GovernedGateway, sim: SimulatorThread
) -> None:
    gw = any_gateway
    routes = [
        ("POST", "/v1/chat/completions"),
        ("POST", "/v1/messages"),
        ("GET", "/v1/models"),
        ("GET", "/admin/keys"),
        ("POST", "/admin/keys"),
        ("GET", "/admin/keys/x"),
        ("GET", "/admin/status"),
    ]
    upstream = len(sim.requests)
    with httpx.Client(base_url=gw.url, timeout=10) as http:
        for payload in HOSTILE:
            for header in ("authorization", "x-api-key"):
                value = f"Bearer {payload}" if header == "authorization" else payload
                for method, route in routes:
                    started = time.monotonic()
                    response = _send(http, method, route, {header: value})
                    took = time.monotonic() - started
                    assert response.status_code == 401, (payload, route, response.text)
                    assert took < 1.0, (payload, route, took)  # pg_sleep(5) never ran
                    assert payload not in response.text and "sleep" not in response.text
        listed = http.get("/admin/keys", headers={"authorization": f"Bearer {MASTER_KEY}"})
    assert listed.status_code == 200  # the tables are all still there
    assert len(sim.requests) == upstream


def test_a2_huge_nul_crlf_and_non_ascii_keys_are_refused_never_500(
    sqlite_gateway: tuple[GovernedGateway, str], sim: SimulatorThread
) -> None:
    gw, path = sqlite_gateway
    before, upstream = row_counts(path), len(sim.requests)
    body = b'{"model": "metered", "messages": [{"role": "user", "content": "hi"}]}'
    bad = {
        b"Bearer " + b"k" * 1_000_000: {401, 431},
        b"Bearer sk-sg-\x00" + b"A" * 42: {400},
        b"Bearer sk-sg-A\rB": {400},
        b"Bearer sk-sg-A\nX-Injected: 1": {400, 401},  # a second header at most: never a valid key
        "Bearer sk-sg-ключ-ü€".encode(): {400, 401},
        "Bearer sk-sg-é".encode("latin-1"): {400, 401},
    }
    for route in (b"/v1/chat/completions", b"/admin/keys"):
        for value, allowed in bad.items():
            method = b"POST" if route.startswith(b"/v1") else b"GET"
            head = (
                method + b" " + route + b" HTTP/1.1\r\nhost: x\r\nauthorization: " + value
                + b"\r\ncontent-type: application/json\r\ncontent-length: "
                + str(len(body)).encode() + b"\r\nconnection: close\r\n\r\n" + body
            )  # fmt: skip
            started = time.monotonic()
            answer = raw_request(gw.thread.port, head)
            assert time.monotonic() - started < 2.0
            assert status_of(answer) in allowed, (route, value[:40], answer[:300])
            assert value[7:] not in answer or len(value) < 12
    time.sleep(0.3)
    assert row_counts(path) == before and len(sim.requests) == upstream
    with httpx.Client(base_url=gw.url, timeout=10) as http:  # the gateway is still well
        assert http.get("/admin/keys", headers={"x-api-key": MASTER_KEY}).status_code == 200


def test_a3_a_near_miss_of_a_real_key_is_answered_exactly_like_an_unknown_key(
    sqlite_gateway: tuple[GovernedGateway, str],
) -> None:
    gw, _ = sqlite_gateway
    real = _make_key(gw)["key"]
    near_misses = [real[:-1] + ("A" if real[-1] != "A" else "B"), real[:12] + "x" * (len(real) - 12)]
    unknown = ["sk-sg-" + "Q" * 43, "sk-" + "z" * 40]
    with httpx.Client(base_url=gw.url, timeout=10) as http:
        assert http.post("/v1/chat/completions", json=CHAT, headers={"x-api-key": real}).status_code == 200
        for route in ("/v1/chat/completions", "/v1/messages", "/admin/keys"):
            method = "GET" if route.startswith("/admin") else "POST"
            bodies = set()
            for token in near_misses + unknown:
                response = _send(http, method, route, {"authorization": f"Bearer {token}"})
                assert response.status_code == 401
                bodies.add(_without_request_id(response))
            assert len(bodies) == 1, (route, bodies)
    # The lookup is by the SHA-256 digest of the whole token: the directory holds digests only, so a
    # shared prefix cannot lead anywhere a random token does not.
    directory = gw.governance.directory
    assert directory.lookup(hashlib.sha256(real.encode()).digest()) is not None
    for token in near_misses:
        assert directory.lookup(hashlib.sha256(token.encode()).digest()) is None
    assert all(len(d) == 32 for d in directory.by_digest)
    for entry in directory.by_id.values():
        assert real not in repr(entry)


def _without_request_id(response: httpx.Response) -> bytes:
    """The body, its ``request_id`` (different for every request) taken out."""
    rid = response.headers.get("x-request-id", "")
    return response.content.replace(rid.encode(), b"") if rid else response.content


def test_a3_no_timing_split_between_a_near_miss_and_an_unknown_key(
    sqlite_gateway: tuple[GovernedGateway, str],
) -> None:
    gw, _ = sqlite_gateway
    real = _make_key(gw)["key"]
    near, unknown = real[:-1] + ("A" if real[-1] != "A" else "B"), "sk-sg-" + "Q" * 43
    took: dict[str, list[float]] = {near: [], unknown: []}
    with httpx.Client(base_url=gw.url, timeout=10) as http:
        for _ in range(150):
            for token in (near, unknown):  # interleaved, so machine noise falls on both alike
                started = time.perf_counter()
                assert http.get("/v1/models", headers={"x-api-key": token}).status_code == 401
                took[token].append(time.perf_counter() - started)
    a, b = statistics.median(took[near]), statistics.median(took[unknown])
    assert abs(a - b) < max(a, b) * 0.5 + 0.002, (a, b)


@pytest.fixture
def redis_stores(redis_server: RedisServer, tmp_path: Path) -> Stores:
    if redis_server.url is None:
        pytest.skip(redis_server.reason)
    return Stores(f"sqlite:///{tmp_path}/replicas.db", redis_server.url)


def test_a4_a_key_revoked_on_one_gateway_is_refused_on_another_within_a_second(
    sim: SimulatorThread, redis_stores: Stores
) -> None:
    one = ScriptedGateway(sim, redis_stores).start()
    two = ScriptedGateway(sim, redis_stores).start()
    try:
        made = _make_key(one)
        key = made["key"]
        deadline = time.monotonic() + 1.0
        while _status(two, key) != 200:
            assert time.monotonic() < deadline, "the new key did not reach the other gateway in 1 s"
            time.sleep(0.02)
        revoked = httpx.delete(
            one.url + f"/admin/keys/{made['id']}", headers={"x-api-key": MASTER_KEY}, timeout=10
        )
        assert revoked.status_code == 200
        started = time.monotonic()
        while (status := _status(two, key)) != 401:
            assert status == 200
            assert time.monotonic() - started < 1.0, "the revoked key still worked after 1 s"
            time.sleep(0.02)
        assert _status(one, key) == 401
    finally:
        one.stop()
        two.stop()


def _status(gw: GovernedGateway, key: str) -> int:
    return httpx.post(
        gw.url + "/v1/chat/completions", json=CHAT, headers={"authorization": f"Bearer {key}"}, timeout=10
    ).status_code
