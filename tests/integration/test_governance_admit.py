"""Virtual keys and admission over real sockets: the official openai SDK against the simulator,
through a gateway with governance on, on SQLite and PostgreSQL, with memory and Redis state."""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import openai
import pytest
from redis import Redis

from switchgear.keys.ledger import stored_period
from switchgear.keys.material import digest, display_prefix, new_key
from switchgear.simulator.server import SimulatorThread
from switchgear.state import Budget, Period, Scope
from switchgear.storage import Database, Limits
from switchgear.storage.budgets import get_counter
from switchgear.storage.hierarchy import create_end_user, create_team
from switchgear.storage.keys import revoke_key, rotate_key, update_key
from switchgear.storage.rows import utcnow
from tests.fakes.governance import (
    ANSWER_MICROUSD,
    MASTER_KEY,
    GovernedGateway,
    Stores,
    make_key,
    with_db,
)
from tests.fakes.governed_load import proof_stores
from tests.fakes.redis_server import RedisServer

HI = [{"role": "user", "content": "hi"}]
STORES = ["sqlite+memory", "postgresql+memory", "sqlite+redis", "postgresql+redis"]


@pytest.fixture(params=STORES)
def stores(request: pytest.FixtureRequest, tmp_path: object, redis_server: RedisServer) -> Iterator[Stores]:
    yield from proof_stores(request, tmp_path, redis_server)


@pytest.fixture
def gateway(sim: SimulatorThread, stores: Stores) -> Iterator[GovernedGateway]:
    gw = GovernedGateway(sim, stores).start()
    yield gw
    gw.stop()


def client(gw: GovernedGateway, key: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=gw.url + "/v1", api_key=key, max_retries=0, timeout=10)


def chat(
    gw: GovernedGateway, key: str, model: str = "metered", **extra: object
) -> openai.types.chat.ChatCompletion:
    with client(gw, key) as c:
        return c.chat.completions.create(model=model, messages=HI, **extra)  # type: ignore[call-overload, no-any-return]


def spent(gw: GovernedGateway, scope: Scope) -> tuple[int, int]:
    """(spent, reserved) of a budget scope in the gateway's state backend, now."""
    found = gw.call(gw.governance.state.spent(scope, _period_of(gw, scope)))
    return found.spent_microusd, found.reserved_microusd


def _period_of(gw: GovernedGateway, scope: Scope) -> object:
    entry = gw.governance.directory.by_id.get(scope.id)
    budget = entry.limits.budget if entry is not None else None
    return budget.period if budget is not None else None


def settled(gw: GovernedGateway, scope: Scope, expected: int, timeout: float = 5.0) -> tuple[int, int]:
    deadline = time.monotonic() + timeout
    while True:
        found = spent(gw, scope)
        if found == (expected, 0) or time.monotonic() > deadline:
            return found
        time.sleep(0.02)


# authentication -----------------------------------------------------------------------------


def test_key_works_and_the_master_key_still_does(gateway: GovernedGateway, stores: Stores) -> None:
    key, key_id = make_key(stores.database_url, name="app")
    gateway.publish("key", key_id)
    assert chat(gateway, key).choices[0].message.content
    assert chat(gateway, MASTER_KEY).choices[0].message.content
    records = gateway.thread.wait_settled(2)
    assert {r.principal.key_id for r in records} == {key_id, None}


def test_unknown_and_malformed_keys_get_401_without_echo(gateway: GovernedGateway) -> None:
    for token in (new_key(), "sk-sg-short", "nonsense"):
        with pytest.raises(openai.AuthenticationError) as caught:
            chat(gateway, token)
        assert caught.value.status_code == 401
        assert token not in caught.value.response.text
        assert "invalid API key" in caught.value.message


def test_revoked_key_refused_at_once_in_the_same_process(gateway: GovernedGateway, stores: Stores) -> None:
    key, key_id = make_key(stores.database_url)
    gateway.publish("key", key_id)
    assert chat(gateway, key).id

    async def revoke(db: Database) -> None:
        await revoke_key(db, key_id)

    with_db(stores.database_url, revoke)
    gateway.publish("key", key_id)
    with pytest.raises(openai.AuthenticationError) as caught:
        chat(gateway, key)
    assert "revoked" in caught.value.message
    assert key not in caught.value.response.text


def test_expired_key_refused(gateway: GovernedGateway, stores: Stores) -> None:
    key, _id = make_key(stores.database_url, expires_at=utcnow() + timedelta(seconds=1))
    gateway.call(gateway.governance.directory.load())
    assert chat(gateway, key).id
    time.sleep(1.1)
    with pytest.raises(openai.AuthenticationError) as caught:
        chat(gateway, key)
    assert "expired" in caught.value.message


def test_rotated_key_works_until_its_grace_deadline(gateway: GovernedGateway, stores: Stores) -> None:
    old, old_id = make_key(stores.database_url)
    new = new_key()

    async def rotate(db: Database) -> str:
        made = await rotate_key(
            db, old_id, key_hash=digest(new), key_prefix=display_prefix(new), grace=timedelta(seconds=1)
        )
        return made.id

    new_id = with_db(stores.database_url, rotate)
    gateway.publish("key", old_id)
    gateway.publish("key", new_id)
    assert chat(gateway, old).id
    assert chat(gateway, new).id
    time.sleep(1.1)
    with pytest.raises(openai.AuthenticationError) as caught:
        chat(gateway, old)
    assert "rotated" in caught.value.message
    assert chat(gateway, new).id


# allow-lists ------------------------------------------------------------------------------------


def test_model_outside_the_allow_list_is_403(gateway: GovernedGateway, stores: Stores) -> None:
    key, key_id = make_key(stores.database_url, models=["metered", "fre*"])
    gateway.publish("key", key_id)
    assert chat(gateway, key, "metered").id
    assert chat(gateway, key, "free").id  # by the wildcard
    with pytest.raises(openai.PermissionDeniedError) as caught:
        chat(gateway, key, "fast")
    assert caught.value.code == "model_not_allowed"
    assert "'fast'" in caught.value.message and "metered, fre*" in caught.value.message


def test_the_model_list_shows_a_key_only_its_allowed_models(gateway: GovernedGateway, stores: Stores) -> None:
    key, key_id = make_key(stores.database_url, models=["metered", "fre*"])
    gateway.publish("key", key_id)
    listed = {m.id for m in client(gateway, key).models.list()}
    assert "metered" in listed and "free" in listed and "fast" not in listed
    assert all(m == "metered" or m.startswith("fre") for m in listed)
    assert client(gateway, key).models.retrieve("metered").id == "metered"
    with pytest.raises(openai.NotFoundError):
        client(gateway, key).models.retrieve("fast")  # as if it did not exist
    everything = {m.id for m in client(gateway, MASTER_KEY).models.list()}
    assert {"metered", "free", "fast"} <= everything  # the master key sees every model


def test_team_allow_list_applies_to_its_keys(gateway: GovernedGateway, stores: Stores) -> None:
    async def team(db: Database) -> str:
        return (await create_team(db, "research", models=["free"])).id

    team_id = with_db(stores.database_url, team)
    key, _key_id = make_key(stores.database_url, team_id=team_id)
    gateway.call(gateway.governance.directory.load())
    assert chat(gateway, key, "free").id
    with pytest.raises(openai.PermissionDeniedError) as caught:
        chat(gateway, key, "metered")
    assert "its team allows only free" in caught.value.message


# budgets ----------------------------------------------------------------------------------------


def test_budget_refuses_once_spent_and_spend_settles_to_actual(
    gateway: GovernedGateway, stores: Stores
) -> None:
    limit = 1_000  # micro-USD: a few 210 micro-USD answers, each reserving its worst case first
    key, key_id = make_key(stores.database_url, Limits(max_budget_microusd=limit, budget_duration="1d"))
    gateway.publish("key", key_id)
    scope = Scope("key", key_id)
    admitted = 0
    with client(gateway, key) as c:
        for _ in range(10):
            try:
                c.chat.completions.create(model="metered", messages=HI, max_tokens=100)
            except openai.RateLimitError as refused:
                error = refused
                break
            admitted += 1
            assert settled(gateway, scope, admitted * ANSWER_MICROUSD) == (admitted * ANSWER_MICROUSD, 0)
        else:
            pytest.fail("the budget never refused")
    assert 1 <= admitted <= limit // ANSWER_MICROUSD
    assert error.status_code == 429
    assert error.code == "budget_exceeded"
    assert error.response.headers["x-should-retry"] == "false"
    assert f"key {key_id}" in error.message and "$0.001" in error.message
    assert error.body["type"] == "insufficient_quota"  # type: ignore[index]
    assert spent(gateway, scope) == (admitted * ANSWER_MICROUSD, 0)


def test_request_whose_worst_case_exceeds_the_budget_is_refused_before_the_upstream(
    gateway: GovernedGateway, stores: Stores
) -> None:
    key, key_id = make_key(stores.database_url, Limits(max_budget_microusd=5_000))
    gateway.publish("key", key_id)
    before = gateway.thread.received
    with pytest.raises(openai.RateLimitError) as caught:
        chat(gateway, key, max_tokens=1_000_000)  # 2 USD of output at worst
    assert "more than the whole budget" in caught.value.message
    assert gateway.thread.received == before + 1
    assert spent(gateway, Scope("key", key_id)) == (0, 0)


def test_failed_request_releases_its_reservation(gateway: GovernedGateway, stores: Stores) -> None:
    key, key_id = make_key(stores.database_url, Limits(max_budget_microusd=10_000_000))
    gateway.publish("key", key_id)
    with pytest.raises(openai.APIStatusError):
        chat(gateway, key, "all-down")
    assert settled(gateway, Scope("key", key_id), 0) == (0, 0)


# rate limits and concurrency --------------------------------------------------------------------


def test_rpm_limit_with_headers_and_retry_after(gateway: GovernedGateway, stores: Stores) -> None:
    key, key_id = make_key(stores.database_url, Limits(rpm_limit=3, tpm_limit=1_000_000))
    gateway.publish("key", key_id)
    with client(gateway, key) as c:
        for remaining in (2, 1, 0):
            raw = c.chat.completions.with_raw_response.create(model="metered", messages=HI)
            assert raw.headers["x-ratelimit-limit-requests"] == "3"
            assert raw.headers["x-ratelimit-remaining-requests"] == str(remaining)
            assert raw.headers["x-ratelimit-reset-requests"].endswith("s")
            assert raw.headers["x-ratelimit-limit-tokens"] == "1000000"
            assert int(raw.headers["x-ratelimit-remaining-tokens"]) < 1_000_000
        with pytest.raises(openai.RateLimitError) as caught:
            c.chat.completions.create(model="metered", messages=HI)
    error = caught.value
    assert error.code == "rate_limit_exceeded"
    assert 1 <= int(error.response.headers["retry-after"]) <= 60
    assert error.response.headers["x-ratelimit-remaining-requests"] == "0"
    assert f"3 requests per minute reached for key {key_id}" in error.message


def test_max_parallel_requests(gateway: GovernedGateway, stores: Stores) -> None:
    key, key_id = make_key(stores.database_url, Limits(max_parallel_requests=2))
    gateway.publish("key", key_id)
    with ThreadPoolExecutor(2) as pool:
        slow = [pool.submit(chat, gateway, key, "metered-slow") for _ in range(2)]
        time.sleep(0.5)  # both admitted, waiting on the upstream
        with pytest.raises(openai.RateLimitError) as caught:
            chat(gateway, key)
        assert all(f.result().id for f in slow)
    assert caught.value.code == "too_many_parallel_requests"
    assert caught.value.response.headers["retry-after"] == "1"
    deadline = time.monotonic() + 3
    while (
        gateway.call(gateway.governance.state.in_flight(_parallel(gateway, key_id)))
        and time.monotonic() < deadline
    ):
        time.sleep(0.02)
    assert chat(gateway, key).id  # the slots came back


def _parallel(gw: GovernedGateway, key_id: str) -> object:
    entry = gw.governance.directory.by_id[key_id]
    return entry.concurrency


# durability ---------------------------------------------------------------------------------------


def test_restart_keeps_the_budget_spent(sim: SimulatorThread, stores: Stores) -> None:
    key, key_id = make_key(
        stores.database_url, Limits(max_budget_microusd=1_000_000, budget_duration="month")
    )
    first = GovernedGateway(sim, stores).start()
    try:
        for _ in range(3):
            chat(first, key)
        assert settled(first, Scope("key", key_id), 3 * ANSWER_MICROUSD) == (3 * ANSWER_MICROUSD, 0)
    finally:
        first.stop()  # the settle hook's last batch is written to the database on close

    async def counter(db: Database) -> int:
        month = Budget(Scope("key", key_id), 1, Period.parse("month"))
        found = await get_counter(db, "key", key_id, stored_period(month, int(time.time())))
        return found.spent_microusd if found is not None else -1

    assert with_db(stores.database_url, counter) == 3 * ANSWER_MICROUSD
    if stores.redis_url:  # a flushed Redis: only the database remembers
        flush_key_counters(stores.redis_url, key_id)
    second = GovernedGateway(sim, stores).start()
    try:
        assert spent(second, Scope("key", key_id)) == (3 * ANSWER_MICROUSD, 0)
        chat(second, key)
        assert settled(second, Scope("key", key_id), 4 * ANSWER_MICROUSD) == (4 * ANSWER_MICROUSD, 0)
    finally:
        second.stop()


def flush_key_counters(redis_url: str, key_id: str) -> None:
    client = Redis.from_url(redis_url)
    try:
        found = list(client.scan_iter(match=f"sg:b:key:{key_id}:*"))
        assert found
        client.delete(*found)
    finally:
        client.close()


def test_a_change_reaches_another_gateway_within_a_second(
    sim: SimulatorThread, stores: Stores, redis_server: RedisServer
) -> None:
    if not stores.redis_url:
        pytest.skip("changes reach other processes through Redis")
    one = GovernedGateway(sim, stores).start()
    two = GovernedGateway(sim, stores).start()
    try:
        key, key_id = make_key(stores.database_url, Limits(rpm_limit=1000))
        one.publish("key", key_id)
        started = time.monotonic()
        while not _works(two, key):
            assert time.monotonic() - started < 1.0, "the new key did not reach the other gateway in 1 s"
            time.sleep(0.02)

        async def lower(db: Database) -> None:
            await update_key(db, key_id, models=["free"])

        with_db(stores.database_url, lower)
        one.publish("key", key_id)
        started = time.monotonic()
        while _works(two, key):
            assert time.monotonic() - started < 1.0, "the change did not reach the other gateway in 1 s"
            time.sleep(0.02)
    finally:
        one.stop()
        two.stop()


def _works(gw: GovernedGateway, key: str) -> bool:
    try:
        chat(gw, key)
    except (openai.AuthenticationError, openai.PermissionDeniedError):
        return False
    return True


def test_end_user_budget_and_blocked_end_user(gateway: GovernedGateway, stores: Stores) -> None:
    alice, mallory = f"alice-{time.monotonic_ns()}", f"mallory-{time.monotonic_ns()}"

    async def end_users(db: Database) -> None:
        await create_end_user(db, alice, limits=Limits(max_budget_microusd=400, budget_duration="1d"))
        await create_end_user(db, mallory, blocked=True)

    with_db(stores.database_url, end_users)
    key, key_id = make_key(stores.database_url)
    gateway.publish("key", key_id)
    gateway.publish("end_user", alice)
    gateway.publish("end_user", mallory)
    assert chat(gateway, key, user="bob", max_tokens=100).id  # no budget of its own
    assert chat(gateway, key, user=alice, max_tokens=100).id
    with pytest.raises(openai.RateLimitError) as caught:
        chat(gateway, key, user=alice, max_tokens=100)
    assert f"end-user {alice!r}" in caught.value.message
    with pytest.raises(openai.PermissionDeniedError) as blocked:
        chat(gateway, key, user=mallory)
    assert blocked.value.code == "end_user_blocked"


def test_the_global_budget_counts_master_key_requests(sim: SimulatorThread, stores: Stores) -> None:
    if stores.redis_url:
        pytest.skip("the global counter of a shared Redis is shared with every other test gateway")
    gw = GovernedGateway(sim, stores, max_budget="0.0004").start()  # 400 micro-USD
    try:
        assert chat(gw, MASTER_KEY, max_tokens=100).id  # worst case ~280, actual 210
        with pytest.raises(openai.RateLimitError) as caught:
            chat(gw, MASTER_KEY, max_tokens=100)
        assert "the gateway's global budget" in caught.value.message
    finally:
        gw.stop()


def test_streams_settle_and_a_client_that_leaves_gives_its_slot_back(
    gateway: GovernedGateway, stores: Stores
) -> None:
    key, key_id = make_key(
        stores.database_url,
        Limits(max_budget_microusd=1_000_000, budget_duration="1d", max_parallel_requests=1),
    )
    gateway.publish("key", key_id)
    scope = Scope("key", key_id)
    with client(gateway, key) as c:
        stream = c.chat.completions.create(model="metered-drip", messages=HI, stream=True)
        chunks = list(stream)
    assert chunks and not any(chunk.usage for chunk in chunks)  # the client did not ask for usage
    assert settled(gateway, scope, ANSWER_MICROUSD) == (ANSWER_MICROUSD, 0)
    with client(gateway, key) as c:
        stream = c.chat.completions.create(model="metered-drip", messages=HI, stream=True)
        next(iter(stream))
        with pytest.raises(openai.RateLimitError):  # its one slot is taken
            c.chat.completions.create(model="metered", messages=HI)
        stream.close()  # the client leaves mid-stream
    deadline = time.monotonic() + 5
    while gateway.call(gateway.governance.state.in_flight(_parallel(gateway, key_id))):
        assert time.monotonic() < deadline, "the slot of a client that left was not returned"
        time.sleep(0.02)
    assert spent(gateway, scope)[1] == 0  # nothing stays reserved
    assert chat(gateway, key).id
