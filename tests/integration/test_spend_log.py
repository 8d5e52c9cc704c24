"""The spend log end to end: the gateway over real sockets (openai and anthropic SDKs, simulated
providers) writing one row per request to a real SQLite file and a real PostgreSQL database, in
batches, off the request path; a database that is unreachable (a SQLite volume not there yet, a
PostgreSQL behind a relay that is cut or stops answering) holds rows in the bounded buffer and
writes them once when it returns."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import anthropic
import httpx
import openai
import pytest
from sqlalchemy.engine import URL, make_url

from switchgear.config import Settings, parse_settings
from switchgear.observability.spend_log import Backoff, SpendLog
from switchgear.simulator.server import SimulatorThread
from switchgear.stages import Principal, RequestContext, Stage
from switchgear.storage import Database, SpendRow
from switchgear.storage.migrate import upgrade
from switchgear.storage.reports import query_requests, spend_report
from tests.conftest import base_config
from tests.fakes.databases import wipe
from tests.fakes.gateway import GatewayThread
from tests.fakes.tcp_relay import TcpRelay

MESSAGES: Any = [{"role": "user", "content": "hi"}]
PASSWORD = "pg-password-canary-91c2"


class ActAsKey(Stage):
    """Stands in for the key stage: a request tagged ``as-key`` belongs to a virtual key."""

    name = "act_as_key"

    async def admit(self, ctx: RequestContext) -> None:
        if "as-key" in ctx.tags:
            ctx.principal = Principal(key_id="key-1", user_id="user-1", team_id="team-1", org_id="org-1")


def spend_settings(**spend_log: Any) -> Settings:
    config = {"governance": {"spend_log": spend_log}, "storage": {"migrate_on_start": False}}
    return parse_settings(config, {})


class Target:
    """Where the gateway's spend log writes (``url``, opened in the gateway's own loop) and the
    test's view of the same database (``check``, in the test's loop); ``down``/``up`` make it
    unreachable and reachable again."""

    def __init__(self, url: URL, check: Database | None, relay: TcpRelay | None = None) -> None:
        self.url = url
        self.check_db = check
        self.relay = relay
        self.missing: Path | None = None  # SQLite: the folder of the file, absent while down

    @property
    def check(self) -> Database:
        assert self.check_db is not None, "the database is down"
        return self.check_db

    def stage(self, settings: Settings, **options: Any) -> SpendLog:
        database = Database.open(self.url)
        if self.missing is not None:  # opening made the folder: the volume is not there yet
            self.missing.rmdir()
        return SpendLog(database, settings, owns_database=True, **options)

    async def up(self) -> None:
        if self.relay is not None:
            self.relay.up()
        elif self.missing is not None:
            self.missing.mkdir()
            self.check_db = Database.open(self.url)
            await upgrade(self.check_db)
            self.missing = None

    def down(self) -> None:
        assert self.relay is not None, "a SQLite volume goes missing only before the first use"
        self.relay.down()


@pytest.fixture
def target(db: Database) -> Target:
    """A reachable, migrated, empty database: SQLite, then PostgreSQL."""
    return Target(db.engine.url, db)


@pytest.fixture
async def unreachable(any_database: Database, tmp_path: Path) -> AsyncIterator[Target]:
    """A database that is down until ``up()``: SQLite whose folder is missing, PostgreSQL behind a
    relay that refuses connections (with a password in its URL, which must never be shown)."""
    if any_database.dialect == "sqlite":
        found = Target(make_url(f"sqlite+aiosqlite:///{tmp_path / 'volume' / 'spend.db'}"), None)
        found.missing = tmp_path / "volume"
        yield found
        if found.check_db is not None:
            await found.check_db.close()
        return
    db = any_database
    await wipe(db)
    relay = TcpRelay("127.0.0.1", db.engine.url.port or 5432)
    url = db.engine.url.set(host="127.0.0.1", port=relay.port, password=PASSWORD)
    yield Target(url, db, relay)
    relay.close()


@pytest.fixture
def start_gateway(sim: SimulatorThread) -> Iterator[Callable[[SpendLog], GatewayThread]]:
    started: list[GatewayThread] = []

    def start(stage: SpendLog) -> GatewayThread:
        gateway = GatewayThread(base_config(sim), stages=[ActAsKey(), stage]).start()
        started.append(gateway)
        return gateway

    yield start
    for gateway in started:
        gateway.stop()


async def until(check: Callable[[], Any], timeout: float = 10.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or check}")
        await asyncio.sleep(0.02)


async def rows_of(db: Database) -> dict[str, SpendRow]:
    page = await query_requests(db, limit=1000)
    return {row.request_id: row for row in page.rows}


async def chat(gw: GatewayThread, rid: str, model: str = "fast", **extra: Any) -> float:
    """One chat request; how long it took, in seconds."""
    started = time.monotonic()
    async with openai.AsyncOpenAI(base_url=gw.url + "/v1", api_key="k", max_retries=0) as client:
        await client.chat.completions.create(
            model=model, messages=MESSAGES, extra_headers={"x-request-id": rid}, **extra
        )
    return time.monotonic() - started


async def assert_rollup_equals_rows(db: Database) -> None:
    rows = await rows_of(db)
    today = datetime.now(UTC).date()
    days = await spend_report(db, "day", today - timedelta(days=1), today + timedelta(days=1))
    assert sum(d.requests for d in days) == len(rows)
    assert sum(d.failed_requests for d in days) == sum(r.status >= 400 for r in rows.values())
    assert sum(d.prompt_tokens for d in days) == sum(r.prompt_tokens for r in rows.values())
    assert sum(d.completion_tokens for d in days) == sum(r.completion_tokens for r in rows.values())
    assert sum(d.cost_nanousd for d in days) == sum(r.cost_nanousd or 0 for r in rows.values())


async def send_every_kind(gw: GatewayThread) -> None:
    """Success, stream, upstream error, in-band stream error, client cancel, fallback."""
    async with openai.AsyncOpenAI(base_url=gw.url + "/v1", api_key="k", max_retries=0) as client:
        await client.chat.completions.create(
            model="priced",
            messages=MESSAGES,
            user="end-user-7",
            extra_headers={"x-request-id": "rid-ok", "x-switchgear-tags": "as-key, batch"},
        )
        stream = await client.chat.completions.create(
            model="priced",
            messages=MESSAGES,
            stream=True,
            stream_options={"include_usage": True},
            extra_headers={"x-request-id": "rid-stream"},
        )
        async for _ in stream:
            pass
        with pytest.raises(openai.APIStatusError):
            await client.chat.completions.create(
                model="sim/sim-small;status=500", messages=MESSAGES, extra_headers={"x-request-id": "rid-502"}
            )
        await client.chat.completions.create(
            model="ha", messages=MESSAGES, extra_headers={"x-request-id": "rid-ha"}
        )
    async with anthropic.AsyncAnthropic(base_url=gw.url, api_key="k", max_retries=0) as claude:
        with pytest.raises(anthropic.APIStatusError):
            async with claude.messages.stream(
                model="s-anthropic/claude-sim;status=529;error_after=3",
                max_tokens=20,
                messages=MESSAGES,
                extra_headers={"x-request-id": "rid-inband"},
            ) as events:
                async for _ in events:
                    pass
    async with httpx.AsyncClient(timeout=0.3) as http:
        with pytest.raises(httpx.ReadTimeout):
            await http.post(
                gw.url + "/v1/chat/completions",
                json={"model": "sim/sim-small;latency_ms=1500", "messages": MESSAGES},
                headers={"x-request-id": "rid-gone"},
            )


async def test_one_row_per_request_with_its_fields(
    target: Target, start_gateway: Callable[[SpendLog], GatewayThread]
) -> None:
    stage = target.stage(spend_settings(flush_interval="100ms"))
    gw = start_gateway(stage)
    await send_every_kind(gw)
    await until(lambda: stage.written >= 6, what="six rows")
    rows = await rows_of(target.check)
    assert set(rows) == {"rid-ok", "rid-stream", "rid-502", "rid-ha", "rid-inband", "rid-gone"}
    records = {r.request_id: r for r in gw.settled}

    ok = rows["rid-ok"]
    assert (ok.key_id, ok.user_id, ok.team_id, ok.org_id) == ("key-1", "user-1", "team-1", "org-1")
    assert ok.end_user == "end-user-7" and ok.tags == ("as-key", "batch") and ok.api == "chat"
    assert (ok.model, ok.provider, ok.deployment, ok.status, ok.error_type) == (
        "priced",
        "sim",
        "sim-small",
        200,
        None,
    )
    usage = records["rid-ok"].usage
    assert usage is not None and ok.prompt_tokens == usage.prompt_tokens > 0
    assert ok.completion_tokens == usage.completion_tokens > 0
    assert ok.cost_nanousd == ok.prompt_tokens * 500 + ok.completion_tokens * 1500  # 0.5 / 1.5 USD per M
    assert ok.ttfb_ms is not None and 0 < ok.ttfb_ms <= ok.duration_ms and not ok.stream and ok.attempts == 1
    assert abs(ok.created_at - datetime.now(UTC)) < timedelta(minutes=1)

    stream = rows["rid-stream"]
    assert stream.stream and stream.status == 200 and stream.completion_tokens > 0 and stream.cost_nanousd
    assert stream.key_id is None and stream.user_id is None and stream.org_id is None  # no virtual key

    failed = rows["rid-502"]
    assert (failed.status, failed.error_type, failed.cost_nanousd) == (502, "upstream_error", None)
    inband = rows["rid-inband"]
    assert (inband.status, inband.error_type, inband.provider, inband.stream) == (
        503,
        "overloaded",
        "s-anthropic",
        True,
    )
    gone = rows["rid-gone"]
    assert gone.status == 499 and gone.completion_tokens == 0
    fallback = rows["rid-ha"]
    assert fallback.status == 200 and fallback.provider == "sim2" and fallback.deployment == "sim-large"
    assert fallback.attempts == len(records["rid-ha"].attempts) >= 2

    await assert_rollup_equals_rows(target.check)
    today = datetime.now(UTC).date()
    [by_key] = await spend_report(target.check, "key", today, today, key_id="key-1")
    assert (by_key.requests, by_key.cost_nanousd) == (1, ok.cost_nanousd)
    gw.stop()
    assert stage.stats().written == 6 and stage.stats().dropped == 0 and stage.stats().retried_batches == 0
    assert len(await rows_of(target.check)) == 6


async def test_rows_are_written_in_batches_and_the_rest_on_close(
    target: Target, start_gateway: Callable[[SpendLog], GatewayThread]
) -> None:
    stage = target.stage(spend_settings(batch_size=4, flush_interval="1h"))
    gw = start_gateway(stage)
    for i in range(10):
        await chat(gw, f"rid-batch-{i}")
    await until(lambda: stage.written == 8, what="two full batches")
    await asyncio.sleep(0.3)
    assert (stage.batches, stage.written, len(stage.buffer)) == (2, 8, 2)  # two rows wait for a batch
    assert len(await rows_of(target.check)) == 8
    gw.stop()  # the worker stops: what is held is written
    assert (stage.batches, stage.written, len(stage.buffer)) == (3, 10, 0)
    assert set(await rows_of(target.check)) == {f"rid-batch-{i}" for i in range(10)}
    await assert_rollup_equals_rows(target.check)


async def test_an_unreachable_database_holds_rows_and_writes_them_once_it_returns(
    unreachable: Target, start_gateway: Callable[[SpendLog], GatewayThread], caplog: pytest.LogCaptureFixture
) -> None:
    stage = unreachable.stage(spend_settings(batch_size=3, flush_interval="100ms"), backoff=Backoff(0.1, 0.5))
    gw = start_gateway(stage)
    for i in range(7):
        assert await chat(gw, f"rid-down-{i}") < 1.0
    await until(lambda: stage.retried_batches >= 2 and len(stage.buffer) == 7, what="rows held")
    stats = stage.stats()
    assert stats.failing and stats.written == 0 and stats.buffered == 7 and stats.dropped == 0
    assert stats.last_error and PASSWORD not in stats.last_error and "INSERT" not in stats.last_error
    assert all(PASSWORD not in r.getMessage() for r in caplog.records)

    await unreachable.up()
    await until(lambda: stage.written == 7, what="the held rows written")
    assert not stage.stats().failing and stage.stats().buffered == 0
    if unreachable.relay is not None:  # down again, more rows, back: still each row once
        unreachable.down()
        for i in range(7, 12):
            assert await chat(gw, f"rid-down-{i}") < 1.0
        await until(lambda: stage.stats().failing and stage.stats().buffered == 5, what="rows held again")
        await unreachable.up()
        await until(lambda: stage.written == 12, what="the second outage's rows")
    gw.stop()
    rows = await rows_of(unreachable.check)
    sent = 12 if unreachable.relay is not None else 7
    assert set(rows) == {f"rid-down-{i}" for i in range(sent)}
    assert stage.stats().written == sent and stage.stats().dropped == 0
    await assert_rollup_equals_rows(unreachable.check)


@pytest.mark.parametrize("overflow", ["drop_new", "drop_old"])
async def test_a_full_buffer_drops_per_the_policy_and_counts(
    unreachable: Target, start_gateway: Callable[[SpendLog], GatewayThread], overflow: str
) -> None:
    settings = spend_settings(buffer=3, overflow=overflow, flush_interval="1h")
    stage = unreachable.stage(settings, backoff=Backoff(0.1, 0.2))
    gw = start_gateway(stage)
    for i in range(5):
        await chat(gw, f"rid-full-{i}")
    await until(lambda: stage.stats().dropped == 2, what="two drops")
    assert stage.stats().buffered == 3 and stage.written == 0
    await unreachable.up()
    gw.stop()  # the flush on close writes what the buffer kept
    kept = range(3) if overflow == "drop_new" else range(2, 5)
    assert set(await rows_of(unreachable.check)) == {f"rid-full-{i}" for i in kept}
    assert (stage.stats().written, stage.stats().dropped) == (3, 2)


async def test_a_database_that_stops_answering_never_delays_a_request(
    postgresql_database: Database, start_gateway: Callable[[SpendLog], GatewayThread]
) -> None:
    await wipe(postgresql_database)
    relay = TcpRelay("127.0.0.1", postgresql_database.engine.url.port or 5432)
    relay.hang()  # accepts connections, never answers
    try:
        url = postgresql_database.engine.url.set(host="127.0.0.1", port=relay.port)
        stage = SpendLog(
            Database.open(url),
            spend_settings(batch_size=1),
            owns_database=True,
            write_timeout=0.5,
            close_grace=0.5,
        )
        gw = start_gateway(stage)
        took = [await chat(gw, f"rid-hang-{i}") for i in range(20)]
        assert max(took) < 0.5, took  # each write attempt waits 0.5 s for a database that never answers
        await until(lambda: stage.retried_batches >= 1 and len(stage.buffer) == 20, what="rows held")
        assert stage.written == 0
        gw.stop()  # nothing can be written in the close grace: counted as dropped
        assert stage.stats().dropped == 20 and stage.stats().buffered == 0
    finally:
        relay.close()
    assert await rows_of(postgresql_database) == {}


async def test_governance_on_writes_the_default_sqlite_file(sim: SimulatorThread, tmp_path: Path) -> None:
    config = base_config(sim, master_key="sk-master-test-1234")
    config["storage"] = {"data_dir": str(tmp_path)}
    config["governance"] = {"spend_log": {"flush_interval": "100ms"}}
    gw = GatewayThread(config).start()
    try:
        async with openai.AsyncOpenAI(
            base_url=gw.url + "/v1", api_key="sk-master-test-1234", max_retries=0
        ) as client:
            await client.chat.completions.create(
                model="fast", messages=MESSAGES, extra_headers={"x-request-id": "rid-master"}
            )
    finally:
        gw.stop()
    db = Database.open(f"sqlite+aiosqlite:///{tmp_path / 'switchgear.db'}")
    try:
        rows = await rows_of(db)
    finally:
        await db.close()
    assert list(rows) == ["rid-master"]
    assert rows["rid-master"].key_id is None and rows["rid-master"].status == 200  # the master key: no key id
