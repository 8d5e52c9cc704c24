"""Load for the governance proofs: bursts of requests released together over many connections,
and what the stores recorded of them (spend-log rows, the database's budget counters).

A burst opens its connections first, then every request waits on one event and all are sent when
it is set, so admission sees them together. Bodies are sent as exact bytes, so a request's worst
case (one token per body byte, ``keys/estimate.py``) is known to the test.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

import aiohttp
import orjson
import pytest

from switchgear.storage import Database
from switchgear.storage.budgets import get_counter, list_counters
from switchgear.storage.reports import query_requests
from switchgear.storage.rows import SpendRow
from tests.fakes.governance import Stores
from tests.fakes.postgres import PostgresServer
from tests.fakes.redis_server import RedisServer

T = TypeVar("T")
STORES = ["sqlite+memory", "postgresql+redis"]
HI = [{"role": "user", "content": "hi"}]
MAX_TOKENS = 100


def proof_stores(
    request: pytest.FixtureRequest, tmp_path: object, redis_server: RedisServer
) -> Iterator[Stores]:
    """The stores of a ``stores`` fixture parametrized with ``STORES``: a SQLite file with memory
    state, or a fresh PostgreSQL database with Redis state (dropped afterwards)."""
    database, state = request.param.split("+")
    redis_url = None
    if state == "redis":
        if redis_server.url is None:
            pytest.skip(redis_server.reason)
        redis_url = redis_server.url
    if database == "sqlite":
        yield Stores(f"sqlite:///{tmp_path}/proofs.db", redis_url)
        return
    server: PostgresServer = request.getfixturevalue("postgres_server")
    name = f"sg_proofs_{time.monotonic_ns()}"
    url = asyncio.run(server.create_database(name))
    yield Stores(url, redis_url)
    asyncio.run(server.drop_database(name))


def body(model: str, **extra: Any) -> bytes:
    return orjson.dumps({"model": model, "messages": HI, "max_tokens": MAX_TOKENS, **extra})


def worst_case_microusd(raw: bytes, input_price: int, output_price: int) -> int:
    """The estimate rule: ceil((body bytes x input + max_tokens x output) / 10^6), prices in
    micro-USD per million tokens."""
    return -(-(len(raw) * input_price + MAX_TOKENS * output_price) // 1_000_000)


def exact_model(name: str, raw: bytes, **script: object) -> dict[str, Any]:
    """A model at $1 / $2 per million tokens whose answers report exactly the worst case of
    ``raw``: one prompt token per body byte and ``MAX_TOKENS`` completion tokens."""
    params = "".join(f";{k}={v}" for k, v in script.items())
    return {
        "name": name,
        "deployments": [
            {
                "provider": "sim",
                "model": f"sim-small;prompt_tokens={len(raw)};completion_tokens={MAX_TOKENS}{params}",
            }
        ],
        "pricing": {"input": "1", "output": "2"},
    }


@dataclass
class Outcome:
    statuses: Counter[int] = field(default_factory=Counter)
    codes: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0

    @property
    def admitted(self) -> int:
        return self.statuses[200]


def burst(targets: Sequence[tuple[str, str, bytes]], timeout: float = 30.0) -> Outcome:
    """Send every (base url, key, body) at once, on as many connections (each opened by a
    health check first); what came back."""
    return asyncio.run(_burst(targets, timeout))


async def _burst(targets: Sequence[tuple[str, str, bytes]], timeout: float) -> Outcome:
    go = asyncio.Event()
    ready = 0
    outcome = Outcome()
    connector = aiohttp.TCPConnector(limit=len(targets), force_close=False)

    async def one(session: aiohttp.ClientSession, url: str, key: str, raw: bytes) -> None:
        nonlocal ready
        async with session.get(url + "/health/live") as live:  # the connection is open before the release
            await live.read()
        ready += 1
        await go.wait()
        async with session.post(
            url + "/v1/chat/completions",
            data=raw,
            headers={"authorization": f"Bearer {key}", "content-type": "application/json"},
        ) as response:
            answer = await response.read()
        outcome.statuses[response.status] += 1
        if response.status != 200:
            outcome.codes[str(orjson.loads(answer)["error"].get("code"))] += 1

    limit = aiohttp.ClientTimeout(total=timeout)
    async with aiohttp.ClientSession(connector=connector, timeout=limit) as session:
        tasks = [asyncio.create_task(one(session, url, key, raw)) for url, key, raw in targets]
        deadline = time.monotonic() + timeout
        while ready < len(targets):
            failed = [t for t in tasks if t.done() and t.exception() is not None]
            if failed:
                raise failed[0].exception()  # type: ignore[misc]
            assert time.monotonic() < deadline, f"only {ready} of {len(targets)} connections opened"
            await asyncio.sleep(0.005)
        started = time.monotonic()
        go.set()
        await asyncio.gather(*tasks)
        outcome.seconds = time.monotonic() - started
    return outcome


def read_db(url: str, work: Callable[[Database], Awaitable[T]]) -> T:
    """Run ``work`` on the (already migrated) database in a loop of its own."""

    async def run() -> T:
        db = Database.open(url)
        try:
            return await work(db)
        finally:
            await db.close()

    return asyncio.run(run())


def spend_rows(url: str, **filters: str) -> list[SpendRow]:
    """Every spend-log row matching ``filters`` (key_id=, user_id=, team_id=, org_id=)."""

    async def read(db: Database) -> list[SpendRow]:
        rows: list[SpendRow] = []
        cursor: str | None = None
        while True:
            page = await query_requests(db, limit=1000, cursor=cursor, **filters)  # type: ignore[arg-type]
            rows.extend(page.rows)
            cursor = page.next_cursor
            if cursor is None:
                return rows

    return read_db(url, read)


def wait_rows(url: str, count: int, timeout: float = 10.0, **filters: str) -> list[SpendRow]:
    deadline = time.monotonic() + timeout
    while True:
        rows = spend_rows(url, **filters)
        if len(rows) >= count or time.monotonic() > deadline:
            return rows
        time.sleep(0.1)


def charged_microusd(rows: Sequence[SpendRow]) -> int:
    """What the budgets count for these rows: each priced row's cost rounded up to a micro-USD."""
    return sum(-(-row.cost_nanousd // 1000) for row in rows if row.cost_nanousd)


def db_spent(url: str, kind: str, scope_id: str, period: str) -> int:
    """The database's durable counter (``budgets``) of one scope and period; -1 when none."""

    async def read(db: Database) -> int:
        found = await get_counter(db, kind, scope_id, period)
        return found.spent_microusd if found is not None else -1

    return read_db(url, read)


def db_counters(url: str, kind: str, scope_id: str) -> list[tuple[str, int]]:
    async def read(db: Database) -> list[tuple[str, int]]:
        return [(c.period, c.spent_microusd) for c in await list_counters(db, kind, scope_id)]

    return read_db(url, read)


def wait_db_spent(
    url: str, kind: str, scope_id: str, period: str, expected: int, timeout: float = 5.0
) -> int:
    deadline = time.monotonic() + timeout
    while True:
        found = db_spent(url, kind, scope_id, period)
        if found == expected or time.monotonic() > deadline:
            return found
        time.sleep(0.1)
